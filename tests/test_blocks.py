"""One table of block types (`cms.content.blocks.BLOCKS`): validation, search, summaries,
word counts and feeds all read it, and a renderer that misses a type is refused at import."""

from __future__ import annotations

import pytest

from cms.content.blocks import BLOCKS, renderers
from cms.content.document import article_errors
from cms.content.text import prose, search_text, word_count
from cms.delivery.bodies import body_html, body_text

SAMPLES = {
    "paragraph": {"type": "paragraph", "text": "Paragraph words"},
    "heading": {"type": "heading", "text": "Heading words", "level": 2},
    "quote": {"type": "quote", "text": "Quoted words", "cite": "Cited person"},
    "list": {"type": "list", "items": ["First item", "Second item"], "ordered": True},
    "image": {
        "type": "image",
        "src": "https://example.org/a.jpg",
        "alt": "Alt words",
        "caption": "Caption words",
    },
    "embed": {"type": "embed", "url": "https://example.org/video"},
}


def test_every_block_type_has_a_sample_that_validates():
    assert set(SAMPLES) == set(BLOCKS)
    doc = {"title": "T", "body": list(SAMPLES.values())}
    assert article_errors(doc) == {}


@pytest.mark.parametrize("kind", sorted(BLOCKS))
def test_feeds_render_every_block_type(kind):
    assert body_html([SAMPLES[kind]]).strip()
    assert body_text([SAMPLES[kind]]).strip()


def test_search_summaries_and_word_counts_read_the_fields_the_table_names():
    doc = {"title": "Title", "body": list(SAMPLES.values())}
    assert search_text(doc).split("\n") == [
        "Paragraph words",
        "Heading words",
        "Quoted words",
        "Cited person",
        "First item",
        "Second item",
        "Caption words",
        "Alt words",
    ]
    assert prose(doc["body"]) == ["Paragraph words", "Quoted words", "First item", "Second item"]
    # title 1 + paragraph 2 + heading 2 + quote 2 + list 4 + caption 2
    assert word_count(doc) == 13


def test_a_renderer_table_missing_a_block_type_is_refused():
    with pytest.raises(TypeError, match="embed"):
        renderers("a renderer", {k: str for k in BLOCKS if k != "embed"})
