"""Nobody gets in without a token, a revoked token stops working everywhere at once, guessing
is throttled, and every response carries the standard security headers."""

from __future__ import annotations

import subprocess

import pytest
import requests
from conftest import article, cms_command

from cms.web import create_app, services

# Every route a client may call without a token. A new route is private unless listed here.
PUBLIC = {
    "/healthz",
    "/api/v1/openapi.json",
    "/api/v1/articles",
    "/api/v1/articles/<slug>",
    "/api/v1/articles/<slug>/history",
    "/api/v1/articles/<slug>/history/<revision>",
    "/api/v1/sync",
    "/feed.xml",
    "/feed.json",
    "/sitemap.xml",
    "/sitemap-<int:number>.xml",
    "/media/<path:rest>",
}
# Open by design: signing in and out, the workbench's pages (a sign-in page without a session;
# they hold no content: that comes through /api/v1/decap and the management API), a signed
# preview link and the images its draft uses (the link is the credential), and the sample
# frontend's static files (it reads the public delivery API).
OPEN = {
    "/api/v1/session",
    "/api/v1/preview/links/<link>",
    "/api/v1/preview/links/<link>/media/<path:rest>",
    "/admin",
    "/admin/",
    "/admin/signout",
    "/admin/translations",
    "/admin/config.yml",
    "/admin/<name>",
    "/admin/history",
    "/frontend/",
    "/frontend/<name>",
}


def routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            url = (
                str(rule)
                .replace("<slug>", "council-approves-budget")
                .replace("<revision>", "0" * 40)
            )
            yield str(rule), method, url


def test_every_route_outside_the_public_list_needs_a_token(app, client, created):
    private = 0
    for rule, method, url in routes(app):
        if rule in PUBLIC:
            assert method == "GET", rule
            continue
        if rule in OPEN:
            continue
        private += 1
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            response = client.open(url, method=method, json=article(), headers=headers)
            assert response.status_code == 401, (method, rule)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert response.mimetype == "application/problem+json"
    assert private >= 12


def test_security_headers_on_every_kind_of_response(client, editor_token, created):
    for url, headers in [
        ("/api/v1/articles", {}),
        ("/healthz", {}),
        ("/api/v1/openapi.json", {}),
        ("/nowhere", {}),
        ("/api/v1/manage/articles", editor_token),
        ("/api/v1/manage/articles", {}),
    ]:
        response = client.get(url, headers=headers)
        assert response.headers["X-Content-Type-Options"] == "nosniff", url
        assert response.headers["X-Frame-Options"] == "DENY", url
        assert response.headers["Referrer-Policy"] == "no-referrer", url
        assert "default-src 'none'" in response.headers["Content-Security-Policy"], url
    managed = client.get("/api/v1/manage/articles", headers=editor_token)
    assert managed.headers["Cache-Control"] == "no-store"


def test_failed_tokens_are_throttled_per_address(repo, editor_token):
    client = create_app(
        {"REPO": str(repo), "TESTING": True, "AUTH_FAILURE_LIMIT": "5 per minute"}
    ).test_client()
    bad = {"Authorization": "Bearer cms_deadbeef_" + "x" * 43}
    assert [client.get("/api/v1/manage/articles", headers=bad).status_code for _ in range(5)] == [
        401
    ] * 5
    blocked = client.get("/api/v1/manage/articles", headers=bad)
    assert blocked.status_code == 429
    assert blocked.mimetype == "application/problem+json"
    assert int(blocked.headers["Retry-After"]) > 0
    # while blocked, that address gets nothing, even with a good token
    assert client.get("/api/v1/manage/articles", headers=editor_token).status_code == 429
    # another address is not affected, and successful calls never count
    other = {"REMOTE_ADDR": "192.0.2.7"}
    for _ in range(10):
        assert (
            client.get(
                "/api/v1/manage/articles", headers=editor_token, environ_base=other
            ).status_code
            == 200
        )
    # the public API is never throttled by this
    assert client.get("/api/v1/articles").status_code == 200


def test_an_unexpected_error_is_a_bare_500_problem(app, client, editor_token, monkeypatch, repo):
    store = services(app).store

    def broken(*args, **kwargs):
        raise RuntimeError(f"disk exploded at {repo}/objects")

    monkeypatch.setattr(store, "get", broken)
    response = client.get("/api/v1/manage/articles/anything", headers=editor_token)
    assert response.status_code == 500
    body = response.get_json()
    assert body == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": "Something went wrong on our side.",
    }
    assert str(repo) not in response.get_data(as_text=True)


def test_a_revoked_token_fails_at_once_in_every_worker(server, repo):
    created = subprocess.run(
        [
            cms_command(),
            "--repo",
            str(repo),
            "token",
            "create",
            "--name",
            "Temp",
            "--email",
            "temp@example.org",
            "--role",
            "editor",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    secret = created.stdout.strip()
    session = requests.Session()
    headers = {"Authorization": f"Bearer {secret}"}
    # spread requests over the 3 workers (each keeps its own copy of the token list)
    assert {
        session.get(f"{server}/api/v1/manage/articles", headers=headers).status_code
        for _ in range(30)
    } == {200}
    token_id = secret.split("_")[1]
    subprocess.run(
        [cms_command(), "--repo", str(repo), "token", "revoke", token_id],
        check=True,
        capture_output=True,
    )
    statuses = [
        requests.get(f"{server}/api/v1/manage/articles", headers=headers).status_code
        for _ in range(15)
    ]
    assert set(statuses) <= {401, 429} and statuses[:10] == [401] * 10


BAD = {"Authorization": "Bearer cms_deadbeef_" + "x" * 43}
OWN_ORIGIN = {"Origin": "http://localhost"}


def reading_tokens(app):
    """Every route that reads a bearer token (all but the public and open ones, plus
    `/healthz`, which looks at one for an admin's details), as (rule, method, url)."""
    for rule, method, url in routes(app):
        if rule == "/healthz" or (rule not in PUBLIC and rule not in OPEN):
            yield rule, method, url


def refused(response, what):
    assert response.status_code == 429, (what, response.status_code, response.get_data())
    assert response.mimetype == "application/problem+json", what
    assert int(response.headers["Retry-After"]) > 0, what


def limited_app(repo):
    return create_app({"REPO": str(repo), "TESTING": True, "AUTH_FAILURE_LIMIT": "3 per minute"})


@pytest.mark.parametrize(
    "exhausted_on", ["manage", "healthz", "webhooks", "releases", "sign-in", "session cookie"]
)
def test_one_limit_on_failed_tokens_covers_every_route_that_reads_one(
    repo, editor_token, exhausted_on
):
    app = limited_app(repo)
    client = app.test_client()

    def fail() -> int:
        if exhausted_on == "sign-in":
            return client.post(
                "/api/v1/session", json={"token": BAD["Authorization"][7:]}, headers=OWN_ORIGIN
            ).status_code
        if exhausted_on == "session cookie":
            client.set_cookie("cms_session", "not-a-session")
            try:
                return client.get("/api/v1/manage/articles").status_code
            finally:
                client.delete_cookie("cms_session")
        url = {
            "manage": "/api/v1/manage/articles",
            "healthz": "/healthz",
            "webhooks": "/api/v1/manage/webhooks",
            "releases": "/api/v1/manage/releases",
        }[exhausted_on]
        if exhausted_on == "releases":
            return client.post(url, json={"slugs": ["a"]}, headers=BAD).status_code
        return client.get(url, headers=BAD).status_code

    # /healthz never answers 401: a bad token there is just anonymous, but it still counts
    expected = 200 if exhausted_on == "healthz" else 401
    assert [fail() for _ in range(3)] == [expected] * 3
    checked = 0
    for rule, method, url in reading_tokens(app):
        refused(client.open(url, method=method, json=article(), headers=BAD), (method, rule))
        checked += 1
    assert checked >= 30
    # while blocked, a good token is refused too (an answer must not tell a good guess)
    refused(client.get("/api/v1/manage/articles", headers=editor_token), "good token")
    refused(client.get("/healthz", headers=editor_token), "good token on /healthz")
    # the routes that read a token some other way: signing in, and the session cookie
    refused(
        client.post(
            "/api/v1/session", json={"token": "cms_deadbeef_" + "y" * 43}, headers=OWN_ORIGIN
        ),
        "sign-in",
    )
    client.set_cookie("cms_session", "not-a-session")
    refused(client.get("/admin/"), "the workbench with a session cookie")
    refused(
        client.post(
            "/api/v1/decap", json={"action": "entriesByFolder", "params": {}}, headers=OWN_ORIGIN
        ),
        "Decap with a session cookie",
    )
    client.delete_cookie("cms_session")
    # what reads no token is not throttled: the public API, /healthz and the sign-in page
    # without one
    assert client.get("/api/v1/articles").status_code == 200
    assert client.get("/api/v1/articles", headers=BAD).status_code == 200
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/admin/").status_code == 200
    # another address is not affected
    other = {"REMOTE_ADDR": "192.0.2.7"}
    assert client.get("/api/v1/manage/webhooks", headers=BAD, environ_base=other).status_code == 401
    assert (
        client.get("/api/v1/manage/articles", headers=editor_token, environ_base=other).status_code
        == 200
    )
