"""Catching up with a large push in short transactions, so nobody waits for all of it.

`CatchUp.catch_up` applies every new commit in one transaction: right for the few commits a
save or a small push brings, but a push of 10,000 commits would hold the index's write lock
(and any reader that called it) for tens of seconds. Here the commits are applied a batch at a
time, each batch its own transaction that moves the line's tip in the index to the batch's
last commit: every state readers see in between is a real state of the line, a little older
than its ref.
"""

from __future__ import annotations

from ..layout import LINES
from .catch_up import CatchUp

BATCH = 250


class Batches(CatchUp):
    """Measuring how far the index is behind, and catching up a batch at a time."""

    def lag(self) -> int:
        """How many first-parent commits the two lines hold beyond those the index reflects
        (a line that is new to the index, or was rewritten, counts its whole history)."""
        known = self._tips(self.db)
        total = 0
        for line in LINES:
            tip = self.repo.ref(line)
            if tip is None or tip == known[line]:
                continue
            span = f"{known[line]}..{tip}" if known[line] else tip
            total += int(self.repo.git.git.rev_list("--count", "--first-parent", span))
        return total

    def catch_up_in_batches(self, batch: int = BATCH) -> None:
        """Bring the index up to both lines, `batch` commits per transaction. A line that
        was rewritten (its indexed tip is no ancestor of its ref) is rebuilt in one."""
        for line in LINES:
            while True:
                tip = self.repo.ref(line)
                current = self._tip(self.db, line)
                if current == tip:
                    break
                if tip is None or current is None or not self.repo.is_ancestor(current, tip):
                    with self._writing() as db:
                        self._catch_up_line(db, line)
                    break
                records = list(self.repo.log(current, tip))
                for start in range(0, len(records), batch):
                    chunk = records[start:start + batch]
                    with self._writing() as db:
                        if self._tip(db, line) != current:
                            break  # another process moved it: read the line again
                        for record in chunk:
                            # cards are left to delivery's background work: one with
                            # a generated summary costs tens of milliseconds
                            self._apply(db, line, record, {}, cards=False)
                        current = chunk[-1].sha
                        db.execute("INSERT OR REPLACE INTO tips VALUES (?, ?)", (line, current))
