"""Bad input never hurts: every malformed request gets its 4xx as problem+json, and the
content repository stays exactly as it was.

Each case checks the status, the problem document (`type`, `title`, `status`, `detail`, and
for validation failures `errors` naming every offending field by dotted path), that no stack
trace or server path leaks, and that `main`, its history and every ref are unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import article
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from cms.auth.tokens import TokenStore
from cms.store import ArticleStore
from cms.web import create_app, services

ARTICLES = "/api/v1/manage/articles"
PROBLEM = "application/problem+json"
LEAKS = ("Traceback", "/work", "site-packages", 'File "')
STALE = '"0000000000000000000000000000000000000000"'
ZEROS = "0" * 40
Git = Callable[..., str]


# -- one repository and one app for the whole module ------------------------------------------
# Every case here asserts that the repository is left exactly as it was, so the cases can share
# one (building a repository and an app for each of 428 cases was most of this file's time).
# The fixtures below replace conftest's per-test ones of the same names.


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bad-input") / "content-repo"
    ArticleStore.init(str(path))
    return path


@pytest.fixture(scope="module")
def app(repo: Path) -> Iterator[Flask]:
    # the limit on failed tokens has its own test; here it would turn 401s into 429s
    app = create_app({"REPO": str(repo), "TESTING": True, "RATELIMIT_ENABLED": False})
    yield app
    services(app).close()


@pytest.fixture(scope="module")
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _headers(repo: Path, name: str, email: str, role: str) -> dict[str, str]:
    _, secret = TokenStore(str(repo)).create(name, email, role)
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture(scope="module")
def author_token(repo: Path) -> dict[str, str]:
    return _headers(repo, "Ann Author", "ann@example.org", "author")


@pytest.fixture(scope="module")
def editor_token(repo: Path) -> dict[str, str]:
    return _headers(repo, "Eve Editor", "eve@example.org", "editor")


@pytest.fixture(scope="module")
def admin_token(repo: Path) -> dict[str, str]:
    return _headers(repo, "Ada Admin", "ada@example.org", "admin")


@pytest.fixture(scope="module")
def created(client: FlaskClient, editor_token: dict[str, str]) -> dict[str, Any]:
    response = client.post(ARTICLES, json=article(), headers=editor_token)
    assert response.status_code == 201
    return {**response.get_json(), "etag": response.headers["ETag"]}


# -- helpers ---------------------------------------------------------------------------------


def repo_state(git: Git) -> tuple[str, str, str]:
    """What a bad request must not change: the tip of main, its length, and every ref."""
    return git("rev-parse", "main"), git("rev-list", "--count", "main"), git("for-each-ref")


def assert_problem(
    response: TestResponse, status: int, fields: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """Assert `response` is a problem+json document for `status`.

    With `fields`, `errors` must name exactly those dotted paths.
    """
    text = response.get_data(as_text=True)
    assert response.status_code == status, text
    assert response.mimetype == PROBLEM, text
    body = json.loads(text)
    assert isinstance(body, dict), text
    assert isinstance(body.get("type"), str) and body["type"], text
    assert isinstance(body.get("title"), str) and body["title"], text
    assert body.get("status") == status, text
    assert isinstance(body.get("detail"), str) and body["detail"], text
    for leak in LEAKS:
        assert leak not in text, text
    if fields is not None:
        assert isinstance(body.get("errors"), dict), text
        assert set(body["errors"]) == set(fields), text
        for messages in body["errors"].values():
            assert messages and all(isinstance(m, str) and m for m in messages), text
    return body


def encode(payload: Any) -> bytes:
    """JSON text for `payload`; bytes are sent as they are."""
    return payload if isinstance(payload, bytes) else json.dumps(payload).encode()


def without(key: str) -> dict[str, Any]:
    return {k: v for k, v in article().items() if k != key}


def second_block(block: Any) -> dict[str, Any]:
    """A valid article whose second body block is `block` (its errors live at `body.1.*`)."""
    return article(body=[{"type": "paragraph", "text": "First."}, block])


def paragraph(text: str) -> dict[str, Any]:
    return second_block({"type": "paragraph", "text": text})


def image_article(**image: Any) -> dict[str, Any]:
    return article(image=image)


JS = "javascript:alert(1)"
VALID_BLOCK_JSON = '"body": [{"type": "paragraph", "text": "Fine."}]'


# -- create: broken JSON, wrong content types, oversize bodies --------------------------------

BROKEN_JSON = [
    pytest.param(b"{bad", id="bad-token"),
    pytest.param(b'{"title": "A", "body": [],}', id="trailing-comma"),
    pytest.param(b'{"title": "Council approves', id="truncated"),
    pytest.param(b"", id="empty"),
    pytest.param(b"   \n", id="whitespace-only"),
    pytest.param(b"{'title': 'single quotes'}", id="single-quotes"),
    pytest.param(b'{"title": "A"} {"title": "B"}', id="two-documents"),
    pytest.param(b'{"title": "\xff\xfe", ' + VALID_BLOCK_JSON.encode() + b"}", id="bad-utf8"),
    pytest.param(b'{"title": "\xc3", ' + VALID_BLOCK_JSON.encode() + b"}", id="cut-utf8"),
    pytest.param(
        b'{"title": "A", "body": [{"type": "heading", "text": "x", "level": NaN}]}', id="nan"
    ),
    pytest.param(
        b'{"title": "A", "body": [{"type": "heading", "text": "x", "level": Infinity}]}',
        id="infinity",
    ),
    pytest.param(
        b'{"title": "A", "body": [{"type": "heading", "text": "x", "level": -Infinity}]}',
        id="minus-infinity",
    ),
    pytest.param(
        b'{"title": "A", "title": "B", ' + VALID_BLOCK_JSON.encode() + b"}",
        id="duplicate-keys",
    ),
    pytest.param(
        b'{"title": "A", "body": [{"type": "paragraph", "text": "x", "text": "y"}]}',
        id="duplicate-keys-in-block",
    ),
    pytest.param(b"[" * 100_000, id="deep-open-arrays"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deep-balanced-arrays"),
    pytest.param(b'{"a":' * 100_000 + b"1" + b"}" * 100_000, id="deep-objects"),
    pytest.param(
        b'{"title": "A", "body": [{"type": "heading", "text": "x", "level": '
        + b"9" * 5000
        + b"}]}",
        id="5000-digit-number",
    ),
]


@pytest.mark.parametrize("raw", BROKEN_JSON)
def test_create_with_broken_json_is_400(
    client: FlaskClient, editor_token: dict[str, str], git: Git, raw: bytes
) -> None:
    before = repo_state(git)
    response = client.post(
        ARTICLES, data=raw, content_type="application/json", headers=editor_token
    )
    assert_problem(response, 400)
    assert repo_state(git) == before


VALID_JSON = json.dumps(article()).encode()


@pytest.mark.parametrize(
    "content_type",
    [
        pytest.param("text/plain", id="text-plain"),
        pytest.param("application/x-www-form-urlencoded", id="form"),
        pytest.param("multipart/form-data; boundary=x", id="multipart"),
        pytest.param("application/xml", id="xml"),
        pytest.param("text/json", id="text-json"),
        pytest.param("application/merge-patch+json", id="merge-patch-on-post"),
        pytest.param(None, id="missing"),
    ],
)
def test_create_with_other_content_type_is_415(
    client: FlaskClient, editor_token: dict[str, str], git: Git, content_type: str | None
) -> None:
    before = repo_state(git)
    headers = dict(editor_token)
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = client.post(ARTICLES, data=VALID_JSON, headers=headers)
    assert_problem(response, 415)
    assert repo_state(git) == before


def test_create_over_one_mebibyte_is_413(
    client: FlaskClient, editor_token: dict[str, str], git: Git
) -> None:
    before = repo_state(git)
    raw = encode(article(summary="x" * (1024 * 1024)))
    assert len(raw) > 1024 * 1024
    response = client.post(
        ARTICLES, data=raw, content_type="application/json", headers=editor_token
    )
    assert_problem(response, 413)
    assert repo_state(git) == before


# -- create: well-formed JSON that is not a valid article --------------------------------------

INVALID_ARTICLES = [
    # not an object at all
    pytest.param(b"[]", None, id="array"),
    pytest.param(b"[1, 2]", None, id="array-of-numbers"),
    pytest.param(b'"an article"', None, id="string"),
    pytest.param(b"null", None, id="null"),
    pytest.param(b"42", None, id="number"),
    pytest.param(b"true", None, id="boolean"),
    # title
    pytest.param(without("title"), ("title",), id="missing-title"),
    pytest.param(article(title=""), ("title",), id="empty-title"),
    pytest.param(article(title="x" * 301), ("title",), id="title-301-chars"),
    pytest.param(article(title="Bell \u0007 rings"), ("title",), id="title-bell"),
    pytest.param(article(title="Two\nlines"), ("title",), id="title-newline"),
    pytest.param(article(title="Tab\there"), ("title",), id="title-tab"),
    pytest.param(article(title="Nul\u0000"), ("title",), id="title-nul"),
    pytest.param(article(title="Del\u007f"), ("title",), id="title-del"),
    pytest.param(article(title=42), ("title",), id="title-number"),
    pytest.param(article(title=None), ("title",), id="title-null"),
    pytest.param(article(title=["a"]), ("title",), id="title-list"),
    pytest.param(
        b'{"title": "\\ud800", ' + VALID_BLOCK_JSON.encode() + b"}",
        ("title",),
        id="title-lone-surrogate",
    ),
    pytest.param(
        b'{"title": "ok", "body": [{"type": "paragraph", "text": "a\\udfffb"}]}',
        ("body.0.text",),
        id="text-lone-low-surrogate",
    ),
    # body and blocks
    pytest.param(without("body"), ("body",), id="missing-body"),
    pytest.param(article(body=[]), ("body",), id="empty-body"),
    pytest.param(article(body={"type": "paragraph", "text": "x"}), ("body",), id="body-object"),
    pytest.param(article(body="text"), ("body",), id="body-string"),
    pytest.param(
        article(body=[{"type": "paragraph", "text": "x"}] * 2001), ("body",), id="2001-blocks"
    ),
    pytest.param(second_block("just text"), ("body.1",), id="block-string"),
    pytest.param(second_block(["paragraph"]), ("body.1",), id="block-list"),
    pytest.param(second_block(None), ("body.1",), id="block-null"),
    pytest.param(second_block({"text": "no type"}), ("body.1.type",), id="block-without-type"),
    pytest.param(
        second_block({"type": "video", "url": "https://example.org/v"}),
        ("body.1.type",),
        id="unknown-block-type",
    ),
    pytest.param(second_block({"type": 1, "text": "x"}), ("body.1.type",), id="block-type-number"),
    pytest.param(
        second_block({"type": "paragraph", "text": "x", "colour": "red"}),
        ("body.1.colour",),
        id="unknown-field-in-block",
    ),
    pytest.param(second_block({"type": "paragraph"}), ("body.1.text",), id="paragraph-no-text"),
    pytest.param(paragraph(""), ("body.1.text",), id="paragraph-empty"),
    pytest.param(paragraph("x" * 20001), ("body.1.text",), id="paragraph-20001-chars"),
    pytest.param(paragraph("nul \u0000 byte"), ("body.1.text",), id="paragraph-nul"),
    pytest.param(paragraph("escape \u001b[31m"), ("body.1.text",), id="paragraph-escape"),
    pytest.param(paragraph(7), ("body.1.text",), id="paragraph-number"),
    pytest.param(
        second_block({"type": "heading", "text": "H", "level": "2"}),
        ("body.1.level",),
        id="heading-level-string",
    ),
    pytest.param(
        second_block({"type": "heading", "text": "H", "level": 1}),
        ("body.1.level",),
        id="heading-level-1",
    ),
    pytest.param(
        second_block({"type": "heading", "text": "H", "level": 5}),
        ("body.1.level",),
        id="heading-level-5",
    ),
    pytest.param(
        second_block({"type": "heading", "text": "H", "level": 2.5}),
        ("body.1.level",),
        id="heading-level-float",
    ),
    pytest.param(
        b'{"title": "A", "body": [{"type": "heading", "text": "x", "level": 1e400}]}',
        ("body.0.level",),
        id="heading-level-overflowing-float",
    ),
    pytest.param(
        second_block({"type": "heading", "text": "H"}), ("body.1.level",), id="heading-no-level"
    ),
    pytest.param(
        second_block({"type": "heading", "text": "Two\nlines", "level": 2}),
        ("body.1.text",),
        id="heading-newline",
    ),
    pytest.param(
        second_block({"type": "list", "items": ["a"], "ordered": "yes"}),
        ("body.1.ordered",),
        id="list-ordered-yes",
    ),
    pytest.param(
        second_block({"type": "list", "items": ["a"], "ordered": 1}),
        ("body.1.ordered",),
        id="list-ordered-1",
    ),
    pytest.param(
        second_block({"type": "list", "items": [], "ordered": False}),
        ("body.1.items",),
        id="list-no-items",
    ),
    pytest.param(
        second_block({"type": "list", "items": ["a", ""], "ordered": False}),
        ("body.1.items.1",),
        id="list-empty-item",
    ),
    pytest.param(
        second_block({"type": "list", "items": "a", "ordered": False}),
        ("body.1.items",),
        id="list-items-string",
    ),
    pytest.param(
        second_block({"type": "quote", "text": "Q", "cite": "x" * 301}),
        ("body.1.cite",),
        id="quote-cite-too-long",
    ),
    pytest.param(
        second_block({"type": "image", "src": "https://example.org/a.jpg"}),
        ("body.1.alt",),
        id="image-block-without-alt",
    ),
    pytest.param(
        second_block({"type": "image", "src": JS, "alt": "x"}),
        ("body.1.src",),
        id="image-block-javascript-src",
    ),
    pytest.param(
        second_block({"type": "embed", "url": JS}), ("body.1.url",), id="embed-javascript"
    ),
    pytest.param(
        second_block({"type": "embed", "url": "JavaScript:alert(1)"}),
        ("body.1.url",),
        id="embed-javascript-mixed-case",
    ),
    pytest.param(
        second_block({"type": "embed", "url": "ftp://example.org/file"}),
        ("body.1.url",),
        id="embed-ftp",
    ),
    pytest.param(
        second_block({"type": "embed", "url": "//example.org/x"}),
        ("body.1.url",),
        id="embed-scheme-relative",
    ),
    pytest.param(second_block({"type": "embed"}), ("body.1.url",), id="embed-without-url"),
    pytest.param(
        {
            "title": "",
            "body": [
                {"type": "paragraph", "text": "ok"},
                {"type": "paragraph", "text": ""},
                {"type": "heading", "text": "H", "level": 9},
            ],
        },
        ("title", "body.1.text", "body.2.level"),
        id="several-errors-all-named",
    ),
    # URLs elsewhere
    pytest.param(image_article(src=JS, alt="A"), ("image.src",), id="image-javascript-src"),
    pytest.param(
        image_article(src="data:image/png;base64,iVBORw0KGgo=", alt="A"),
        ("image.src",),
        id="image-data-src",
    ),
    pytest.param(
        image_article(src="ftp://example.org/a.jpg", alt="A"), ("image.src",), id="image-ftp-src"
    ),
    pytest.param(image_article(src="not a url", alt="A"), ("image.src",), id="image-src-garbage"),
    pytest.param(
        image_article(src="https://example.org/a.jpg"), ("image.alt",), id="image-without-alt"
    ),
    pytest.param(image_article(alt="A"), ("image.src",), id="image-without-src"),
    pytest.param(
        image_article(src="https://example.org/a.jpg", alt="A", width=300),
        ("image.width",),
        id="image-unknown-field",
    ),
    pytest.param(article(image="https://example.org/a.jpg"), ("image",), id="image-string"),
    pytest.param(
        article(authors=[{"name": "Ann", "url": JS}]), ("authors.0.url",), id="author-javascript"
    ),
    pytest.param(
        article(authors=[{"name": "Ann"}, {"url": "https://example.org"}]),
        ("authors.1.name",),
        id="author-without-name",
    ),
    pytest.param(article(authors="Ann"), ("authors",), id="authors-string"),
    pytest.param(
        article(source={"name": "Agency", "url": JS}), ("source.url",), id="source-javascript"
    ),
    pytest.param(
        article(source={"name": "Agency", "url": "data:text/html,<script>x</script>"}),
        ("source.url",),
        id="source-data",
    ),
    # slug
    pytest.param(article(slug="Council-Budget"), ("slug",), id="slug-uppercase"),
    pytest.param(article(slug="council budget"), ("slug",), id="slug-space"),
    pytest.param(article(slug="council--budget"), ("slug",), id="slug-double-dash"),
    pytest.param(article(slug="-council"), ("slug",), id="slug-leading-dash"),
    pytest.param(article(slug="council-"), ("slug",), id="slug-trailing-dash"),
    pytest.param(article(slug="a" * 121), ("slug",), id="slug-121-chars"),
    pytest.param(article(slug="../etc/passwd"), ("slug",), id="slug-path-traversal"),
    pytest.param(article(slug="a/b"), ("slug",), id="slug-slash"),
    pytest.param(article(slug="été"), ("slug",), id="slug-non-ascii"),
    pytest.param(article(slug="council\n"), ("slug",), id="slug-trailing-newline"),
    pytest.param(article(slug=""), ("slug",), id="slug-empty"),
    pytest.param(article(slug=12), ("slug",), id="slug-number"),
    # other fields
    pytest.param(article(section="World News"), ("section",), id="section-not-slug"),
    pytest.param(article(section="world\n"), ("section",), id="section-trailing-newline"),
    pytest.param(article(tags=[f"t{i}" for i in range(51)]), ("tags",), id="51-tags"),
    pytest.param(article(tags=["ok", "x" * 51]), ("tags.1",), id="tag-51-chars"),
    pytest.param(article(tags=["x" * 51]), ("tags.0",), id="first-tag-51-chars"),
    pytest.param(article(tags=[""]), ("tags.0",), id="tag-empty"),
    pytest.param(article(tags=[3]), ("tags.0",), id="tag-number"),
    pytest.param(article(tags="politics"), ("tags",), id="tags-string"),
    pytest.param(article(summary="x" * 601), ("summary",), id="summary-601-chars"),
    pytest.param(article(summary="bell \u0007"), ("summary",), id="summary-control-char"),
    pytest.param(article(publish_at="tomorrow"), ("publish_at",), id="publish-at-not-a-date"),
    pytest.param(
        article(publish_at="2030-01-01T10:00:00"), ("publish_at",), id="publish-at-no-timezone"
    ),
    pytest.param(article(publish_at=1893456000), ("publish_at",), id="publish-at-number"),
    pytest.param(article(language="english!"), ("language",), id="language-english!"),
    pytest.param(article(language=""), ("language",), id="language-empty"),
    pytest.param(article(language="en\n"), ("language",), id="language-trailing-newline"),
    pytest.param(article(colour="red"), ("colour",), id="unknown-top-level-field"),
    pytest.param(article(meta="not an object", extra=1), ("extra",), id="unknown-next-to-meta"),
]


@pytest.mark.parametrize(("payload", "fields"), INVALID_ARTICLES)
def test_create_invalid_article_is_422_naming_the_field(
    client: FlaskClient,
    editor_token: dict[str, str],
    git: Git,
    payload: Any,
    fields: tuple[str, ...] | None,
) -> None:
    before = repo_state(git)
    response = client.post(
        ARTICLES, data=encode(payload), content_type="application/json", headers=editor_token
    )
    body = assert_problem(response, 422, fields)
    assert body["title"] == "Unprocessable Content"
    assert repo_state(git) == before


def test_create_with_existing_slug_is_409_naming_slug(
    client: FlaskClient, editor_token: dict[str, str], git: Git, created: dict[str, Any]
) -> None:
    before = repo_state(git)
    response = client.post(
        ARTICLES,
        json=article("Another title", slug=created["slug"]),
        headers=editor_token,
    )
    assert_problem(response, 409, ("slug",))
    assert repo_state(git) == before


# -- PUT / PATCH / DELETE on an existing article -----------------------------------------------

PRECONDITIONS = [
    pytest.param(None, 428, id="no-if-match"),
    pytest.param(STALE, 412, id="stale"),
    pytest.param("weak", 412, id="weak"),
    pytest.param("garbage", 412, id="unquoted-garbage"),
    pytest.param('""', 412, id="empty-etag"),
]
WRITES = [
    pytest.param("PUT", id="put"),
    pytest.param("PATCH", id="patch"),
    pytest.param("DELETE", id="delete"),
]


def write(client: FlaskClient, method: str, slug: str, headers: dict[str, str]) -> TestResponse:
    """A valid PUT, PATCH or DELETE of `slug` with `headers`."""
    url = f"{ARTICLES}/{slug}"
    if method == "PUT":
        return client.put(url, json=article("A new title"), headers=headers)
    if method == "PATCH":
        return client.patch(url, json={"title": "A new title"}, headers=headers)
    return client.delete(url, headers=headers)


@pytest.mark.parametrize("method", WRITES)
@pytest.mark.parametrize(("if_match", "status"), PRECONDITIONS)
def test_write_without_a_matching_etag_is_refused(
    client: FlaskClient,
    editor_token: dict[str, str],
    git: Git,
    created: dict[str, Any],
    method: str,
    if_match: str | None,
    status: int,
) -> None:
    before = repo_state(git)
    headers = dict(editor_token)
    if if_match == "weak":
        headers["If-Match"] = f"W/{created['etag']}"
    elif if_match is not None:
        headers["If-Match"] = if_match
    response = write(client, method, created["slug"], headers)
    assert_problem(response, status)
    assert repo_state(git) == before
    current = client.get(f"{ARTICLES}/{created['slug']}", headers=editor_token)
    assert current.status_code == 200
    assert current.headers["ETag"] == created["etag"]


INVALID_EDITS = [
    pytest.param("PUT", {"title": "", "body": article()["body"]}, ("title",), id="put-empty-title"),
    pytest.param("PUT", without("body"), ("body",), id="put-missing-body"),
    pytest.param("PUT", article(colour="red"), ("colour",), id="put-unknown-field"),
    pytest.param("PUT", article(slug="another-slug"), ("slug",), id="put-changes-slug"),
    pytest.param("PUT", article(slug="Not A Slug"), ("slug",), id="put-invalid-slug"),
    pytest.param("PUT", b"[]", None, id="put-array"),
    pytest.param("PATCH", {"slug": "another-slug"}, ("slug",), id="patch-changes-slug"),
    pytest.param("PATCH", {"title": None}, ("title",), id="patch-removes-title"),
    pytest.param("PATCH", {"body": None}, ("body",), id="patch-removes-body"),
    pytest.param("PATCH", {"body": []}, ("body",), id="patch-empty-body"),
    pytest.param(
        "PATCH",
        {"body": [{"type": "heading", "text": "H", "level": 9}]},
        ("body.0.level",),
        id="patch-heading-level-9",
    ),
    pytest.param(
        "PATCH", {"image": {"src": JS, "alt": "A"}}, ("image.src",), id="patch-javascript-image"
    ),
    pytest.param("PATCH", {"tags": ["x" * 51]}, ("tags.0",), id="patch-long-tag"),
    pytest.param("PATCH", {"colour": "red"}, ("colour",), id="patch-unknown-field"),
    pytest.param("PATCH", {"title": "Bell \u0007"}, ("title",), id="patch-control-char"),
    pytest.param("PATCH", b"null", None, id="patch-null"),
    pytest.param("PATCH", b"[1]", None, id="patch-array"),
]


INVALID_EDITS_BY_TYPE = [
    pytest.param(*case.values, content_type, id=f"{case.id}-{content_type.split('/')[1]}")
    for case in INVALID_EDITS
    for content_type in (
        ["application/json", "application/merge-patch+json"]
        if case.values[0] == "PATCH"
        else ["application/json"]
    )
]


@pytest.mark.parametrize(("method", "payload", "fields", "content_type"), INVALID_EDITS_BY_TYPE)
def test_invalid_edit_with_correct_etag_is_422_and_commits_nothing(
    client: FlaskClient,
    editor_token: dict[str, str],
    git: Git,
    created: dict[str, Any],
    method: str,
    payload: Any,
    fields: tuple[str, ...] | None,
    content_type: str,
) -> None:
    before = repo_state(git)
    response = client.open(
        f"{ARTICLES}/{created['slug']}",
        method=method,
        data=encode(payload),
        content_type=content_type,
        headers={**editor_token, "If-Match": created["etag"]},
    )
    assert_problem(response, 422, fields)
    assert repo_state(git) == before


@pytest.mark.parametrize(
    ("method", "content_type", "raw", "status"),
    [
        pytest.param("PUT", "text/plain", VALID_JSON, 415, id="put-text-plain"),
        pytest.param("PUT", "application/merge-patch+json", VALID_JSON, 415, id="put-merge-patch"),
        pytest.param("PUT", None, VALID_JSON, 415, id="put-no-content-type"),
        pytest.param("PATCH", "text/plain", b'{"title": "New"}', 415, id="patch-text-plain"),
        pytest.param(
            "PATCH",
            "application/json-patch+json",
            b'[{"op": "replace", "path": "/title", "value": "New"}]',
            415,
            id="patch-json-patch",
        ),
        pytest.param("PATCH", None, b'{"title": "New"}', 415, id="patch-no-content-type"),
        pytest.param("PUT", "application/json", b"{bad", 400, id="put-broken-json"),
        pytest.param(
            "PATCH",
            "application/merge-patch+json",
            b'{"title": "A",}',
            400,
            id="patch-trailing-comma",
        ),
        pytest.param("PATCH", "application/json", b"", 400, id="patch-empty"),
        pytest.param(
            "PATCH",
            "application/json",
            b'{"title": "A", "title": "B"}',
            400,
            id="patch-duplicate-keys",
        ),
        pytest.param("PATCH", "application/json", b'{"title": NaN}', 400, id="patch-nan"),
        pytest.param("PATCH", "application/json", b"[" * 100_000, 400, id="patch-deep"),
        pytest.param(
            "PUT",
            "application/json",
            encode(article(summary="x" * (1024 * 1024))),
            413,
            id="put-over-1mib",
        ),
        pytest.param(
            "PATCH",
            "application/json",
            encode({"summary": "x" * (1024 * 1024)}),
            413,
            id="patch-over-1mib",
        ),
    ],
)
def test_edit_with_unreadable_body_is_refused(
    client: FlaskClient,
    editor_token: dict[str, str],
    git: Git,
    created: dict[str, Any],
    method: str,
    content_type: str | None,
    raw: bytes,
    status: int,
) -> None:
    before = repo_state(git)
    headers = {**editor_token, "If-Match": created["etag"]}
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = client.open(
        f"{ARTICLES}/{created['slug']}", method=method, data=raw, headers=headers
    )
    assert_problem(response, status)
    assert repo_state(git) == before


# -- odd slugs in paths -------------------------------------------------------------------------

ODD_SLUGS = [
    pytest.param("Bad%20Slug", id="space"),
    pytest.param("UPPER", id="upper"),
    pytest.param("a--b", id="double-dash"),
    pytest.param("-a", id="leading-dash"),
    pytest.param("%2e%2e", id="dot-dot"),
    pytest.param("a" * 200, id="200-chars"),
    pytest.param("a" * 121, id="121-chars"),
    pytest.param("%C3%A9t%C3%A9", id="non-ascii"),
    pytest.param("abc%0A", id="trailing-newline"),
    pytest.param("abc%00", id="nul"),
    pytest.param("a%2Fb", id="encoded-slash"),
    pytest.param("no-such-article", id="valid-but-unknown"),
]
SLUG_CALLS = [
    pytest.param("GET", "", None, id="show"),
    pytest.param("PUT", "", article(), id="put"),
    pytest.param("PATCH", "", {"title": "New"}, id="patch"),
    pytest.param("DELETE", "", None, id="delete"),
    pytest.param("GET", "/revisions", None, id="revisions"),
    pytest.param("GET", f"/revisions/{ZEROS}", None, id="revision"),
    pytest.param("GET", f"/diff?from={ZEROS}", None, id="diff"),
    pytest.param("POST", "/restore", {"revision": ZEROS}, id="restore"),
]


@pytest.mark.parametrize(("method", "suffix", "payload"), SLUG_CALLS)
@pytest.mark.parametrize("slug", ODD_SLUGS)
def test_odd_slug_in_path_is_404(
    client: FlaskClient,
    editor_token: dict[str, str],
    git: Git,
    created: dict[str, Any],
    slug: str,
    method: str,
    suffix: str,
    payload: Any,
) -> None:
    before = repo_state(git)
    kwargs: dict[str, Any] = {"headers": {**editor_token, "If-Match": "*"}}
    if payload is not None:
        kwargs["json"] = payload
    response = client.open(f"{ARTICLES}/{slug}{suffix}", method=method, **kwargs)
    assert_problem(response, 404)
    assert repo_state(git) == before


# -- revisions, diff and restore arguments ------------------------------------------------------

BAD_REVISIONS = [
    pytest.param("--output=x", id="option"),
    pytest.param("HEAD~1", id="head-parent"),
    pytest.param("HEAD", id="head"),
    pytest.param("main", id="branch"),
    pytest.param("abc", id="too-short"),
    pytest.param("abcdef", id="six-hex"),
    pytest.param(ZEROS, id="40-zeros"),
    pytest.param("0000000", id="7-zeros"),
    pytest.param("f" * 41, id="41-hex"),
    pytest.param("ABCDEF0", id="upper-hex"),
    pytest.param("abcdef0%0A", id="trailing-newline"),
    pytest.param("%00", id="nul"),
]


@pytest.mark.parametrize("revision", BAD_REVISIONS)
def test_unknown_revision_is_404(
    client: FlaskClient,
    editor_token: dict[str, str],
    git: Git,
    created: dict[str, Any],
    revision: str,
) -> None:
    before = repo_state(git)
    response = client.get(
        f"{ARTICLES}/{created['slug']}/revisions/{revision}", headers=editor_token
    )
    assert_problem(response, 404)
    assert repo_state(git) == before


@pytest.mark.parametrize("revision", BAD_REVISIONS)
@pytest.mark.parametrize("argument", ["from", "to"])
def test_diff_with_unknown_revision_is_404(
    client: FlaskClient,
    editor_token: dict[str, str],
    git: Git,
    created: dict[str, Any],
    argument: str,
    revision: str,
) -> None:
    before = repo_state(git)
    first = created["meta"]["revision"]
    query = f"from={revision}" if argument == "from" else f"from={first}&to={revision}"
    response = client.get(f"{ARTICLES}/{created['slug']}/diff?{query}", headers=editor_token)
    assert_problem(response, 404)
    assert repo_state(git) == before


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("", id="no-query"),
        pytest.param("?to=HEAD", id="only-to"),
        pytest.param("?From=abcdef0", id="wrong-case"),
    ],
)
def test_diff_without_from_is_400_naming_from(
    client: FlaskClient, editor_token: dict[str, str], created: dict[str, Any], query: str
) -> None:
    response = client.get(f"{ARTICLES}/{created['slug']}/diff{query}", headers=editor_token)
    assert_problem(response, 400, ("from",))


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        pytest.param({"revision": "HEAD~1"}, ("revision",), id="head-parent"),
        pytest.param({"revision": "--output=x"}, ("revision",), id="option"),
        pytest.param({"revision": "HEAD"}, ("revision",), id="head"),
        pytest.param({"revision": "abc"}, ("revision",), id="too-short"),
        pytest.param({"revision": ""}, ("revision",), id="empty"),
        pytest.param({"revision": 1234567}, ("revision",), id="number"),
        pytest.param({"revision": None}, ("revision",), id="null"),
        pytest.param({}, ("revision",), id="missing"),
        pytest.param("first+force", ("force",), id="unknown-field"),
    ],
)
def test_restore_with_bad_revision_argument_is_422(
    client: FlaskClient,
    editor_token: dict[str, str],
    git: Git,
    created: dict[str, Any],
    payload: Any,
    fields: tuple[str, ...],
) -> None:
    if payload == "first+force":
        payload = {"revision": created["meta"]["revision"], "force": True}
    before = repo_state(git)
    response = client.post(
        f"{ARTICLES}/{created['slug']}/restore",
        json=payload,
        headers={**editor_token, "If-Match": created["etag"]},
    )
    assert_problem(response, 422, fields)
    assert repo_state(git) == before


@pytest.mark.parametrize(
    ("content_type", "raw", "if_match", "status"),
    [
        pytest.param("application/json", b"first", None, 428, id="no-if-match"),
        pytest.param("application/json", b"first", STALE, 412, id="stale-if-match"),
        pytest.param("application/json", b"first", "weak", 412, id="weak-if-match"),
        pytest.param(
            "application/json",
            f'{{"revision": "{ZEROS}"}}'.encode(),
            "etag",
            404,
            id="unknown-revision",
        ),
        pytest.param("text/plain", b"first", "etag", 415, id="text-plain"),
        pytest.param("application/json", b"{bad", "etag", 400, id="broken-json"),
        pytest.param(
            "application/json",
            b'{"revision": "a", "revision": "b"}',
            "etag",
            400,
            id="duplicate-keys",
        ),
        pytest.param("application/json", b"[]", "etag", 422, id="array"),
    ],
)
def test_restore_refusals(
    client: FlaskClient,
    editor_token: dict[str, str],
    git: Git,
    created: dict[str, Any],
    content_type: str,
    raw: bytes,
    if_match: str | None,
    status: int,
) -> None:
    if raw == b"first":
        raw = json.dumps({"revision": created["meta"]["revision"]}).encode()
    headers = {**editor_token, "Content-Type": content_type}
    if if_match == "etag":
        headers["If-Match"] = created["etag"]
    elif if_match == "weak":
        headers["If-Match"] = f"W/{created['etag']}"
    elif if_match is not None:
        headers["If-Match"] = if_match
    before = repo_state(git)
    response = client.post(f"{ARTICLES}/{created['slug']}/restore", data=raw, headers=headers)
    assert_problem(response, status)
    assert repo_state(git) == before


# -- list parameters -----------------------------------------------------------------------------

LIST_PARAMS = [
    pytest.param("page=0", ("page",), id="page-0"),
    pytest.param("page=-1", ("page",), id="page-negative"),
    pytest.param("page=abc", ("page",), id="page-abc"),
    pytest.param("page=1.5", ("page",), id="page-fraction"),
    pytest.param("page=", ("page",), id="page-empty"),
    pytest.param("per_page=0", ("per_page",), id="per-page-0"),
    pytest.param("per_page=101", ("per_page",), id="per-page-101"),
    pytest.param("per_page=-5", ("per_page",), id="per-page-negative"),
    pytest.param("per_page=ten", ("per_page",), id="per-page-word"),
    pytest.param("page=0&per_page=101", ("page", "per_page"), id="both-out-of-range"),
    pytest.param("state=bogus", ("state",), id="state-bogus"),
    pytest.param("state=DRAFT", ("state",), id="state-uppercase"),
]


@pytest.mark.parametrize(("query", "fields"), LIST_PARAMS)
def test_list_with_bad_parameter_is_400_naming_it(
    client: FlaskClient, editor_token: dict[str, str], query: str, fields: tuple[str, ...]
) -> None:
    response = client.get(f"{ARTICLES}?{query}", headers=editor_token)
    assert_problem(response, 400, fields)


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("page=0", id="page-0"),
        pytest.param("per_page=101", id="per-page-101"),
        pytest.param("page=abc", id="page-abc"),
    ],
)
def test_revision_list_with_bad_parameter_is_400(
    client: FlaskClient, editor_token: dict[str, str], created: dict[str, Any], query: str
) -> None:
    response = client.get(f"{ARTICLES}/{created['slug']}/revisions?{query}", headers=editor_token)
    assert_problem(response, 400, (query.split("=")[0],))


def test_list_with_a_huge_page_number_is_not_a_server_error(
    client: FlaskClient, editor_token: dict[str, str], created: dict[str, Any]
) -> None:
    response = client.get(f"{ARTICLES}?page=99999999999999999999", headers=editor_token)
    if response.status_code == 200:
        assert response.get_json()["items"] == []
    else:
        assert_problem(response, 400, ("page",))


# -- authentication and roles ------------------------------------------------------------------

LETTERS43 = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"
BAD_AUTH = [
    pytest.param(None, id="missing"),
    pytest.param("Bearer nonsense", id="bearer-nonsense"),
    pytest.param("Bearer ", id="bearer-empty"),
    pytest.param("Bearer", id="bearer-alone"),
    pytest.param("Basic xyz", id="basic"),
    pytest.param("Basic ZXZlOnNlY3JldA==", id="basic-credentials"),
    pytest.param("Token abc", id="other-scheme"),
    pytest.param(f"Bearer cms_deadbeef_{LETTERS43}", id="token-shaped-unknown"),
    pytest.param(f"cms_deadbeef_{LETTERS43}", id="token-without-scheme"),
    pytest.param("Bearer cms_deadbeef_x\u00e9y" + "z" * 30, id="non-ascii-token"),
]
AUTH_CALLS = [
    pytest.param("GET", ARTICLES, None, id="list"),
    pytest.param("POST", ARTICLES, article(), id="create"),
    pytest.param("GET", f"{ARTICLES}/council-approves-budget", None, id="show"),
    pytest.param("PATCH", f"{ARTICLES}/council-approves-budget", {"title": "X"}, id="patch"),
    pytest.param("DELETE", f"{ARTICLES}/council-approves-budget", None, id="delete"),
    pytest.param("GET", f"{ARTICLES}/council-approves-budget/revisions", None, id="revisions"),
]


def assert_unauthorized(response: TestResponse) -> None:
    assert_problem(response, 401)
    assert response.headers.get("WWW-Authenticate", "").startswith("Bearer")


@pytest.mark.parametrize(("method", "url", "payload"), AUTH_CALLS)
@pytest.mark.parametrize("authorization", BAD_AUTH)
def test_without_a_valid_token_is_401(
    client: FlaskClient,
    git: Git,
    created: dict[str, Any],
    authorization: str | None,
    method: str,
    url: str,
    payload: Any,
) -> None:
    assert created["slug"] == "council-approves-budget"
    before = repo_state(git)
    headers = {"If-Match": created["etag"]}
    if authorization is not None:
        headers["Authorization"] = authorization
    kwargs: dict[str, Any] = {"headers": headers}
    if payload is not None:
        kwargs["json"] = payload
    assert_unauthorized(client.open(url, method=method, **kwargs))
    assert repo_state(git) == before


def test_revoked_token_is_401(
    client: FlaskClient, repo: Path, git: Git, created: dict[str, Any]
) -> None:
    tokens = TokenStore(str(repo))
    record, secret = tokens.create("Rita Revoked", "rita@example.org", "editor")
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get(ARTICLES, headers=headers).status_code == 200
    tokens.revoke(record.id)
    before = repo_state(git)
    assert_unauthorized(client.get(ARTICLES, headers=headers))
    assert_unauthorized(client.post(ARTICLES, json=article("Late"), headers=headers))
    assert_unauthorized(
        client.delete(
            f"{ARTICLES}/{created['slug']}", headers={**headers, "If-Match": created["etag"]}
        )
    )
    assert repo_state(git) == before


def test_token_with_a_known_id_but_wrong_secret_is_401(
    client: FlaskClient, repo: Path, git: Git
) -> None:
    _, secret = TokenStore(str(repo)).create("Sam Secret", "sam@example.org", "admin")
    forged = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    before = repo_state(git)
    assert_unauthorized(
        client.post(ARTICLES, json=article(), headers={"Authorization": f"Bearer {forged}"})
    )
    assert repo_state(git) == before


def test_author_cannot_delete(
    client: FlaskClient, author_token: dict[str, str], git: Git, created: dict[str, Any]
) -> None:
    before = repo_state(git)
    response = client.delete(
        f"{ARTICLES}/{created['slug']}", headers={**author_token, "If-Match": created["etag"]}
    )
    assert_problem(response, 403)
    assert repo_state(git) == before


def test_author_cannot_restore(
    client: FlaskClient, author_token: dict[str, str], git: Git, created: dict[str, Any]
) -> None:
    before = repo_state(git)
    response = client.post(
        f"{ARTICLES}/{created['slug']}/restore",
        json={"revision": created["meta"]["revision"]},
        headers={**author_token, "If-Match": created["etag"]},
    )
    assert_problem(response, 403)
    assert repo_state(git) == before


# An author sending publish_at by any route: 403 naming the field, nothing committed.
AUTHOR_SCHEDULES = [
    pytest.param(
        "POST", "", article("Another story", publish_at="2020-01-01T00:00:00Z"), id="create-past"
    ),
    pytest.param(
        "POST", "", article("Another story", publish_at="2099-01-01T00:00:00Z"), id="create-future"
    ),
    pytest.param("PATCH", "/{slug}", {"publish_at": "2020-01-01T00:00:00Z"}, id="patch-past"),
    pytest.param(
        "PATCH", "/{slug}", {"publish_at": "2099-01-01T00:00:00+02:00"}, id="patch-future"
    ),
    pytest.param("PUT", "/{slug}", article(publish_at="2020-01-01T00:00:00Z"), id="put-past"),
]


@pytest.mark.parametrize(("method", "suffix", "payload"), AUTHOR_SCHEDULES)
def test_author_cannot_set_publish_at(
    client: FlaskClient,
    author_token: dict[str, str],
    git: Git,
    created: dict[str, Any],
    method: str,
    suffix: str,
    payload: Any,
) -> None:
    before = repo_state(git)
    response = client.open(
        f"{ARTICLES}{suffix.format(slug=created['slug'])}",
        method=method,
        json=payload,
        headers={**author_token, "If-Match": "*"},
    )
    assert_problem(response, 403, ("publish_at",))
    assert repo_state(git) == before


def test_author_cannot_remove_a_schedule(
    client: FlaskClient,
    author_token: dict[str, str],
    editor_token: dict[str, str],
    git: Git,
) -> None:
    # an article of its own: the module's shared `created` must stay as it was
    made = client.post(ARTICLES, json=article("Scheduled story"), headers=editor_token)
    assert made.status_code == 201
    slug = made.get_json()["slug"]
    client.post(
        f"{ARTICLES}/{slug}/publish",
        json={"publish_at": "2099-01-01T00:00:00Z"},
        headers=editor_token,
    )
    before = repo_state(git)
    star = {**author_token, "If-Match": "*"}
    assert_problem(
        client.patch(f"{ARTICLES}/{slug}", json={"publish_at": None}, headers=star),
        403,
        ("publish_at",),
    )
    assert_problem(
        client.put(f"{ARTICLES}/{slug}", json=article(), headers=star), 403, ("publish_at",)
    )
    assert repo_state(git) == before


def test_token_whose_identity_would_break_a_commit_is_refused(
    client: FlaskClient,
    repo: Path,
    git: Git,
) -> None:
    """A token stored by an older version, with a newline ending its email."""
    _, secret = TokenStore(str(repo)).create("Mal", "mal@example.org", "editor")
    path = repo / "cms" / "tokens.json"
    records = json.loads(path.read_text())
    [mal] = [r for r in records if r["name"] == "Mal"]
    mal["email"] = "mal@example.org\nparent 0000000000000000000000000000000000000000"
    path.write_text(json.dumps(records))
    before = repo_state(git)
    response = client.post(ARTICLES, json=article(), headers={"Authorization": f"Bearer {secret}"})
    assert_problem(response, 403, ("token.email",))
    assert repo_state(git) == before


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Bearer " + "a" * 20_000, id="bearer-20kb"),
        pytest.param("Bearer cms_deadbeef_" + "a" * 20_000, id="token-shaped-20kb"),
        pytest.param("x" * 20_000, id="no-scheme-20kb"),
    ],
)
def test_oversize_authorization_header_is_4xx(
    client: FlaskClient, git: Git, authorization: str
) -> None:
    before = repo_state(git)
    response = client.post(ARTICLES, json=article(), headers={"Authorization": authorization})
    status = response.status_code
    assert status in (400, 401, 431), response.get_data(as_text=True)
    assert_problem(response, status)
    assert repo_state(git) == before


# -- afterwards, the repository is sound --------------------------------------------------------


def test_repository_passes_fsck_after_bad_input(
    client: FlaskClient, editor_token: dict[str, str], git: Git, created: dict[str, Any]
) -> None:
    before = repo_state(git)
    for case in INVALID_ARTICLES:
        client.post(
            ARTICLES,
            data=encode(case.values[0]),
            content_type="application/json",
            headers=editor_token,
        )
    for case in BROKEN_JSON:
        client.post(
            ARTICLES, data=case.values[0], content_type="application/json", headers=editor_token
        )
    url = f"{ARTICLES}/{created['slug']}"
    with_etag = {**editor_token, "If-Match": created["etag"]}
    for case in INVALID_EDITS:
        method, payload = case.values[0], case.values[1]
        client.open(
            url,
            method=method,
            data=encode(payload),
            content_type="application/json",
            headers=with_etag,
        )
    client.put(url, json=article("Other"), headers={**editor_token, "If-Match": STALE})
    client.delete(url, headers=editor_token)
    client.post(f"{url}/restore", json={"revision": "--output=x"}, headers=with_etag)
    git("fsck")
    assert repo_state(git) == before
    current = client.get(url, headers=editor_token)
    assert current.status_code == 200
    assert current.headers["ETag"] == created["etag"]
