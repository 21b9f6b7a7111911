"""What the public sees of one article file, a function of the file's content alone.

An article's card is its own fields, less the editorial `publish_at` and the body, plus a
summary (the editor's, or one generated from the body), whether it was generated, a word
count and a reading time, already serialized by `PublicCardSchema` (so a field git let in
that the schema does not know never shows). Lists show cards; one article is its card and
its body. Since a card depends on nothing but the file, the index keeps it by blob id.
"""

from __future__ import annotations

from typing import Any

from .schemas import PublicCardSchema
from .summary import derive, reading_time_minutes

CARD = PublicCardSchema()


def card(doc: dict[str, Any]) -> dict[str, Any]:
    """The card of an article file's parsed content."""
    summary, generated, words = derive(doc)
    return CARD.dump({**doc, "summary": summary, "summary_generated": generated,
                      "word_count": words, "reading_time_minutes": reading_time_minutes(words)})
