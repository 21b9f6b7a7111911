"""The index's cache of public cards, kept by blob id (a card is a function of the file)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from cms.index.tables import Tables


class CardCache:
    """Cards worked out at publication or on first read."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables

    def card(self, blob: str) -> dict[str, Any] | None:
        """The public card kept for a file (see `public`), if any."""
        row = self.tables.db.execute("SELECT card FROM cards WHERE blob = ?", (blob,)).fetchone()
        return json.loads(row[0]) if row else None

    def keep_cards(self, cards: dict[str, dict[str, Any]]) -> None:
        """Keep cards worked out on reading, in one transaction; a cache, so a busy, full or
        read-only disk only means working them out again next time."""
        try:
            with self.tables.writing() as db:
                db.executemany(
                    "INSERT OR IGNORE INTO cards VALUES (?, ?)",
                    [(blob, json.dumps(card, ensure_ascii=False)) for blob, card in cards.items()],
                )
        except sqlite3.OperationalError:
            pass
