"""Writes made in one batch (what `cms import` does per 1,000 records): the same commits as
one by one, on both lines, seen by git and the API once the batch ends; nothing if it fails."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cms.content.identity import Person
from cms.store import ArticleStore, transfer
from cms.web import create_app

# the apps its tests build are closed after each (their git processes, delivery's threads)
pytestmark = pytest.mark.usefixtures("closes_apps")

EDITOR = Person("Ada Editor", "ada@example.org")


def story(n: int) -> dict[str, object]:
    return {"title": f"Story {n}", "body": [{"type": "paragraph", "text": f"Text {n}."}]}


def test_batched_writes_are_the_usual_commits_on_both_lines(
    repo: Path, store: ArticleStore, git: Callable[..., str]
) -> None:
    made = []
    for n in transfer.in_batches(store, range(5), size=2):
        article = store.create(story(n), EDITOR)
        made.append(article.slug)
        if n == 3:  # inside the second batch: not in git yet, but the store reads it back
            assert git("rev-list", "--count", "main").strip() == "3"
            assert store.get("story-3").fields["title"] == "Story 3"
    publications = [
        transfer.Publication(s, store.get(s).etag, store.get(s).meta["revision"], 1_500_000_000 + i)
        for i, s in enumerate(made)
    ]
    assert list(transfer.publish(store, publications, EDITOR)) == made
    # one commit per article on each line, each with its own message, in order
    assert git("log", "--format=%s", "main").splitlines()[:5] == [
        f"Create {s}" for s in reversed(made)
    ]
    assert git("log", "--format=%s", "published").splitlines()[:5] == [
        f"Publish {s}" for s in reversed(made)
    ]
    assert git("log", "--format=%at", "-1", "published").strip() == "1500000004"
    assert git("fsck", "--strict") == ""
    # three batches of creates, one of publications: a pack each, no loose object but the
    # three of the repository's first commit
    counts = dict(line.split(": ") for line in git("count-objects", "-v").splitlines())
    assert (counts["count"], counts["packs"]) == ("3", "4")
    # a new process sees what the batches wrote
    client = create_app({"REPO": str(repo), "TESTING": True}).test_client()
    body = client.get("/api/v1/articles").get_json()
    assert [i["slug"] for i in body["items"]] == list(reversed(made))
    assert body["items"][0]["published_at"] == "2017-07-14T02:40:04Z"


def test_a_batch_that_fails_writes_nothing(
    repo: Path, store: ArticleStore, git: Callable[..., str]
) -> None:
    before = git("rev-parse", "main", "published")
    with pytest.raises(RuntimeError):
        for n in transfer.in_batches(store, range(3)):
            store.create(story(n), EDITOR)
            if n == 1:
                raise RuntimeError("stop")
    assert git("rev-parse", "main", "published") == before
    client = create_app({"REPO": str(repo), "TESTING": True}).test_client()
    assert client.get("/api/v1/articles/story-0").status_code == 404
    assert store.count() == 0
