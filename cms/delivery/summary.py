"""Summaries and reading figures for articles, as the public delivery API shows them.

Every delivered article carries a "No time to read?" summary: the editor's own `summary` when
there is one, otherwise an extractive summary generated from the body — the body's most
representative sentences, kept in the order the article has them. They are picked by sumy's
TextRank (sentences are the nodes of a graph whose edges weigh the stemmed content words two
sentences share; PageRank finds the most central ones), adjusted for news: no self-links, the
random jump leaning towards sentences that share words with the title, and no sentence that
repeats one already picked (see `cms.delivery.textrank`, which this module imports when the
first summary is made: sumy, NLTK and numpy were most of what `import cms.web` cost).

Everything here works offline, with no NLTK data installed: sentences are split by pysbd's
rule-based segmenter, words by a Unicode-aware regex, stop words come from the lists bundled
with sumy (Dutch, which sumy lacks, is inlined in `textrank`) and stemming is NLTK's Snowball,
which is pure code. sumy's default `Tokenizer`, which needs NLTK's punkt data, is never used.

A summary is a pure function of the article's title, text, language and the limits asked for,
and is memoised: a 1,500-word article takes about 30 ms the first time and well under a
millisecond after that, so it can be called per request.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cms.content.text import clean, has_own_summary, prose, word_count

__all__ = ["prose", "public_summary", "reading_time_minutes", "summarize", "word_count"]

WORDS_PER_MINUTE = 230
ELLIPSIS = "…"
# Ranking compares every pair of sentences, so only this much of the body's start is ranked:
# several times a long news article, and it keeps the time for any body under about 2 s.
MAX_SENTENCES = 250
MAX_WORDS = 6000


@dataclass(frozen=True)
class _Language:
    name: str  # sumy's and Snowball's name, for the stemmer and stop words
    segmenter: str  # pysbd's ISO 639-1 code for sentence rules


# BCP 47 primary subtag → language resources. Portuguese has no pysbd rules of its own; the
# Spanish ones (same abbreviations, same punctuation) are the closest.
LANGUAGES: dict[str, _Language] = {
    "en": _Language("english", "en"),
    "de": _Language("german", "de"),
    "fr": _Language("french", "fr"),
    "es": _Language("spanish", "es"),
    "it": _Language("italian", "it"),
    "nl": _Language("dutch", "nl"),
    "pt": _Language("portuguese", "es"),
}
DEFAULT_LANGUAGE = "en"


def _language_code(article: dict[str, Any]) -> str:
    """The supported language code (a key of LANGUAGES) for an article; English if unknown."""
    tag = article.get("language", DEFAULT_LANGUAGE)
    if not isinstance(tag, str):
        return DEFAULT_LANGUAGE
    primary = re.split(r"[-_]", tag.strip(), maxsplit=1)[0].lower()
    return primary if primary in LANGUAGES else DEFAULT_LANGUAGE


def reading_time_minutes(words: int) -> int:
    """Minutes to read `words` words at 230 words a minute, rounded up; at least 1."""
    return max(1, math.ceil(words / WORDS_PER_MINUTE))


def _truncate(text: str, max_chars: int) -> str:
    """`text` cut at a word boundary to fit `max_chars` characters, ending with "…"."""
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - len(ELLIPSIS) + 1]
    head, space, _ = cut.rpartition(" ")
    kept = head if space and head.strip() else cut[:-1]
    return kept.rstrip(" ,;:–—-") + ELLIPSIS


def _fit(sentences: list[str], max_chars: int) -> str:
    """The leading sentences that fit in `max_chars`, or the first one cut to fit."""
    kept: list[str] = []
    length = -1
    for sentence in sentences:
        length += 1 + len(sentence)
        if length > max_chars:
            break
        kept.append(sentence)
    if kept:
        return " ".join(kept)
    return _truncate(sentences[0], max_chars) if sentences else ""


@lru_cache(maxsize=1024)
def _summary(title: str, paragraphs: tuple[str, ...], code: str, count: int, max_chars: int) -> str:
    # sumy, NLTK's stemmers and numpy load when the first summary is made, not with delivery
    # (they were most of the time `import cms.web` took)
    from cms.delivery import textrank

    language = LANGUAGES[code]
    sentences = textrank.best(
        title, paragraphs, language.name, language.segmenter, count, MAX_SENTENCES, MAX_WORDS
    )
    return _fit(sentences, max_chars)


def summarize(article: dict[str, Any], sentences: int = 2, max_chars: int = 600) -> str:
    """An extractive summary of the article's body, in the article's language.

    The `sentences` most representative sentences of the body's paragraphs, quotes and list
    items (TextRank), in their original order, joined with a space. Trailing ones are dropped to
    keep within `max_chars`; a first sentence longer than that is cut at a word boundary and
    ends with "…". A body of at most `sentences` sentences is returned whole (within
    `max_chars`); a body without text gives "". The same input always gives the same summary.
    Only the paragraphs within the first MAX_SENTENCES sentences or MAX_WORDS words are read.
    """
    if sentences < 1 or max_chars < 1:
        raise ValueError("sentences and max_chars must be at least 1")
    paragraphs = tuple(prose(article.get("body") or []))
    if not paragraphs:
        return ""
    title = clean(article.get("title"))
    return _summary(title, paragraphs, _language_code(article), sentences, max_chars)


def public_summary(article: dict[str, Any]) -> tuple[str, bool]:
    """The summary the public sees and whether it was generated: the editor's own when it is
    not blank, else one made by `summarize`."""
    if has_own_summary(article):
        return article["summary"], False
    return summarize(article), True


def derive(article: dict[str, Any]) -> tuple[str, bool, int]:
    """What delivery shows beside an article's own fields: (summary, generated?, word count)."""
    text, generated = public_summary(article)
    return text, generated, word_count(article)
