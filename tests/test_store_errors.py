"""The store says what went wrong with a write's revision in its own terms; the HTTP edge turns
that into HTTP's precondition answers (428, 412), which stay as they were."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from cms import errors
from cms.content.identity import Person
from cms.store import ArticleStore
from cms.web.problems import from_cms_error
from harness import article

EDITOR = Person("Eve Editor", "eve@example.org")
URL = "/api/v1/manage/articles"
STALE = '"' + "0" * 40 + '"'


def writes(store: ArticleStore, slug: str, expected: set[str] | None) -> dict[str, Any]:
    """Each kind of write that checks the revision it changes, as a call."""
    first = store.revisions(slug)[0][-1]["revision"]
    return {
        "replace": lambda: store.replace(slug, article("Again"), EDITOR, expected),
        "patch": lambda: store.patch(slug, {"title": "Again"}, EDITOR, expected),
        "delete": lambda: store.delete(slug, EDITOR, expected),
        "restore": lambda: store.drafts.restore(slug, first, EDITOR, expected),
    }


@pytest.mark.parametrize("write", ["replace", "patch", "delete", "restore"])
def test_a_write_that_names_no_revision_raises_revision_required(
    store: ArticleStore, write: str
) -> None:
    slug = store.create(article(), EDITOR).slug
    with pytest.raises(errors.RevisionRequired) as raised:
        writes(store, slug, None)[write]()
    assert not isinstance(raised.value, errors.PreconditionRequired)
    assert "revision" in raised.value.detail and "ETag" not in raised.value.detail
    assert raised.value.errors == {"expected": ["Missing."]}


@pytest.mark.parametrize("write", ["replace", "patch", "delete", "restore"])
def test_a_write_on_a_stale_revision_raises_stale_revision(
    store: ArticleStore, write: str, git: Any
) -> None:
    created = store.create(article(), EDITOR)
    store.patch(created.slug, {"summary": "Changed."}, EDITOR, {created.etag})
    before = git("rev-parse", "main")
    with pytest.raises(errors.StaleRevision) as raised:
        writes(store, created.slug, {created.etag})[write]()
    assert not isinstance(raised.value, errors.PreconditionFailed)
    assert raised.value.detail == (
        f"The article '{created.slug}' was changed since you read it; reload it and retry."
    )
    assert raised.value.errors == {"expected": ["Not the current revision."]}
    assert git("rev-parse", "main") == before


def test_the_api_answers_them_as_http_preconditions(
    client: FlaskClient, editor_token: dict[str, str], created: dict[str, Any]
) -> None:
    at = f"{URL}/{created['slug']}"
    missing = client.patch(at, json={"title": "x"}, headers=editor_token)
    assert missing.status_code == 428
    assert missing.mimetype == "application/problem+json"
    assert missing.get_json() == {
        "type": "about:blank",
        "title": "Precondition Required",
        "status": 428,
        "detail": "Send If-Match with the ETag of the article you are changing.",
        "errors": {"If-Match": ["Missing header."]},
    }
    stale = client.patch(at, json={"title": "x"}, headers={**editor_token, "If-Match": STALE})
    assert stale.status_code == 412
    assert stale.get_json() == {
        "type": "about:blank",
        "title": "Precondition Failed",
        "status": 412,
        "detail": f"The article '{created['slug']}' was changed since you read it; reload it "
        "and retry.",
        "errors": {"If-Match": ["Does not match the current ETag."]},
    }


def test_an_error_without_its_own_http_words_still_gets_its_status(app: Any) -> None:
    """Outside the views that speak of If-Match (the workbench's calls), the store's revision
    errors are still answered 428 and 412."""
    with app.app_context():
        required = from_cms_error(errors.RevisionRequired("r", {"expected": ["Missing."]}))
        stale = from_cms_error(errors.StaleRevision("s"))
    assert (required.status_code, required.get_json()["title"]) == (428, "Precondition Required")
    assert (stale.status_code, stale.get_json()["title"]) == (412, "Precondition Failed")
