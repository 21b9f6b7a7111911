"""Generated articles, already in the canonical form the store writes.

`make_article` builds the dict in the schema's field order with values the schema keeps as
they are (lower-case tags, `language` set), so `canonical.dumps(doc)` gives the bytes the store
would write. `check_canonical` proves that on a sample through the real validator, which lets
the bulk builders skip validating every one of 100,000 articles.
"""

from __future__ import annotations

import json
import random
from typing import Any

from cms.content import canonical
from cms.content.document import validate_article

WORDS = (
    "the council said on tuesday that a new plan for the harbour district would be put to "
    "residents next month after two years of talks with local businesses and transport groups "
    "critics argue the proposal does little to address rising rents while supporters point to "
    "cleaner streets more frequent buses and a promised library annex officials expect the "
    "first phase to cost about twelve million and to finish before the winter season although "
    "earlier schemes ran late engineers warned that the old sea wall needs urgent repair and "
    "several shop owners asked whether parking would survive the changes a spokesperson for "
    "the mayor declined to comment on the budget but confirmed that public meetings will be "
    "held in schools community halls and online during the consultation period researchers at "
    "the university found that similar projects elsewhere increased footfall by a modest margin "
    "yet also displaced some long standing tenants the debate is likely to continue well into "
    "the autumn as neighbours weigh convenience against cost and character"
).split()
TITLE_WORDS = (
    "Harbour Council River Transit Library Budget Schools Market Bridge Festival Housing "
    "Rents Parks Museum Station Coast Storm Water Energy Cycling Theatre Clinic Archive"
).split()
TITLE_VERBS = (
    "Weighs",
    "Delays",
    "Backs",
    "Rejects",
    "Reviews",
    "Expands",
    "Funds",
    "Questions",
    "Revives",
    "Trims",
)
TAGS = tuple(
    "politics transport housing culture environment education health business science sport "
    "weather local europe asia africa americas economy climate energy technology media courts "
    "police elections music film books food travel religion history space ocean farming "
    "labour tourism fashion design architecture gaming football tennis cycling rugby "
    "migration diplomacy banking startups aviation wildlife".split()
)
assert len(TAGS) == 50
SECTIONS = ("news", "world", "politics", "opinion", "culture", "business", "science", "sport")
AUTHORS = (
    "Ana Ruiz",
    "Ben Okafor",
    "Chen Wei",
    "Dara Novak",
    "Eli Haddad",
    "Fay Lindqvist",
    "Gus Mendel",
    "Hana Sato",
    "Ivo Petrov",
    "Jin Park",
    "Kemi Adeyemi",
    "Lars Berg",
)


def slug_for(number: int) -> str:
    return f"bench-article-{number:06d}"


def _prose(rng: random.Random, words: int) -> str:
    """About `words` words of filler prose, in sentences of 8 to 20 words."""
    sentences: list[str] = []
    left = words
    while left > 0:
        length = min(left, rng.randint(8, 20))
        start = rng.randrange(len(WORDS) - length)
        sentences.append(" ".join(WORDS[start : start + length]).capitalize() + ".")
        left -= length
    return " ".join(sentences)


def paragraph(rng: random.Random) -> dict[str, Any]:
    return {"type": "paragraph", "text": _prose(rng, rng.randint(52, 68))}


def make_article(rng: random.Random, number: int, slug: str | None = None) -> dict[str, Any]:
    """An article: title, summary, section, 2-3 of 50 tags, 1-2 bylines, 6-10 paragraphs."""
    a, b = rng.sample(TITLE_WORDS, 2)
    return {
        "slug": slug or slug_for(number),
        "title": f"{a} {rng.choice(TITLE_VERBS)} {b} Plan, No. {number}",
        "summary": _prose(rng, 25),
        "section": rng.choice(SECTIONS),
        "tags": rng.sample(TAGS, rng.randint(2, 3)),
        "authors": [{"name": name} for name in rng.sample(AUTHORS, rng.randint(1, 2))],
        "language": "en",
        "body": [paragraph(rng) for _ in range(rng.randint(6, 10))],
    }


def changed(rng: random.Random, fields: dict[str, Any]) -> dict[str, Any]:
    """A copy of an article's fields with one paragraph rewritten and the summary touched."""
    doc = json.loads(json.dumps(fields))
    body = doc["body"]
    body[rng.randrange(len(body))] = paragraph(rng)
    doc["summary"] = _prose(rng, 25)
    return doc


def check_canonical(rng: random.Random, samples: int = 200) -> None:
    """Fail unless generated articles come out of the validator byte-identical."""
    for number in range(samples):
        doc = make_article(rng, number)
        assert canonical.dumps(validate_article(doc)) == canonical.dumps(doc), (
            "bench.articles.make_article no longer emits canonical articles"
        )
