"""Full-text search that finds what people type: words in their other forms, the last word
as a prefix, ranked by BM25, with a highlighted snippet.

SQLite's FTS5 cannot call a Python stemmer, so words are stemmed here, before they reach it:
an article's title, summary and body are stored as the Snowball stems of their words in the
article's language (`bridges` -> `bridg`), and a fourth column keeps the article's words as
they are, for the prefix of the last word typed (`brid` finds `bridge`, and `repairi` finds
`repairing` though its stem is `repair`). A query word matches its stems in each language
the searched articles are written in (or the one asked for), and itself, so one query finds
English, German and Russian articles alike, and words of a language without a stemmer match
exactly. FTS5's own
`unicode61 remove_diacritics 2` folds case and accents on both sides, as before.

Ranking is FTS5's bm25() with the title weighted above the summary, and the summary above the
body; the column of words as written lets a prefix match and adds nothing to the rank.
"""

from __future__ import annotations

import functools
import html
import re
import threading
import unicodedata
from collections.abc import Callable
from typing import Any

import Stemmer

# BCP 47 primary language subtag -> Snowball algorithm (the languages PyStemmer ships)
SNOWBALL = {
    "ar": "arabic",
    "hy": "armenian",
    "eu": "basque",
    "ca": "catalan",
    "cs": "czech",
    "da": "danish",
    "nl": "dutch",
    "en": "english",
    "eo": "esperanto",
    "et": "estonian",
    "fi": "finnish",
    "fr": "french",
    "de": "german",
    "el": "greek",
    "hi": "hindi",
    "hu": "hungarian",
    "id": "indonesian",
    "ga": "irish",
    "it": "italian",
    "lt": "lithuanian",
    "ne": "nepali",
    "no": "norwegian",
    "nb": "norwegian",
    "nn": "norwegian",
    "fa": "persian",
    "pl": "polish",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "st": "sesotho",
    "es": "spanish",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}
# title, summary, body, words as written
WEIGHTS = (10.0, 4.0, 1.0, 0.0)
COLUMNS = ("title", "summary", "body", "words")
FTS_OPTIONS = "tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3 4'"
_WORD = re.compile(r"\w+")  # on text whose underscores became spaces: faster than [^\W_]+
# relevance ranks the matches that went live last, this many at most (older matches follow,
# newest first): FTS5's bm25() costs 2 to 3 microseconds a match on a 2-core machine, so
# ranking a word found in most of 100,000 articles would take a quarter of a second, and
# neither `ORDER BY rank` nor `detail=column` scores faster (measured: the latter 10-35x slower)
RANK_WINDOW = 2_000
SNIPPET_WORDS = 24
LEAD_WORDS = 6  # words shown before the first match
# how far into each of the summary, the title and the body a match is looked for: walking a
# 70 KB body word by word cost 11 ms, so a page of 100 such matches a second of CPU; a match
# further in (the article was found by the index all the same) gets the summary's start
HIGHLIGHT_CHARS = 10_000


_ALGORITHMS = set(Stemmer.algorithms())
_local = threading.local()  # a PyStemmer object must not be used by two threads at once


def _stemmer(language: str | None) -> Any:
    """This thread's PyStemmer object for a BCP 47 tag (its primary subtag), or None when
    Snowball does not cover the language (its words then match exactly)."""
    name = SNOWBALL.get((language or "en").split("-")[0].lower())
    if name is None or name not in _ALGORITHMS:
        return None
    made: dict[str, Any] = _local.__dict__.setdefault("stemmers", {})
    if name not in made:
        made[name] = Stemmer.Stemmer(name, 20000)  # keeps 20,000 words' stems
    return made[name]


def stemmer(language: str | None) -> Callable[[str], str] | None:
    """This thread's function stemming one word in `language` (None: not covered)."""
    found = _stemmer(language)
    return None if found is None else found.stemWord


def words(text: str) -> list[str]:
    """The words of `text`, lower-cased, as FTS5's unicode61 tokenizer sees them."""
    return _WORD.findall(text.lower().replace("_", " "))


def document(title: str, summary: str, body: str, language: str | None) -> tuple[str, ...]:
    """The four column values stored for one article (see the module docstring)."""
    stem = _stemmer(language)
    parts = [words(text) for text in (title, summary, body)]
    as_written = " ".join(dict.fromkeys(w for part in parts for w in part))
    return (
        *(" ".join(part if stem is None else stem.stemWords(part)) for part in parts),
        as_written,
    )


def fold(word: str) -> str:
    """Lower case without accents, as FTS5 compares tokens."""
    return "".join(
        c for c in unicodedata.normalize("NFKD", word.lower()) if not unicodedata.combining(c)
    )


@functools.lru_cache(maxsize=4096)
def variants(word: str, languages: tuple[str, ...]) -> tuple[str, ...]:
    """The terms one query word matches: its stems in each of `languages` (BCP 47 tags) and
    the word itself, accents folded."""
    found = {fold(word)}
    for tag in languages:
        stem = stemmer(tag)
        if stem is not None:
            found.add(fold(stem(word)))
            found.add(fold(stem(fold(word))))
    return tuple(sorted(found))


def match(q: str, languages: tuple[str, ...]) -> str | None:
    """An FTS5 query for free text: every word must match, in any of its forms in the
    `languages` searched (those of the articles, or the one asked for); the last word also
    as a prefix. None when `q` has no words.

    No column filter: a stem matches the stemmed columns, a word as written or a prefix also
    the column of words as written (weight 0), and each term is read from the index once (a
    form the prefix covers is left out), which halves the time of two common words.
    """
    found = words(q)
    if not found:
        return None
    parts = []
    for i, word in enumerate(found):
        terms = [f'"{t}"' for t in variants(word, languages)]
        if i == len(found) - 1:
            start = fold(word)
            terms = [f'"{t}"' for t in variants(word, languages) if not t.startswith(start)]
            terms.append(f'"{start}"*')
        parts.append(f"({' OR '.join(terms)})")
    return " AND ".join(parts)


def rank(table: str) -> str:
    """The SQL expression that ranks a match in `table` (lower is better)."""
    return f"bm25({table}, {', '.join(str(w) for w in WEIGHTS)})"


@functools.lru_cache(maxsize=65536)
def _forms(word: str, language: str | None) -> tuple[str, str]:
    """A word as the index compares it: its stem in `language` and itself, accents folded."""
    lower = word.lower()
    stem = stemmer(language)
    return fold(stem(lower) if stem else lower), fold(lower)


def highlight(
    q: str, title: str, summary: str, body: Callable[[], str], language: str | None
) -> str:
    """A snippet from a few words before the first word that matches `q` in the first
    HIGHLIGHT_CHARS characters of the summary, else the title, else the body (read only then);
    HTML-escaped, each match in `<mark>`, `…` where it was cut. Without such a match: the start
    of the summary."""
    found = words(q)
    if not found:
        return ""
    wanted = {_forms(w, language)[0] for w in found}
    prefix = fold(found[-1])

    def matches(word: str) -> bool:
        stem, folded = _forms(word, language)
        return stem in wanted or folded.startswith(prefix)

    for source in (lambda: summary, lambda: title, body):
        snippet = _snippet(source(), matches)
        if snippet is not None:
            return snippet
    return html.escape(" ".join(summary.split()[:SNIPPET_WORDS]), quote=False)


def _snippet(source: str, matches: Callable[[str], bool]) -> str | None:
    """SNIPPET_WORDS words of `source` from LEAD_WORDS before its first match, marked up;
    None when nothing in its first HIGHLIGHT_CHARS characters matches."""
    plain = source.replace("_", " ")
    end = min(len(plain), HIGHLIGHT_CHARS)
    last = _WORD.match(plain, end - 1) if end else None
    end = last.end() if last else end  # the last word looked at, whole
    # each distinct word is checked once, and only a text with a match is walked word by
    # word, up to the last word shown
    hits = {w for w in set(_WORD.findall(plain, 0, end)) if matches(w)}
    if not hits:
        return None
    spans: list[tuple[int, int]] = []
    first = None
    for m in _WORD.finditer(plain):
        spans.append(m.span())
        if first is None and m.group() in hits:
            first = len(spans) - 1
        if first is not None and len(spans) >= max(first - LEAD_WORDS, 0) + SNIPPET_WORDS:
            break
    if first is None:
        return None
    start = max(first - LEAD_WORDS, 0)
    out = ["…" if start > 0 else ""]
    at = spans[start][0]
    for a, b in spans[start:]:
        word = source[a:b]
        out.append(html.escape(source[at:a], quote=False))
        out.append(
            f"<mark>{html.escape(word, quote=False)}</mark>"
            if matches(word)
            else html.escape(word, quote=False)
        )
        at = b
    if _WORD.search(plain, at):
        out.append("…")
    else:
        out.append(html.escape(source[at:], quote=False))
    return " ".join("".join(out).split())


def _field(doc: dict[str, Any], key: str) -> str:
    value = doc.get(key)
    return value if isinstance(value, str) else ""


def row(doc: dict[str, Any], text: str) -> tuple[str, ...]:
    """The column values for an article file's parsed content and its body's plain text."""
    return document(
        _field(doc, "title"), _field(doc, "summary"), text, _field(doc, "language") or None
    )


def highlight_doc(q: str, doc: dict[str, Any], body: str) -> str:
    """`highlight` for an article file's parsed content and the plain text of its body."""
    return highlight(
        q,
        _field(doc, "title"),
        _field(doc, "summary"),
        lambda: body,
        _field(doc, "language") or None,
    )
