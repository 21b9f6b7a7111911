"""Bulk import and export of articles: a JSON array file, JSON Lines, or a folder of .json files.

This module checks, saves and publishes what is imported, and makes the records of an export;
`import_files` reads the files (and names those it skips), `export_files` writes them.

Import is idempotent. An article is matched by its slug, or, without one, by the slug its
title gives (the same rule as create, without the `-2` suffix), and is created or updated,
never copied (unless the caller asks for copies). Every record is checked before anything is
written; a record that cannot be parsed does not hide the others' problems.

A record is an article's fields plus, optionally, when it went live and a `meta` object as
`export` writes it: `{"state", "published_at", "live"}` (`live`: the version frontends see,
when it differs from the draft). What a record says is live is made live, each article in its
own commit on `published` whose author date is the record's `published_at`, in that order, so
an archive keeps its dates in `git log published` and in previous/next.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from marshmallow import ValidationError
from slugify import slugify

from cms.content import canonical, identity, layout
from cms.content.articles import Article, validate, with_slug
from cms.content.document import SLUG_MAX
from cms.content.fields import UTCDateTime
from cms.content.identity import Person
from cms.content.layout import PUBLISHED
from cms.errors import ArticleNotFound, BadRequest, Conflict, ValidationFailed
from cms.git.repository import blob_id
from cms.store import ArticleStore
from cms.store.import_files import Source
from cms.store.releases import publish_blob
from cms.times import iso

STATES = ("draft", "published", "changed", "scheduled")
# records written as one batch (see `in_batches`): a pack of about 10,000 objects, and the
# branches held for a few seconds
BATCH = 1000
T = TypeVar("T")
_WHEN = UTCDateTime()
# checked whole (fullmatch): `$` would let a trailing newline through
_AUTHOR = re.compile(r"([^<>]*?) <([^<>]*)>")


@dataclass
class Record:
    """A record ready to save: the draft, its slug (None: a copy, slug chosen on create),
    the version to make live (None: nothing) and when that went live (None: now)."""

    where: str
    draft: dict[str, Any]
    slug: str | None
    live: dict[str, Any] | None
    published_at: int | None


@dataclass(slots=True)
class Publication:
    """A version saved on the draft line that is to go live (one kept per imported article
    until all are saved: slots, no per-object dict)."""

    slug: str
    blob: str
    revision: str
    published_at: int | None  # None: now (or the article was live already)


class Invalid(Exception):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


# -- checking ----------------------------------------------------------------------------


def prepare(source: Source, *, publish: bool, copies: bool, now: int, check: bool = True) -> Record:
    """Turn a source into a Record. With `check`, validate it (the draft, its live version,
    `published_at` and `meta`) and raise Invalid naming every bad field."""
    if source.unreadable is not None:
        raise Invalid({"_json": [source.unreadable]})
    data = source.data
    if not isinstance(data, dict):
        raise Invalid({"_schema": ["A record must be a JSON object (an article)."]})
    errors: dict[str, list[str]] = {}
    draft = {k: v for k, v in data.items() if k not in ("meta", "published_at")}
    meta = data.get("meta", {})
    if not isinstance(meta, dict):
        errors["meta"] = ["Must be an object."]
        meta = {}
    state = meta.get("state")
    if state is not None and state not in STATES:
        errors["meta.state"] = [f"Must be one of: {', '.join(STATES)}."]
    published_at = None
    for key, value in (
        ("meta.published_at", meta.get("published_at")),
        ("published_at", data.get("published_at")),
    ):
        if value is not None:
            try:
                published_at = int(_WHEN.deserialize(value).timestamp())
            except ValidationError as e:
                errors[key] = [str(m) for m in e.messages]  # type: ignore[union-attr]
                continue
            if published_at > now:
                errors[key] = ["It is in the future; to schedule, set publish_at instead."]
    live: dict[str, Any] | None = None
    if publish or state == "published":
        live = draft
    elif isinstance(meta.get("live"), dict):
        live = {k: v for k, v in meta["live"].items() if k != "meta"}
    elif meta.get("live") is not None:
        errors["meta.live"] = ["Must be an article object."]
    if check:
        errors.update(_errors(draft, ""))
        if live is not None and live is not draft:
            errors.update(_errors(live, "meta.live."))
    if errors:
        raise Invalid(errors)
    when = _when(draft.get("publish_at"))
    if live is draft and when is not None and when > now:
        live = None  # scheduled: the draft keeps its publish_at and goes live then
    if published_at is None and live is not None and when is not None and when <= now:
        published_at = when  # an archive that says when it was due: that is when it went live
    slug = draft.get("slug") if isinstance(draft.get("slug"), str) else None
    if slug is None and not copies:
        title = draft.get("title")
        slug = (
            slugify(
                title if isinstance(title, str) else "", max_length=SLUG_MAX, word_boundary=True
            )
            or "article"
        )
    return Record(source.where, draft, slug, live, published_at)


def _errors(doc: dict[str, Any], prefix: str) -> dict[str, list[str]]:
    try:
        validate(doc)
    except ValidationFailed as e:
        return {f"{prefix}{k}": v for k, v in (e.errors or {}).items()}
    return {}


def _when(value: Any) -> int | None:
    try:
        return int(_WHEN.deserialize(value).timestamp()) if value is not None else None
    except ValidationError:
        return None


@dataclass
class Checked:
    """What checking an import's sources found: how many records, one line per bad record,
    and one `where: skipped: why` line per file not read."""

    records: int
    problems: list[str]
    skipped: list[str]


def check(sources: Iterator[Source], *, publish: bool, copies: bool, now: int) -> Checked:
    """Check every record (`where: field: message; ...` for a bad one, also naming two records
    that would be the same article), and list the files skipped."""
    found = Checked(0, [], [])
    seen: dict[str, str] = {}
    for source in sources:
        if source.skipped is not None:
            found.skipped.append(f"{source.where}: skipped: {source.skipped}")
            continue
        found.records += 1
        try:
            record = prepare(source, publish=publish, copies=copies, now=now)
        except Invalid as e:
            found.problems.append(
                f"{source.where}: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in e.errors.items())
            )
            continue
        if record.slug is None:
            continue
        if record.slug in seen:
            found.problems.append(
                f"{source.where}: slug: '{record.slug}' is also the article at {seen[record.slug]}."
            )
        else:
            seen[record.slug] = source.where
    return found


# -- saving ------------------------------------------------------------------------------


def save(store: ArticleStore, record: Record, editor: Person) -> tuple[str, Publication | None]:
    """Create or update the record's article (and first its live version when that differs
    from the draft). Returns "created", "updated" or "unchanged", and what is to go live, if
    anything differs from what is live now."""
    slug = record.slug
    current = _current(store, slug) if slug is not None else None
    live_now = _live_blob(store, slug) if slug is not None else None
    publication = None
    outcome = "unchanged"
    if record.live is not None and record.live is not record.draft:
        assert slug is not None  # a version to make live always comes with its slug
        live = with_slug(validate(record.live), slug)
        if blob_id(canonical.dumps(live)) != live_now:
            current, outcome = _put(store, slug, current, live, editor)
            publication = Publication(
                slug,
                current.etag,
                current.meta["revision"],
                record.published_at if live_now is None else None,
            )
    after, changed = _put(store, slug, current, record.draft, editor)
    outcome = changed if outcome == "unchanged" or changed == "created" else outcome
    if record.live is record.draft and after.etag != live_now:
        publication = Publication(
            after.slug,
            after.etag,
            after.meta["revision"],
            record.published_at if live_now is None else None,
        )
    return outcome, publication


def _put(
    store: ArticleStore,
    slug: str | None,
    current: Article | None,
    doc: dict[str, Any],
    editor: Person,
) -> tuple[Article, str]:
    """Create or replace the draft. The command line holds the repository itself, so, like
    an editor, it may set `publish_at`."""
    if current is None:
        return store.drafts.create(
            doc if slug is None else with_slug(doc, slug), editor, may_schedule=True
        ), "created"
    after = store.drafts.replace(current.slug, doc, editor, {current.etag}, may_schedule=True)
    return after, "unchanged" if after.etag == current.etag else "updated"


def _current(store: ArticleStore, slug: str) -> Article | None:
    try:
        return store.reading.get(slug)
    except ArticleNotFound:
        return None


def _live_blob(store: ArticleStore, slug: str) -> str | None:
    return store.repo.lookup(store.catch_up()[PUBLISHED], layout.article_path(slug))


def in_batches(store: ArticleStore, items: Iterable[T], size: int | None = None) -> Iterator[T]:
    """Yield `items`; what the caller writes while it holds them goes to git and the index
    as one batch per `size` items (default BATCH; see `ArticleStore.batch`): the same
    commits, but one pack of objects and one move of each branch instead of a file per
    object and a ref rename per commit, which wait on a busy disk. A batch the caller leaves
    by an exception writes nothing."""
    it = iter(items)
    while chunk := list(itertools.islice(it, size or BATCH)):
        with store.batch():
            yield from chunk


def publish(store: ArticleStore, publications: list[Publication], editor: Person) -> Iterator[str]:
    """Make each version live, oldest `published_at` first (now last), one commit each;
    yield each slug as it goes live."""
    order = sorted(
        enumerate(publications),
        key=lambda p: (p[1].published_at is None, p[1].published_at or 0, p[0]),
    )
    for _, p in in_batches(store, order):
        try:
            publish_blob(store, p.slug, editor, p.blob, p.revision, p.published_at)
        except Conflict:
            continue  # live as it is already: someone published it meanwhile
        yield p.slug


# -- exporting ---------------------------------------------------------------------------


def records(store: ArticleStore) -> Iterator[dict[str, Any]]:
    """Every article on the draft line as an export record: its fields and a `meta` with its
    state, when it went live and, when the live version differs from the draft, that version.
    Live articles come first, in the order they went live, then the others by slug."""
    tip = store.catch_up()[PUBLISHED]
    live = store.index.live.order()
    rest = sorted(set(store.reading.slugs()) - set(live))
    for slug in [*live, *rest]:
        try:
            article = store.reading.get(slug)
        except ArticleNotFound:
            continue  # deleted meanwhile, or live but gone from the draft line
        meta: dict[str, Any] = {"state": article.meta["state"]}
        if article.meta["published_at"] is not None:
            meta["published_at"] = iso(int(article.meta["published_at"].timestamp()))
            blob = store.repo.lookup(tip, layout.article_path(slug))
            if blob is not None and blob != article.etag:
                meta["live"] = json.loads(store.repo.read(blob))
        yield {**article.fields, "meta": meta}


# -- who -----------------------------------------------------------------------------------


def person(name: str, email: str, option: str) -> Person:
    """A commit author, checked as a whole by `identity` (a name without control characters or
    `<>`, and an email address). Raises BadRequest naming `option`."""
    name = name.strip()
    if identity.problems(name, email):
        raise BadRequest(
            f'{option}: give a name and an email address, as "Name <email>".',
            {option: ['Not a valid "Name <email>".']},
        )
    return Person(name, email)


def parse_author(text: str) -> Person:
    """`Name <email>` as a Person; raises BadRequest when it is not exactly that."""
    m = _AUTHOR.fullmatch(text)
    if m is None:
        raise BadRequest(
            '--author: give it as "Name <email>".',
            {"--author": ['Not of the form "Name <email>".']},
        )
    return person(m.group(1), m.group(2), "--author")
