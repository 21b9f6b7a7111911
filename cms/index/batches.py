"""Catching up with a large push in short transactions, so nobody waits for all of it.

`CatchUp.catch_up` applies every new commit in one transaction: right for the few commits a
save or a small push brings, but a push of 10,000 commits would hold the index's write lock
(and any reader that called it) for tens of seconds. Here the commits are applied a batch at a
time, each batch its own transaction that moves the line's tip in the index to the batch's
last commit: every state readers see in between is a real state of the line, a little older
than its ref.
"""

from __future__ import annotations

from cms.content.layout import LINES, MAIN, PUBLISHED
from cms.git.repository import CommitRecord, Repository
from cms.index.catch_up import CatchUp
from cms.index.tables import Tables

BATCH = 250


class Batches:
    """Measuring how far the index is behind, and catching up a batch at a time."""

    def __init__(self, tables: Tables, repo: Repository, writer: CatchUp) -> None:
        """`writer` applies the commits (and reads both lines again when one was rewritten)."""
        self.tables = tables
        self.repo = repo
        self.writer = writer

    def lag(self) -> int:
        """How many first-parent commits the two lines hold beyond those the index reflects
        (a line that is new to the index, or was rewritten, counts its whole history)."""
        known = self.tables.tips()
        tips = self.repo.tips()
        total = 0
        for line in LINES:
            tip = tips[line]
            if tip is None or tip == known[line]:
                continue
            span = f"{known[line]}..{tip}" if known[line] else tip
            total += int(self.repo.git.git.rev_list("--count", "--first-parent", span))
        return total

    def catch_up_in_batches(self, batch: int = BATCH) -> None:
        """Bring the index up to both lines, `batch` commits per transaction, in the one
        order both lines' commits share (see `CatchUp.interleave`). When a line is new to
        the index, gone, or was rewritten (its indexed tip is no ancestor of its ref), both
        are read again in one transaction (`CatchUp.catch_up`)."""
        while True:
            tips = self.repo.tips()
            current = dict(self.tables.tips())
            if current == tips:
                return
            new: dict[str, list[CommitRecord]] = {MAIN: [], PUBLISHED: []}
            for line in LINES:
                tip, old = tips[line], current[line]
                if tip == old:
                    continue
                if tip is None or old is None or not self.repo.is_ancestor(old, tip):
                    self.writer.catch_up()
                    return
                new[line] = list(self.repo.log(old, tip))
            order = list(self.writer.interleave(new[MAIN], new[PUBLISHED]))
            for start in range(0, len(order), batch):
                with self.tables.writing() as db:
                    if self.tables.tips(db) != current:
                        break  # another process moved it: read the lines again
                    for line, record in order[start : start + batch]:
                        # cards are left to delivery's background work: one with
                        # a generated summary costs tens of milliseconds
                        self.writer.apply(db, line, record, {}, cards=False)
                        current[line] = record.sha
                    for line in LINES:
                        if current[line] is not None:
                            db.execute(
                                "INSERT OR REPLACE INTO tips VALUES (?, ?)", (line, current[line])
                            )
