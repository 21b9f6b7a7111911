"""Reading the draft line and the history of both lines."""

from __future__ import annotations

import builtins
import json
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from cms.content import canonical, layout
from cms.content.articles import Article, from_row
from cms.content.diff import changes as field_changes
from cms.content.document import REVISION_RE
from cms.content.layout import PUBLISHED
from cms.content.text import search_text
from cms.errors import ArticleNotFound, BadRequest, RevisionNotFound, ValidationFailed
from cms.git.objects import MODE_FILE
from cms.git.repository import Repository, Tips
from cms.index import Index, search
from cms.integrity import rules
from cms.times import utc

# how many valid canonical files `Reading.file_at` remembers (ids and paths only)
CANONICAL_KEPT = 4096


class Reading:
    """An article, lists, revisions, and an article as it was at a revision: what the index
    answers, with the content from git."""

    def __init__(self, repo: Repository, index: Index) -> None:
        self.repo = repo
        self.index = index
        # (blob, path) of files found valid and already in canonical form: read again, such a
        # file's fields are its JSON as it is, so it is not validated a second time
        self._canonical: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._canonical_lock = threading.Lock()

    def catch_up(self) -> Tips:
        """Bring the index up to both lines of history; return where they point."""
        return self.index.catch_up()

    def get(self, slug: str) -> Article:
        """Return the current draft of `slug`; raises ArticleNotFound."""
        self.catch_up()
        row = self.index.drafts.article(slug, int(time.time()))
        if row is None:
            raise ArticleNotFound(f"There is no article '{slug}'.")
        return self.article(row)

    def article(self, row: dict[str, Any]) -> Article:
        """The Article of an index row; an invalid file's content is not read."""
        return from_row(row, {} if row["problems"] else json.loads(self.repo.read(row["blob"])))

    def file_at(
        self, commit: str | None, slug: str
    ) -> tuple[str, dict[str, Any], rules.Problems] | None:
        """The file of `slug` at `commit`, None if there is none, else its id, its fields
        (canonical when valid, else as far as they can be read) and its problems (none for
        a valid article, see `rules.check_article`)."""
        path = layout.article_path(slug)
        entry = self.repo.entry(commit, path)
        if entry is None:
            return None
        mode, sha = entry
        if mode != MODE_FILE:
            return sha, {}, rules.check_article(path, mode, bytes)
        data = self.repo.read(sha)
        too_large = rules.size_problems(len(data))
        if too_large:
            return sha, rules.loose(data), too_large
        key = (sha, path)
        with self._canonical_lock:
            if key in self._canonical:
                self._canonical.move_to_end(key)
                return sha, json.loads(data), {}
        # parsed and validated once (the rules' check and the canonical form in one)
        fields, problems = rules.read_file(path, data)
        if not problems and canonical.dumps(fields) == data:
            with self._canonical_lock:
                self._canonical[key] = None
                if len(self._canonical) > CANONICAL_KEPT:
                    self._canonical.popitem(last=False)
        return sha, fields, problems

    def list(
        self,
        *,
        page: int = 1,
        per_page: int = 20,
        state: str | None = None,
        section: str | None = None,
        tag: str | None = None,
        q: str | None = None,
        sort: str | None = None,
        valid: bool = False,
    ) -> tuple[builtins.list[Article], int]:
        """Return one page of articles (most recently updated first; best match first, each
        with a `highlight`, for `sort="relevance"` and `q`) and the total count; with
        `valid`, only valid articles (none in state `invalid`)."""
        self.catch_up()
        rows, total = self.index.drafts.articles(
            now=int(time.time()),
            state=state,
            section=section,
            tag=tag,
            q=q,
            sort=sort,
            limit=per_page,
            offset=(page - 1) * per_page,
            valid=valid,
        )
        found = [self.article(r) for r in rows]
        if q and sort == "relevance":
            for article in found:
                article.highlight = search.highlight_doc(
                    q, article.fields, search_text(article.fields)
                )
        return found, total

    def count(self) -> int:
        """How many articles the draft line holds."""
        self.catch_up()
        return self.index.drafts.count()

    def unpublished(self, limit: int) -> builtins.list[str]:
        """Slugs of the articles with changes not live yet (drafts, changed, scheduled), most
        recently updated first, at most `limit`."""
        self.catch_up()
        return self.index.drafts.unpublished(int(time.time()), limit)

    def sections(self) -> builtins.list[str]:
        """Every section an article on the draft line has, in order."""
        self.catch_up()
        return self.index.drafts.sections()

    def slugs(self) -> builtins.list[str]:
        """Every article on the draft line, in slug order."""
        self.catch_up()
        return self.index.drafts.slugs()

    def revisions(
        self, slug: str, *, page: int = 1, per_page: int = 20
    ) -> tuple[builtins.list[dict[str, Any]], int]:
        """Return one page of the revisions of `slug`, newest first, and the total.

        Raises ArticleNotFound if the article never existed.
        """
        self.catch_up()
        rows, total = self.index.drafts.revisions(
            slug, limit=per_page, offset=(page - 1) * per_page
        )
        if total == 0:
            raise ArticleNotFound(f"There never was an article '{slug}'.")
        items = [
            {
                **{k: v for k, v in r.items() if k not in ("blob", "line")},
                "date": utc(r["date"]),
                "published": r["line"] == PUBLISHED,
            }
            for r in rows
        ]
        return items, total

    def resolve(
        self, revision: str, field: str = "revision", line: str | None = None
    ) -> tuple[str, datetime]:
        """Return the full commit id (and date) named by a 7..40 hex prefix, on either line
        of history or on `line`.

        Raises RevisionNotFound, or BadRequest when the prefix is ambiguous.
        """
        if not isinstance(revision, str) or not REVISION_RE.fullmatch(revision):
            raise RevisionNotFound(f"There is no revision '{revision}'.")
        self.catch_up()
        found = self.index.drafts.resolve(revision, line)
        if not found:
            raise RevisionNotFound(f"There is no revision '{revision}'.")
        if len(found) > 1:
            raise BadRequest(
                f"The revision prefix '{revision}' is ambiguous.",
                {field: ["Ambiguous revision prefix; give more characters."]},
            )
        sha, date = found[0]
        return sha, datetime.fromtimestamp(date, UTC)

    def at_revision(
        self, slug: str, revision: str, field: str = "revision", line: str | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Return the article as it was at `revision` and {"revision", "date"}, with
        "state": "invalid" and its "problems" when the file then was not a valid article (its
        fields are then as far as they can be read).

        Raises RevisionNotFound when the revision is unknown or the article did not exist then.
        """
        sha, date = self.resolve(revision, field, line)
        found = self.file_at(sha, slug)
        if found is None:
            raise RevisionNotFound(f"The article '{slug}' did not exist at revision {sha[:12]}.")
        _, doc, problems = found
        meta = {"revision": sha, "date": date}
        if problems:
            meta.update(state="invalid", problems=problems)
        return doc, meta

    def valid_at(
        self, slug: str, revision: str, field: str = "revision", line: str | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """`at_revision`, for content about to be written again (restored or published).

        Raises RevisionNotFound, or ValidationFailed naming the fields at fault when the
        article was not valid at that revision.
        """
        doc, meta = self.at_revision(slug, revision, field, line)
        if "problems" in meta:
            raise ValidationFailed(
                f"The article '{slug}' at revision {meta['revision'][:12]} is not valid: "
                f"{', '.join(meta['problems'])}.",
                meta["problems"],
            )
        return doc, meta

    def diff(self, slug: str, old: str, new: str | None = None) -> dict[str, Any]:
        """Return the field-level changes of `slug` from revision `old` to `new` (default: now)."""
        before, before_meta = self.at_revision(slug, old, "from")
        if new is None:
            current = self.get(slug)
            after, after_rev = current.fields, current.meta["revision"]
        else:
            after, after_meta = self.at_revision(slug, new, "to")
            after_rev = after_meta["revision"]
        return {
            "from": before_meta["revision"],
            "to": after_rev,
            "changes": field_changes(before, after),
        }
