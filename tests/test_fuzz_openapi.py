"""Fuzz the API from its own OpenAPI document.

Schemathesis reads `/api/v1/openapi.json` from the WSGI app (no server needed), generates valid
and invalid requests for every documented operation (its examples, coverage and fuzzing phases,
positive and negative data), sends them with an admin token so the management routes are
exercised too, and checks every response: never a 5xx; a status code, content type and body
that the operation's OpenAPI entry documents; every error as problem+json; no stack trace or
server path. Path parameters are steered half the time to real slugs (a live article, a live
one with newer draft edits, a draft, a deleted one) and real revisions (full, 7- and
12-character prefixes), so the fuzzing reaches past the 404s.

The generation is seeded and derandomized, so a CI run repeats the same requests. The fuzzing
phase tries a short run of cases per operation in `make test` and 40 with `CMS_SOAK=1` (the
examples and coverage phases run whole either way).
"""

from __future__ import annotations

import atexit
import collections
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
import schemathesis
from conftest import article
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cms.auth.tokens import TokenStore
from cms.content.identity import Person
from cms.store import ArticleStore
from cms.web import create_app
from harness.soak_scale import examples

MAX_EXAMPLES = examples(40, 10)
SEED = 20240601
PROBLEM = "application/problem+json"
LEAKS = ("Traceback", "site-packages", 'File "', "/work/")
EDITOR = Person("Eve Editor", "eve@example.org")

# Filled in by `_build()`: the real values path parameters are steered to.
SLUGS: list[str] = []
REVISIONS: list[str] = []
# Requests sent, by generation mode.
SENT: collections.Counter[str] = collections.Counter()


# -- the app under test ------------------------------------------------------------------------


def _seed(store: ArticleStore) -> None:
    """A live article, a live one with newer draft edits, a draft of every block type, and a
    deleted one, with their revisions."""
    live = store.create(article("Harbour reopens after storm", tags=["Port", "port"]), EDITOR)
    store.publish(live.slug, EDITOR)
    changed = store.create(
        article("Council approves budget", section="politics", summary="In short."), EDITOR
    )
    store.publish(changed.slug, EDITOR)
    edited = store.patch(
        changed.slug, {"title": "Council approves a smaller budget"}, EDITOR, {changed.etag}
    )
    draft = store.create(
        article(
            "Rail strike called off",
            body=[
                {"type": "heading", "text": "Talks", "level": 2},
                {"type": "quote", "text": "We have a deal.", "cite": "Union"},
                {"type": "list", "items": ["one", "two"], "ordered": True},
                {"type": "image", "src": "https://example.org/a.jpg", "alt": "Trains"},
                {"type": "embed", "url": "https://example.org/video"},
            ],
        ),
        EDITOR,
    )
    gone = store.create(article("Withdrawn story"), EDITOR)
    store.publish(gone.slug, EDITOR)
    store.delete(gone.slug, EDITOR, {gone.etag})
    SLUGS[:] = [live.slug, changed.slug, draft.slug, gone.slug]
    revisions = {
        live.meta["revision"],
        changed.meta["revision"],
        edited.meta["revision"],
        draft.meta["revision"],
        gone.meta["revision"],
    }
    revisions.update(sha for sha in store.catch_up().values() if sha)
    REVISIONS[:] = sorted(revisions)


def _build() -> tuple[str, Flask, dict[str, str]]:
    """The repository path, the app over it (seeded), and an admin token's headers.

    Built at import rather than in a fixture: schemathesis' `pytest.from_fixture` fails under
    pytest >= 9.2 (it sets `Function._nodeid`, which pytest no longer has). The temporary
    folder goes at exit.
    """
    folder = tempfile.mkdtemp(prefix="cms-fuzz-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    repo = str(Path(folder) / "content-repo")
    _seed(ArticleStore.init(repo))
    _, secret = TokenStore(repo).create("Ada Admin", "ada@example.org", "admin")
    # the limit on failed tokens stays on, so the headers it adds are checked too, but so high
    # that the fuzzer's bad tokens never turn into 429s
    app = create_app({"REPO": repo, "TESTING": True, "AUTH_FAILURE_LIMIT": "1000000 per minute"})
    app.wsgi_app = _closing(app.wsgi_app)  # type: ignore[method-assign]
    return repo, app, {"Authorization": f"Bearer {secret}"}


def _closing(wsgi_app: Any) -> Any:
    """Read each answer whole and close it, as a WSGI server does. Schemathesis' WSGI transport
    does not close what the app returns, so a file the app sends (Decap's bundle under
    /admin/) would stay open until garbage collection, a ResourceWarning (an error here)."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        result = wsgi_app(environ, start_response)
        try:
            return [b"".join(result)]
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

    return app


REPO, APP, AUTH = _build()
schema = schemathesis.openapi.from_wsgi(
    "/api/v1/openapi.json",
    APP,
    config=schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
        }
    ),
)


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
    """Half the time, a real slug (and a real revision, or a prefix of one)."""
    names = set(re.findall(r"{(\w+)}", context.operation.path)) if context.operation else set()
    real: dict[str, Any] = {}
    if "slug" in names:
        real["slug"] = st.sampled_from(SLUGS)
    if "revision" in names:
        real["revision"] = st.sampled_from(REVISIONS).flatmap(
            lambda sha: st.sampled_from([sha, sha[:7], sha[:12]])
        )
    if not real:
        return st.just(path_parameters)
    return st.one_of(st.just(path_parameters), st.fixed_dictionaries(real))


@schema.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    mode = case.meta.generation.mode.value if case.meta is not None else "explicit"
    SENT[mode] += 1


# -- checks beyond schemathesis' own -----------------------------------------------------------


def documented_status(ctx: Any, response: Any, case: Any) -> None:
    """The status is one the operation lists explicitly.

    Stricter than `status_code_conformance`, which every operation here passes trivially,
    because flask-smorest adds a `default` response to each. The coverage phase also probes
    methods an endpoint does not have: those must get 405 (200 for a CORS preflight).
    """
    if case.method.upper() != case.operation.method.upper():
        expected = (200, 405) if case.method.upper() == "OPTIONS" else (405,)
        assert response.status_code in expected, (
            f"{case.method} {case.operation.path} answered {response.status_code}"
        )
        return
    listed = {code for code in case.operation.responses.status_codes if code != "default"}
    assert str(response.status_code) in listed, (
        f"{case.operation.label} answered {response.status_code}, which its OpenAPI entry does "
        f"not list (it lists {', '.join(sorted(listed))}): {response.text[:300]}"
    )


def problem_json(ctx: Any, response: Any, case: Any) -> None:
    """Every error is an RFC 9457 problem document with its own status."""
    if response.status_code < 400:
        return
    content_type = (response.headers.get("content-type") or [""])[0]
    assert content_type.split(";")[0].strip() == PROBLEM, (
        f"{response.status_code} as {content_type!r}: {response.text[:300]}"
    )
    body = response.json()
    assert body["status"] == response.status_code, response.text[:300]
    assert body["title"] and body["detail"], response.text[:300]


def no_leak(ctx: Any, response: Any, case: Any) -> None:
    """No stack trace, source location or server path in any answer."""
    text = response.text or ""
    for leak in (*LEAKS, REPO):
        assert leak not in text, f"{leak!r} in a {response.status_code}: {text[:300]}"


def retry_after_only_when_refused(ctx: Any, response: Any, case: Any) -> None:
    """`Retry-After` says how long to wait, so it is on 429 and 503 answers only."""
    if response.status_code not in (429, 503):
        assert "retry-after" not in {k.lower() for k in response.headers}, (
            f"Retry-After on a {response.status_code} of {case.operation.label}"
        )


CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    documented_status,
    problem_json,
    no_leak,
    retry_after_only_when_refused,
]


@pytest.fixture(scope="module", autouse=True)
def _report_count() -> Iterator[None]:
    yield
    detail = ", ".join(f"{n} {mode}" for mode, n in sorted(SENT.items()))
    print(f"\nschemathesis: {sum(SENT.values())} generated requests sent ({detail})")


# -- the fuzzing -------------------------------------------------------------------------------


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_openapi_document(case: Any) -> None:
    case.call_and_validate(headers=AUTH, checks=CHECKS)


def test_repository_is_sound_after_fuzzing() -> None:
    """Whatever the fuzzing wrote went through the store: `git fsck` and `cms check` are clean,
    and the API still answers."""
    fsck = subprocess.run(
        ["git", "--git-dir", REPO, "fsck", "--no-progress"], capture_output=True, text=True
    )
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    client = APP.test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/manage/articles", headers=AUTH).status_code == 200


# -- the document itself: what the contract says each operation can answer ------------------


def _operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    document = APP.test_client().get("/api/v1/openapi.json").get_json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield method.upper(), path, operation


def test_every_json_body_operation_documents_400_413_415() -> None:
    """api-v1.md: a body that is not JSON gets 415, over 1 MiB 413, broken JSON 400. An
    operation that reads a JSON body can give all three, so its entry must list them."""
    missing = []
    for method, path, operation in _operations():
        if "requestBody" not in operation:
            continue
        gaps = {"400", "413", "415"} - set(operation["responses"])
        if gaps:
            missing.append(f"{method} {path}: {', '.join(sorted(gaps))}")
    assert not missing, "undocumented statuses:\n" + "\n".join(missing)


def test_publish_documents_its_body_as_optional() -> None:
    """api-v1.md: `POST .../publish` takes an optional body, and a bare POST publishes the
    draft; the document must not tell clients the body is required."""
    publish = next(
        op
        for method, path, op in _operations()
        if method == "POST" and path.endswith("/{slug}/publish")
    )
    assert publish["requestBody"].get("required", False) is False, publish["requestBody"]
    # a draft of its own: the fuzzing above may have deleted or published the seeded ones
    client = APP.test_client()
    created = client.post(
        "/api/v1/manage/articles", headers=AUTH, json=article("Ferry timetable changes")
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    slug = created.get_json()["slug"]
    response = client.post(f"/api/v1/manage/articles/{slug}/publish", headers=AUTH)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert client.get(f"/api/v1/articles/{slug}").status_code == 200
    # as a generated client sends "no options": labelled JSON, and empty
    again = client.post(
        "/api/v1/manage/articles", headers=AUTH, json=article("Ferry timetable changes again")
    )
    response = client.post(
        f"/api/v1/manage/articles/{again.get_json()['slug']}/publish",
        data=b"",
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)


def test_every_operation_has_an_id_and_every_reference_a_plain_name() -> None:
    """Generated clients name functions after operationIds and models after schemas: every
    operation has a unique id, and no nullable reference is an `anyOf` with an anonymous
    object (generators turned that into names like `PublicArticleNextType0Type0`)."""
    ids = [op.get("operationId") for _, _, op in _operations()]
    assert None not in ids and len(ids) == len(set(ids)), ids
    text = APP.test_client().get("/api/v1/openapi.json").get_data(as_text=True)
    assert '"anyOf"' not in text
