"""Workbench sign-in: a token traded for an HttpOnly session cookie that authenticates like the
token, ends with it, and is refused from another origin."""

from __future__ import annotations

import time
from pathlib import Path

from conftest import article

from cms.auth.tokens import TokenStore

OWN = {"Origin": "http://localhost"}


def sign_in(client, secret: str):
    return client.post("/api/v1/session", json={"token": secret}, headers=OWN)


def make_token(repo: Path, role: str) -> tuple[str, str]:
    record, secret = TokenStore(str(repo)).create("Sam Signed", "sam@example.org", role)
    return record.id, secret


def test_sign_in_sets_an_httponly_strict_cookie_that_never_holds_the_token(client, repo):
    _, secret = make_token(repo, "editor")
    response = sign_in(client, secret)
    assert response.status_code == 204
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("cms_session=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP here
    # the secret is everything after `cms_<id>_`; no 8-character piece of it is in the cookie
    hidden = secret.split("_", 2)[2]
    assert secret not in cookie
    assert not any(hidden[i : i + 8] in cookie for i in range(len(hidden) - 7))
    secure = client.post(
        "/api/v1/session",
        json={"token": secret},
        base_url="https://localhost",
        headers={"Origin": "https://localhost"},
    )
    assert secure.status_code == 204 and "Secure" in secure.headers["Set-Cookie"]


def test_the_cookie_authenticates_as_the_token_and_writes_as_its_person(client, repo, git):
    _, secret = make_token(repo, "author")
    assert client.get("/api/v1/manage/articles").status_code == 401
    sign_in(client, secret)
    listed = client.get("/api/v1/manage/articles")
    assert listed.status_code == 200 and listed.headers["Cache-Control"] == "no-store"
    created = client.post("/api/v1/manage/articles", json=article(), headers=OWN)
    assert created.status_code == 201, created.get_json()
    assert git("log", "-1", "--format=%an <%ae>", "main").strip() == "Sam Signed <sam@example.org>"
    # same role as the token: an author cannot publish
    slug = created.get_json()["slug"]
    refused = client.post(f"/api/v1/manage/articles/{slug}/publish", headers=OWN)
    assert refused.status_code == 403
    assert refused.get_json()["detail"] == "This needs the editor role; your token has author."


def test_revoking_the_token_ends_its_session_at_once(client, repo):
    token_id, secret = make_token(repo, "editor")
    sign_in(client, secret)
    assert client.get("/api/v1/manage/articles").status_code == 200
    TokenStore(str(repo)).revoke(token_id)
    response = client.get("/api/v1/manage/articles")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert "revoked" in response.get_json()["detail"]


def test_a_request_from_another_origin_is_refused_and_changes_nothing(client, repo, git):
    _, secret = make_token(repo, "editor")
    sign_in(client, secret)
    before = git("rev-parse", "main")
    evil = client.post(
        "/api/v1/manage/articles", json=article(), headers={"Origin": "https://evil.example"}
    )
    assert evil.status_code == 403
    assert evil.get_json()["errors"] == {"Origin": ["Not this server's origin."]}
    assert (
        client.get(
            "/api/v1/manage/articles", headers={"Origin": "https://evil.example"}
        ).status_code
        == 403
    )
    # an unsafe method without any Origin is refused too; a plain read is not
    assert client.post("/api/v1/manage/articles", json=article()).status_code == 403
    assert client.get("/api/v1/manage/articles").status_code == 200
    assert git("rev-parse", "main") == before


def test_a_bearer_token_is_not_subject_to_the_origin_rule(client, editor_token):
    response = client.post(
        "/api/v1/manage/articles",
        json=article(),
        headers={**editor_token, "Origin": "https://elsewhere.example"},
    )
    assert response.status_code == 201


def test_sign_out_ends_the_session(client, repo):
    _, secret = make_token(repo, "editor")
    sign_in(client, secret)
    cookie = client.get_cookie("cms_session")
    assert cookie is not None
    out = client.delete("/api/v1/session", headers=OWN)
    assert out.status_code == 204 and "cms_session=;" in out.headers["Set-Cookie"]
    # the old cookie, replayed, no longer works: the session is gone on the server
    client.set_cookie("cms_session", cookie.value)
    assert client.get("/api/v1/manage/articles").status_code == 401


def test_bad_sign_ins_are_problems(client, repo):
    bad = sign_in(client, "cms_00000000_" + "x" * 43)
    assert bad.status_code == 401 and bad.mimetype == "application/problem+json"
    assert "Set-Cookie" not in bad.headers
    missing = client.post("/api/v1/session", json={}, headers=OWN)
    assert missing.status_code == 422
    assert missing.get_json()["errors"] == {"token": ["Missing data for required field."]}
    wrong_type = client.post(
        "/api/v1/session",
        data="token=x",
        headers=OWN,
        content_type="application/x-www-form-urlencoded",
    )
    assert wrong_type.status_code == 415
    client.set_cookie("cms_session", "not-a-session")
    assert client.get("/api/v1/manage/articles").status_code == 401


def test_a_session_ends_after_its_lifetime(repo):
    from cms.web import create_app

    app = create_app(
        {"REPO": str(repo), "TESTING": True, "RATELIMIT_ENABLED": False, "SESSION_LIFETIME": 1}
    )
    client = app.test_client()
    _, secret = make_token(repo, "editor")
    response = sign_in(client, secret)
    assert "Max-Age=1" in response.headers["Set-Cookie"]
    assert client.get("/api/v1/manage/articles").status_code == 200
    time.sleep(1.2)
    # the browser would have dropped the cookie; the server refuses it anyway
    client.set_cookie("cms_session", response.headers["Set-Cookie"].split(";")[0].split("=")[1])
    expired = client.get("/api/v1/manage/articles")
    assert expired.status_code == 401 and "ended" in expired.get_json()["detail"]
