"""Releases: several articles made live in one commit on `published`, all or nothing.

A release takes each article's current draft. Before anything is written every slug is
checked (it exists, its draft passes the schema, it is not already live as it is); any fault
refuses the whole release, naming each slug at fault, and nothing is published. The commit
carries one `Article:` trailer per article and `Action: publish`, so `git log --grep` and the
index see a publication of each.

The same commit routine publishes one imported article with an earlier author date (when the
archive says it went live); the committer date stays the real time of the commit.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cms.content import layout, messages
from cms.content.articles import Article
from cms.content.document import SLUG_MAX, SLUG_RE
from cms.content.identity import Person
from cms.content.layout import MAIN, PUBLISHED
from cms.errors import CMSError, Conflict, ValidationFailed
from cms.git.repository import Tips
from cms.media.usage import to_publish
from cms.store.commits import Step

if TYPE_CHECKING:
    from cms.store import ArticleStore

RELEASE_MAX = 1000
MESSAGE_MAX = 72
_SLUG = re.compile(SLUG_RE)

# slug -> (blob, parsed content) of what goes live
Files = dict[str, tuple[str, dict[str, Any]]]


def release(
    store: ArticleStore, slugs: Any, editor: Person, message: Any = None
) -> tuple[str, list[Article]]:
    """Publish the current drafts of `slugs` in one commit on `published`.

    Returns the commit and the articles as they now are. Raises ValidationFailed (422) when a
    slug is malformed, repeated or unknown, a draft fails the schema, or the message is bad;
    Conflict (409) when the only faults are articles already live as they are. Either names
    each slug at fault (`errors["slugs.N"]`) and nothing is published.
    """
    slugs = _checked_slugs(slugs)
    subject = _subject(message, slugs)

    def plan(tips: Tips) -> Files:
        files: Files = {}
        invalid: dict[str, list[str]] = {}
        live: dict[str, list[str]] = {}
        for i, slug in enumerate(slugs):
            path = layout.article_path(slug)
            # whatever git holds there (see `rules`)
            found = store.reading.file_at(tips[MAIN], slug)
            if found is None:
                invalid[f"slugs.{i}"] = [f"There is no article '{slug}'."]
                continue
            blob, doc, problems = found
            if problems:
                invalid[f"slugs.{i}"] = [
                    f"The draft of '{slug}' is not valid ({', '.join(problems)})."
                ]
                continue
            try:
                to_publish(store.repo, doc, tips[MAIN], tips[PUBLISHED])
            except ValidationFailed as e:
                invalid[f"slugs.{i}"] = [
                    f"The draft of '{slug}' uses media files that do not "
                    f"exist ({', '.join(e.errors or {})})."
                ]
                continue
            if store.repo.lookup(tips[PUBLISHED], path) == blob:
                live[f"slugs.{i}"] = [f"'{slug}' is live as it is."]
                continue
            files[slug] = (blob, doc)
        if invalid or live:
            at_fault = [
                slugs[int(k.split(".")[1])]
                for k in sorted({**invalid, **live}, key=lambda k: int(k.split(".")[1]))
            ]
            error: type[CMSError] = ValidationFailed if invalid else Conflict
            raise error(
                f"Nothing was published; at fault: {', '.join(at_fault)}.", {**invalid, **live}
            )
        return files

    def compose(tips: Tips, files: Files) -> str:
        trailers = [f"Article: {slug}" for slug in files]
        trailers += ["Action: publish", f"Revision: {tips[MAIN]}"]
        return f"{subject}\n\n" + "\n".join(trailers) + "\n"

    sha = commit_published(store, editor, plan, compose)
    return sha, [store.reading.get(slug) for slug in slugs]


def publish_blob(
    store: ArticleStore,
    slug: str,
    editor: Person,
    blob: str,
    revision: str,
    authored: int | None = None,
) -> str:
    """Make `blob` (a version of `slug` saved on the draft line at `revision`) live in one
    commit whose author date is `authored` (default: now). Returns the commit.

    Raises Conflict when that content is live already.
    """

    def plan(tips: Tips) -> Files:
        if store.repo.lookup(tips[PUBLISHED], layout.article_path(slug)) == blob:
            raise Conflict(f"Nothing to publish: '{slug}' is live as it is.")
        return {slug: (blob, json.loads(store.repo.read(blob)))}

    def compose(tips: Tips, files: Files) -> str:
        return messages.compose("publish", slug, extra={"Revision": revision})

    # an archive's publications go live even if their media are not uploaded yet; publishing
    # the article again once they are brings them
    return commit_published(store, editor, plan, compose, authored, strict_media=False)


def commit_published(
    store: ArticleStore,
    editor: Person,
    plan: Callable[[Tips], Files],
    compose: Callable[[Tips, Files], str],
    authored: int | None = None,
    *,
    strict_media: bool = True,
) -> str:
    """One commit on `published` setting the files `plan` names (never none); returns its id.

    Planned under the CMS's write turn and retried if a plain-git push moved a line meanwhile
    (`Writes.write`). Raises what `plan` raises, ValidationFailed when an article names a
    media file on neither line (with `strict_media`), or StorageUnavailable.
    """

    def steps(tips: Tips) -> list[Step]:
        files = plan(tips)
        changes: dict[str, str | None] = {
            layout.article_path(slug): blob for slug, (blob, _) in files.items()
        }
        for _, doc in files.values():
            # the media each article uses go live in the same commit
            changes.update(
                to_publish(store.repo, doc, tips[MAIN], tips[PUBLISHED], strict=strict_media)
            )
        first = next(iter(files))
        return [
            Step(
                PUBLISHED,
                first,
                "publish",
                blob=files[first][0],
                files=changes,
                message=compose(tips, files),
                authored=authored,
                docs={slug: doc for slug, (_, doc) in files.items()},
            )
        ]

    made = store.writes.write(editor, steps)
    return made[0].record.sha


def _checked_slugs(slugs: Any) -> list[str]:
    if not isinstance(slugs, list) or not 1 <= len(slugs) <= RELEASE_MAX:
        raise ValidationFailed(
            "A release names 1 to 1000 articles by slug.",
            {"slugs": [f"Must be a list of 1 to {RELEASE_MAX} slugs."]},
        )
    errors: dict[str, list[str]] = {}
    seen: set[str] = set()
    for i, slug in enumerate(slugs):
        if not isinstance(slug, str) or len(slug) > SLUG_MAX or not _SLUG.fullmatch(slug):
            errors[f"slugs.{i}"] = ["Not a valid slug."]
        elif slug in seen:
            errors[f"slugs.{i}"] = [f"'{slug}' is named twice."]
        else:
            seen.add(slug)
    if errors:
        raise ValidationFailed("Nothing was published: the release names bad slugs.", errors)
    return slugs


def _subject(message: Any, slugs: list[str]) -> str:
    if message is None:
        if len(slugs) == 1:
            return messages.subject("publish", slugs[0])
        head = f"Publish {len(slugs)} articles: {', '.join(slugs)}"
        return head if len(head) <= MESSAGE_MAX else head[: MESSAGE_MAX - 3] + "..."
    if (
        not isinstance(message, str)
        or not 1 <= len(message) <= MESSAGE_MAX
        or any(unicodedata.category(ch) in ("Cc", "Cs") for ch in message)
    ):
        raise ValidationFailed(
            "The release message is not valid.",
            {"message": [f"One line of 1 to {MESSAGE_MAX} characters, no control characters."]},
        )
    return message
