"""The ranking behind generated summaries (`cms.delivery.summary`): sumy's TextRank adjusted
for news (`_TextRank`), sentences split by pysbd, words stemmed by NLTK's Snowball.

It is the one module that loads sumy, NLTK and numpy, and `summary` imports it when the first
summary is made, so that importing delivery (and `cms.web`) does not pay for them.
"""

from __future__ import annotations

import math
import re
import warnings
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy
from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
from sumy.nlp.stemmers import Stemmer
from sumy.summarizers.text_rank import TextRankSummarizer
from sumy.utils import get_stop_words

with warnings.catch_warnings():
    # pysbd's sources hold regex strings with invalid escapes; compiling them without a cached
    # bytecode file warns (DeprecationWarning on 3.11, SyntaxWarning later) — harmless.
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", SyntaxWarning)
    import pysbd

__all__ = ["best"]

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


class _Tokenizer:
    """The tokenizer sumy's document model asks for words; sentences are split by pysbd."""

    def __init__(self, name: str, segmenter: str) -> None:
        self.language = name
        self._segmenter_language = segmenter

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


@lru_cache(maxsize=16)
def _tools(name: str, segmenter: str) -> tuple[_Tokenizer, TextRankSummarizer]:
    """The tokenizer and the summarizer (with stemmer and stop words) for a language: sumy's
    and Snowball's name for it, and pysbd's code."""
    stem: Callable[[str], str] = lru_cache(maxsize=50_000)(Stemmer(name))
    summarizer = _TextRank(stem)
    try:
        summarizer.stop_words = get_stop_words(name)
    except LookupError:
        summarizer.stop_words = DUTCH_STOP_WORDS if name == "dutch" else frozenset()
    return _Tokenizer(name, segmenter), summarizer


def best(
    title: str,
    paragraphs: tuple[str, ...],
    name: str,
    segmenter: str,
    count: int,
    max_sentences: int,
    max_words: int,
) -> list[str]:
    """The `count` best sentences of `paragraphs` in their order (all of them when there are
    no more than `count`; the first ones when nothing but stop words is there to rank), read
    from the paragraphs within the first `max_sentences` sentences or `max_words` words."""
    tokenizer, summarizer = _tools(name, segmenter)
    seen: set[str] = set()
    words = 0
    document_paragraphs = [Paragraph([Sentence(title, tokenizer, is_heading=True)])]
    for paragraph in paragraphs:
        if len(seen) >= max_sentences or words >= max_words:
            break
        sentences = []
        for text in tokenizer.to_sentences(paragraph):
            if len(seen) >= max_sentences:
                break
            if text not in seen:  # a repeated sentence would count twice in the ranking
                seen.add(text)
                sentences.append(Sentence(text, tokenizer))
                words += len(sentences[-1].words)
        document_paragraphs.append(Paragraph(sentences))
    document = ObjectDocumentModel(document_paragraphs)
    every = [str(s) for s in document.sentences]
    if len(every) <= count:
        return every
    stop_words = summarizer.stop_words
    if all(w.lower() in stop_words for s in document.sentences for w in s.words):
        return every[:count]  # nothing but stop words: no graph to rank
    with numpy.errstate(all="ignore"):  # a degenerate graph must not warn on every request
        ranked = summarizer(document, count)
    return [str(s) for s in ranked]
