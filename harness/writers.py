"""The crash harness's write load: client threads that each own their articles, and the
ledger of every write the server acknowledged."""

from __future__ import annotations

import random
import threading
import traceback
from dataclasses import dataclass
from typing import Any, Protocol

import requests

from harness import article
from harness.inspect import TIMEOUT, URL

ABSENT = "<absent>"  # the outcome "no file": never created, deleted, or not live

# -- the ledger -----------------------------------------------------------------------------


@dataclass
class Ack:
    """One acknowledged write. `revision` is on `line`, and the article's file there has
    `summary == marker`; a delete (line None) must have left the article on neither line."""

    kind: str
    slug: str
    line: str | None
    revision: str | None
    marker: str | None


@dataclass
class Tracked:
    """An article one client owns. `draft` and `live` hold the summaries its file may have on
    `main` and `published` (ABSENT: no file); more than one only while a write is in doubt."""

    slug: str
    draft: set[str]
    live: set[str]
    etag: str | None = None
    doubt: str | None = None  # the operation cut off by a kill, until read back
    retired: bool = False

    def current(self) -> str:
        assert len(self.draft) == 1
        return next(iter(self.draft))


class Gate:
    """Lets client threads run while the server is up; `drain` waits until none is inside."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._open = False
        self._busy = 0
        self._base = ""
        self.stopping = False

    def enter(self, timeout: float) -> str | None:
        with self._cond:
            if not self._cond.wait_for(lambda: self._open or self.stopping, timeout):
                return None
            if self.stopping:
                return None
            self._busy += 1
            return self._base

    def leave(self) -> None:
        with self._cond:
            self._busy -= 1
            self._cond.notify_all()

    def open(self, base: str) -> None:
        with self._cond:
            self._open, self._base = True, base
            self._cond.notify_all()

    def close(self, timeout: float = 60.0) -> bool:
        """Stop letting clients in and wait until those inside are out."""
        with self._cond:
            self._open = False
            return self._cond.wait_for(lambda: self._busy == 0, timeout)

    def stop(self) -> None:
        with self._cond:
            self.stopping, self._open = True, False
            self._cond.notify_all()


class Run(Protocol):
    """What a client needs of the run it writes for (`harness.crash.CrashRun`): the gate it
    waits at while the server restarts, the token, the generation and seed, and the ledger."""

    gate: Gate
    headers: dict[str, str]
    generation: int
    seed: int

    def problem(self, text: str) -> None: ...

    def count(self, what: str) -> None: ...

    def ack(self, entry: Ack) -> None: ...


class Client(threading.Thread):
    """Creates, edits (If-Match), publishes, unpublishes and deletes its own articles."""

    MAX_STEPS = 1_000_000

    def __init__(self, run: Run, number: int) -> None:
        super().__init__(name=f"writer-{number}", daemon=True)
        self.crash_run = run
        self.number = number
        self.rng = random.Random(run.seed * 1000 + number)
        self.articles: list[Tracked] = []
        self.made = 0
        self.session: requests.Session | None = None

    def run(self) -> None:
        try:
            self.work_loop()
        except Exception:
            self.crash_run.problem(f"{self.name} stopped: {traceback.format_exc()}")
        finally:
            if self.session is not None:
                self.session.close()

    def work_loop(self) -> None:
        gate, base_seen = self.crash_run.gate, ""
        for _ in range(self.MAX_STEPS):
            base = gate.enter(timeout=0.5)
            if base is None:
                if gate.stopping:
                    return
                continue
            try:
                if base != base_seen or self.session is None:
                    if self.session is not None:
                        self.session.close()
                    self.session = requests.Session()
                    self.session.headers.update(self.crash_run.headers)
                    base_seen = base
                self.step(self.session, base)
            finally:
                gate.leave()

    # one step: read back a write in doubt, or make one write

    def step(self, s: requests.Session, base: str) -> None:
        doubtful = [a for a in self.articles if a.doubt]
        if doubtful:
            self.read_back(s, base, doubtful[0])
            return
        mine = [a for a in self.articles if not a.retired]
        if len(mine) < 3 or self.rng.random() < 0.15:
            self.op_create(s, base)
            return
        a = self.rng.choice(mine)
        choices = ["patch", "put", "delete"]
        weights = [50, 15, 7]
        if a.current() not in a.live:
            choices.append("publish")
            weights.append(22)
        if ABSENT not in a.live:
            choices.append("unpublish")
            weights.append(6)
        getattr(self, "op_" + self.rng.choices(choices, weights)[0])(s, base, a)

    def new_marker(self) -> str:
        self.made += 1
        return f"w{self.number}-{self.made}-g{self.crash_run.generation}"

    def send(
        self, s: requests.Session, method: str, url: str, **kw: Any
    ) -> requests.Response | None:
        """The response, or None when the outcome is unknown (cut off, or a 503)."""
        try:
            r = s.request(method, url, timeout=TIMEOUT, **kw)
        except requests.RequestException:
            return None
        if r.status_code == 503:
            self.crash_run.count("503 (not acknowledged)")
            return None
        if r.status_code >= 500:
            self.crash_run.problem(f"{method} {url} -> {r.status_code} {r.text[:300]}")
            return None
        return r

    def mark_doubt(self, a: Tracked, op: str) -> None:
        a.doubt, a.etag = op, None
        self.crash_run.count(f"in doubt: {op}")

    def op_create(self, s: requests.Session, base: str) -> None:
        marker = self.new_marker()
        slug = f"w{self.number}-{self.made}-s{self.crash_run.seed}"
        a = Tracked(slug, {ABSENT}, {ABSENT})
        self.articles.append(a)
        body = article(f"Story {marker}", slug=slug, summary=marker, tags=["crash", marker])
        r = self.send(s, "POST", base + URL, json=body)
        if r is None:
            a.draft.add(marker)
            self.mark_doubt(a, "create")
        elif r.status_code == 201 and r.json()["slug"] == slug:
            self.crash_run.ack(Ack("create", slug, "main", r.json()["meta"]["revision"], marker))
            a.draft, a.etag = {marker}, r.headers["ETag"]
        else:
            self.crash_run.problem(f"create {slug} -> {r.status_code} {r.text[:300]}")
            a.retired = True

    def edit(
        self,
        s: requests.Session,
        base: str,
        a: Tracked,
        method: str,
        body: dict[str, Any],
        marker: str,
    ) -> None:
        r = self.send(
            s, method, f"{base}{URL}/{a.slug}", json=body, headers={"If-Match": a.etag or "*"}
        )
        if r is None:
            a.draft.add(marker)
            self.mark_doubt(a, method.lower())
        elif r.status_code == 200:
            self.crash_run.ack(
                Ack(method.lower(), a.slug, "main", r.json()["meta"]["revision"], marker)
            )
            a.draft, a.etag = {marker}, r.headers["ETag"]
        else:  # the article is this thread's alone: a 412 means a write was lost or misread
            self.crash_run.problem(f"{method} {a.slug} -> {r.status_code} {r.text[:300]}")
            a.doubt = "unexpected"

    def op_patch(self, s: requests.Session, base: str, a: Tracked) -> None:
        marker = self.new_marker()
        self.edit(s, base, a, "PATCH", {"summary": marker}, marker)

    def op_put(self, s: requests.Session, base: str, a: Tracked) -> None:
        marker = self.new_marker()
        body = article(f"Rewritten {marker}", slug=a.slug, summary=marker, section="world")
        self.edit(s, base, a, "PUT", body, marker)

    def op_publish(self, s: requests.Session, base: str, a: Tracked) -> None:
        draft = a.current()
        r = self.send(s, "POST", f"{base}{URL}/{a.slug}/publish")
        if r is None:
            a.live.add(draft)
            self.mark_doubt(a, "publish")
        elif r.status_code == 200 and r.json()["meta"]["state"] == "published":
            self.crash_run.ack(
                Ack("publish", a.slug, "published", r.json()["meta"]["published_revision"], draft)
            )
            a.live = {draft}
        else:
            self.crash_run.problem(f"publish {a.slug} -> {r.status_code} {r.text[:300]}")
            a.doubt = "unexpected"

    def op_unpublish(self, s: requests.Session, base: str, a: Tracked) -> None:
        r = self.send(s, "POST", f"{base}{URL}/{a.slug}/unpublish")
        if r is None:
            a.live.add(ABSENT)
            self.mark_doubt(a, "unpublish")
        elif r.status_code == 200:
            self.crash_run.ack(Ack("unpublish", a.slug, None, None, None))
            a.live = {ABSENT}
        else:
            self.crash_run.problem(f"unpublish {a.slug} -> {r.status_code} {r.text[:300]}")
            a.doubt = "unexpected"

    def op_delete(self, s: requests.Session, base: str, a: Tracked) -> None:
        r = self.send(s, "DELETE", f"{base}{URL}/{a.slug}", headers={"If-Match": a.etag or "*"})
        if r is None:
            a.draft.add(ABSENT)
            a.live.add(ABSENT)
            self.mark_doubt(a, "delete")
        elif r.status_code == 204:
            self.crash_run.ack(Ack("delete", a.slug, None, None, None))
            a.draft, a.live, a.retired = {ABSENT}, {ABSENT}, True
        else:
            self.crash_run.problem(f"delete {a.slug} -> {r.status_code} {r.text[:300]}")
            a.doubt = "unexpected"

    def read_back(self, s: requests.Session, base: str, a: Tracked) -> None:
        """Read back an article whose last write was cut off: its draft and live versions must
        be one of the outcomes that write could have had."""
        try:
            draft = s.get(f"{base}{URL}/{a.slug}", timeout=TIMEOUT)
            live = s.get(f"{base}/api/v1/articles/{a.slug}", timeout=TIMEOUT)
        except requests.RequestException:
            return
        if draft.status_code >= 500 or live.status_code >= 500:
            if 503 not in (draft.status_code, live.status_code):
                self.crash_run.problem(
                    f"read back {a.slug} -> {draft.status_code} "
                    f"{live.status_code} {draft.text[:200]}"
                )
            return
        seen_draft = draft.json().get("summary") if draft.status_code == 200 else ABSENT
        seen_live = live.json().get("summary") if live.status_code == 200 else ABSENT
        if draft.status_code not in (200, 404) or live.status_code not in (200, 404):
            self.crash_run.problem(f"read back {a.slug} -> {draft.status_code} {live.status_code}")
            return
        if seen_draft not in a.draft:
            self.crash_run.problem(
                f"{a.slug}: draft is {seen_draft!r}, expected one of "
                f"{sorted(a.draft)} after a {a.doubt} in doubt"
            )
        if seen_live not in a.live and seen_draft != ABSENT:
            self.crash_run.problem(
                f"{a.slug}: live is {seen_live!r}, expected one of "
                f"{sorted(a.live)} after a {a.doubt} in doubt"
            )
        if a.doubt != "unexpected":
            before = {"create": ABSENT, "delete": ABSENT}.get(a.doubt or "")
            self.crash_run.count(
                f"in doubt, then read back ({len(a.draft)}/{len(a.live)} outcomes possible)"
            )
            if before is not None and seen_draft != before:
                self.crash_run.count(f"in doubt: {a.doubt} had not happened")
        a.draft = {seen_draft}
        if seen_draft == ABSENT:
            a.live, a.retired = {ABSENT}, True  # the live file of a deleted article: see git
        else:
            a.live = {seen_live}
        a.etag = draft.headers.get("ETag") if draft.status_code == 200 else None
        a.doubt = None
