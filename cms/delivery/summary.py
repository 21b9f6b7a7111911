"""Summaries and reading figures for articles, as the public delivery API shows them.

Every delivered article carries a "No time to read?" summary: the editor's own `summary` when
there is one, otherwise an extractive summary generated from the body — the body's most
representative sentences, kept in the order the article has them. They are picked by sumy's
TextRank (sentences are the nodes of a graph whose edges weigh the stemmed content words two
sentences share; PageRank finds the most central ones), adjusted for news: no self-links, the
random jump leaning towards sentences that share words with the title, and no sentence that
repeats one already picked (see `_TextRank`).

Everything here works offline, with no NLTK data installed: sentences are split by pysbd's
rule-based segmenter, words by a Unicode-aware regex, stop words come from the lists bundled
with sumy (Dutch, which sumy lacks, is inlined below) and stemming is NLTK's Snowball, which is
pure code. sumy's default `Tokenizer`, which needs NLTK's punkt data, is never used.

A summary is a pure function of the article's title, text, language and the limits asked for,
and is memoised: a 1,500-word article takes about 30 ms the first time and well under a
millisecond after that, so it can be called per request.
"""

from __future__ import annotations

import math
import re
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy
from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
from sumy.nlp.stemmers import Stemmer
from sumy.summarizers.text_rank import TextRankSummarizer
from sumy.utils import get_stop_words

from cms.content.text import clean, has_own_summary, prose, word_count

with warnings.catch_warnings():
    # pysbd's sources hold regex strings with invalid escapes; compiling them without a cached
    # bytecode file warns (DeprecationWarning on 3.11, SyntaxWarning later) — harmless.
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", SyntaxWarning)
    import pysbd

__all__ = ["prose", "public_summary", "reading_time_minutes", "summarize", "word_count"]

WORDS_PER_MINUTE = 230
ELLIPSIS = "…"
# Ranking compares every pair of sentences, so only this much of the body's start is ranked:
# several times a long news article, and it keeps the time for any body under about 2 s.
MAX_SENTENCES = 250
MAX_WORDS = 6000
# A sentence sharing this much (Jaccard) of its content words with a better one is a repetition.
REPETITION = 0.5

# The terms a summary is computed from: apostrophes and hyphens split them, so that "l'accord"
# meets "accord" and "flood-protection" meets "flood".
TERM_RE = re.compile(r"[^\W_]+")
# Titles that pysbd sometimes mistakes for the end of a sentence ("el Sr. | Pérez dijo").
HONORIFICS = frozenset(
    "Mr Mrs Ms Dr Prof St Gen Sen Rep Gov Lt Col Capt Sgt Rev Hon Sr Sra Srta Dra Profa Lic Ing "
    "Dña Mme Mlle Me Pr Sig Dott Avv Hr Fr Dhr Mw".split()
)
_HONORIFIC_END_RE = re.compile(r"(?:^|\s)([^\W\d_]+)\.$")

# Dutch stop words (the Snowball project's list); sumy bundles none for Dutch.
DUTCH_STOP_WORDS = frozenset(
    "aan al alles als altijd andere ben bij daar dan dat de der deze die dit doch doen door dus "
    "een eens en er ge geen geweest haar had heb hebben heeft hem het hier hij hoe hun iemand "
    "iets ik in is ja je kan kon kunnen maar me meer men met mij mijn moet na naar niet niets "
    "nog nu of om omdat onder ons ook op over reeds te tegen toch toen tot u uit uw van veel "
    "voor want waren was wat werd wezen wie wil worden wordt zal ze zelf zich zij zijn zo zonder "
    "zou".split()
)


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


class _Tokenizer:
    """The tokenizer sumy's document model asks for words; sentences are split by pysbd."""

    def __init__(self, language: _Language) -> None:
        self.language = language.name
        self._segmenter_language = language.segmenter

    def to_sentences(self, paragraph: str) -> tuple[str, ...]:
        # A Segmenter keeps the text it works on as state, so each call gets its own.
        segmenter = pysbd.Segmenter(language=self._segmenter_language, clean=False)
        pieces = [p.strip() for p in segmenter.segment(paragraph)]
        sentences: list[str] = []
        for piece in filter(None, pieces):
            end = _HONORIFIC_END_RE.search(sentences[-1]) if sentences else None
            if end and end.group(1) in HONORIFICS:
                sentences[-1] = f"{sentences[-1]} {piece}"
            else:
                sentences.append(piece)
        return tuple(sentences)

    @staticmethod
    def to_words(sentence: str) -> tuple[str, ...]:
        return tuple(TERM_RE.findall(sentence))


def _similarity(one: frozenset[str], other: frozenset[str]) -> float:
    """The Jaccard similarity of two sets of terms (0 when either is empty)."""
    union = len(one | other)
    return len(one & other) / union if union else 0.0


class _TextRank(TextRankSummarizer):
    """sumy's TextRank with three changes that matter for news.

    The sentence graph's edge weights (shared content words over the sum of the logs of the two
    lengths), the damping and the power method are sumy's. What differs:

    - No self-links, as in Mihalcea & Tarau's graph. sumy also weighs each sentence's overlap
      with itself, which keeps a sentence sharing no word with the rest (an aside about the
      weather) at the average rank, ahead of on-topic sentences that are merely less central.
      Without it such a sentence ranks last.
    - PageRank's random jump lands on every sentence alike, so a small clique of filler
      sentences about something else holds as much rank as the article's real topic. Here half
      of the jump lands on sentences sharing words with the headings of the document (the
      article's title), as in topic-sensitive PageRank. Without a title the jump is uniform.
    - The best-rated sentences are taken only while they do not repeat one already taken.
    """

    title_bias = 0.5

    def __call__(self, document: ObjectDocumentModel, sentences_count: int) -> tuple[Any, ...]:
        """The best-rated sentences in document order, skipping any that mostly repeat the
        content words of a better one (news often restates its key sentence)."""
        sentences = document.sentences
        if not sentences:
            return ()
        ratings = self.rate_sentences(document)
        terms = [frozenset(self._to_words_set(s)) for s in sentences]
        best = sorted(range(len(sentences)), key=lambda i: -ratings[sentences[i]])
        chosen: list[int] = []
        for i in best:
            if len(chosen) == sentences_count:
                break
            if all(_similarity(terms[i], terms[j]) < REPETITION for j in chosen):
                chosen.append(i)
        return tuple(sentences[i] for i in sorted(chosen))

    def _create_matrix(self, document: ObjectDocumentModel) -> Any:
        counts = [Counter(self._to_words_set(s)) for s in document.sentences]
        logs = [math.log(max(1, c.total())) for c in counts]
        size = len(counts)
        weights = numpy.zeros((size, size))
        for i, mine in enumerate(counts):
            for j in range(i + 1, size):
                theirs = counts[j]
                shared = sum(n * theirs[w] for w, n in mine.items() if w in theirs)
                if shared:
                    norm = logs[i] + logs[j]
                    weights[i, j] = weights[j, i] = shared / norm if norm > 1e-8 else shared
        weights /= weights.sum(axis=1)[:, numpy.newaxis] + self._ZERO_DIVISION_PREVENTION

        topic = {w for heading in document.headings for w in self._to_words_set(heading)}
        relevance = numpy.array([len(c.keys() & topic) for c in counts], dtype=float)
        jump = numpy.full(size, 1.0 / size)
        if relevance.any():
            jump = (1 - self.title_bias) * jump + self.title_bias * relevance / relevance.sum()
        return (1.0 - self.damping) * numpy.tile(jump, (size, 1)) + self.damping * weights


@lru_cache(maxsize=len(LANGUAGES))
def _tools(code: str) -> tuple[_Tokenizer, TextRankSummarizer]:
    """The tokenizer and the summarizer (with stemmer and stop words) for a language code."""
    language = LANGUAGES[code]
    stem: Callable[[str], str] = lru_cache(maxsize=50_000)(Stemmer(language.name))
    summarizer = _TextRank(stem)
    try:
        summarizer.stop_words = get_stop_words(language.name)
    except LookupError:
        summarizer.stop_words = DUTCH_STOP_WORDS if code == "nl" else frozenset()
    return _Tokenizer(language), summarizer


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
    tokenizer, summarizer = _tools(code)
    seen: set[str] = set()
    words = 0
    document_paragraphs = [Paragraph([Sentence(title, tokenizer, is_heading=True)])]
    for paragraph in paragraphs:
        if len(seen) >= MAX_SENTENCES or words >= MAX_WORDS:
            break
        sentences = []
        for text in tokenizer.to_sentences(paragraph):
            if len(seen) >= MAX_SENTENCES:
                break
            if text not in seen:  # a repeated sentence would count twice in the ranking
                seen.add(text)
                sentences.append(Sentence(text, tokenizer))
                words += len(sentences[-1].words)
        document_paragraphs.append(Paragraph(sentences))
    document = ObjectDocumentModel(document_paragraphs)
    every = [str(s) for s in document.sentences]
    if len(every) <= count:
        return _fit(every, max_chars)
    stop_words = summarizer.stop_words
    if all(w.lower() in stop_words for s in document.sentences for w in s.words):
        return _fit(every[:count], max_chars)  # nothing but stop words: no graph to rank
    with numpy.errstate(all="ignore"):  # a degenerate graph must not warn on every request
        best = summarizer(document, count)
    return _fit([str(s) for s in best], max_chars)


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
