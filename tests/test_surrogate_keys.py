"""Every delivery answer names what it depends on (`Surrogate-Key`, `Cache-Tag`) and how long a
cache that purges may keep it (`Surrogate-Control`, `CDN-Cache-Control`); nothing else does.
Bad purge settings are refused, naming the setting."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from PIL import Image

from cms.auth.tokens import TokenStore
from cms.web import create_app
from harness import article
from harness.launch import cms_command

# the apps its tests build are closed after each (their git processes, delivery's threads)
pytestmark = pytest.mark.usefixtures("closes_apps")

MANAGE = "/api/v1/manage/articles"
PUBLIC = "/api/v1/articles"
DAY = "max-age=86400"


@pytest.fixture
def newsroom(repo: Path) -> dict[str, Any]:
    """Three live articles (sitemap files of two URLs), a draft, a live image."""
    app = create_app(
        {"REPO": str(repo), "TESTING": True, "RATELIMIT_ENABLED": False, "SITEMAP_MAX_URLS": 2}
    )
    client = app.test_client()
    _, secret = TokenStore(str(repo)).create("Eve Editor", "eve@example.org", "editor")
    editor = {"Authorization": f"Bearer {secret}"}
    out = io.BytesIO()
    Image.new("RGB", (20, 20), (0, 90, 200)).save(out, format="PNG")
    media = client.post(
        "/api/v1/manage/media",
        headers=editor,
        data={"file": (io.BytesIO(out.getvalue()), "blue.png")},
    ).get_json()["path"]
    slugs = []
    for title, fields in (
        ("First", {"section": "world", "tags": ["New York"]}),
        ("Second", {"authors": [{"name": "Ann Lee"}], "image": {"src": media, "alt": "Blue"}}),
        ("Third", {"section": "sport"}),
    ):
        made = client.post(MANAGE, json=article(title, **fields), headers=editor).get_json()
        assert client.post(f"{MANAGE}/{made['slug']}/publish", headers=editor).status_code == 200
        slugs.append(made["slug"])
    client.post(MANAGE, json=article("Still a draft"), headers=editor)
    return {"client": client, "slugs": slugs, "media": media, "editor": editor}


def keys(response: Any) -> list[str] | None:
    value = response.headers.get("Surrogate-Key")
    if value is None:
        assert "Cache-Tag" not in response.headers
        return None
    assert response.headers["Cache-Tag"] == value.replace(" ", ",")
    return value.split()


def test_every_delivery_answer_names_what_it_depends_on(newsroom: dict[str, Any]) -> None:
    client: FlaskClient = newsroom["client"]
    first, second, third = newsroom["slugs"]
    media = newsroom["media"]
    expected = {
        f"{PUBLIC}": ["list"],
        f"{PUBLIC}?page=2&per_page=1": ["list"],
        f"{PUBLIC}?section=world&tag=New%20York": ["s:world", "t:new%20york"],
        f"{PUBLIC}?author=Ann%20Lee&q=bridge": ["au:ann%20lee", "q"],
        f"{PUBLIC}?tag=a&tag=B": ["t:a", "t:b"],
        f"{PUBLIC}?language=en": ["l:en"],
        f"{PUBLIC}/{second}/history": [f"a:{second}"],
        "/api/v1/sync": ["sync"],
        "/feed.xml": ["feed"],
        "/feed.json": ["feed"],
        "/sitemap.xml": ["sitemap", "sitemap:index"],
        "/sitemap-2.xml": ["sitemap", "sitemap:2"],
        f"/{media}": [f"m:{media.replace('/', '%2F')}"],
        f"/{media}?w=320": [f"m:{media.replace('/', '%2F')}"],
    }
    for url, named in expected.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert keys(response) == [*named, "all"], url
        assert response.headers["Surrogate-Control"] == DAY, url
        assert response.headers["CDN-Cache-Control"] == DAY, url
    assert client.get(PUBLIC).headers["Cache-Control"] == (
        "public, max-age=60, stale-while-revalidate=300"
    )

    # an article: its page, itself and its neighbours, whichever way it is answered (the
    # app, then its response cache and its fast path for live articles)
    for _ in range(3):
        assert keys(client.get(f"{PUBLIC}/{second}")) == [
            f"p:{second}",
            f"a:{second}",
            f"a:{first}",
            f"a:{third}",
            "all",
        ]
        assert keys(client.get(f"{PUBLIC}/{first}")) == [
            f"p:{first}",
            f"a:{first}",
            f"a:{second}",
            "all",
        ]
    etag = client.get(f"{PUBLIC}/{first}").headers["ETag"]
    unchanged = client.get(f"{PUBLIC}/{first}", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and keys(unchanged) == [
        f"p:{first}",
        f"a:{first}",
        f"a:{second}",
        "all",
    ]

    # answers a cache may keep until a purge: what is not live yet
    for url, named in (
        (f"{PUBLIC}/still-a-draft", ["p:still-a-draft", "a:still-a-draft"]),
        ("/sitemap-3.xml", ["sitemap", "sitemap:3"]),
        (f"/media/{'0' * 2}/{'0' * 64}.png", [f"m:media%2F00%2F{'0' * 64}.png"]),
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert keys(response) == [*named, "all"], url

    # nothing a cache must not keep names a key
    for url, headers in (
        (MANAGE, newsroom["editor"]),
        (f"{MANAGE}/{first}", newsroom["editor"]),
        ("/api/v1/preview/articles", newsroom["editor"]),
        ("/healthz", {}),
        (f"{PUBLIC}?per_page=1000", {}),
        ("/api/v1/sync?token=nonsense", {}),
        ("/media/not-a-path.png", {}),
        ("/api/v1/openapi.json", {}),
    ):
        response = client.get(url, headers=headers)
        assert keys(response) is None, (url, response.status_code)
        assert "Surrogate-Control" not in response.headers, url


def test_no_long_lifetime_when_edge_max_age_is_0(repo: Path) -> None:
    client = create_app({"REPO": str(repo), "TESTING": True, "EDGE_MAX_AGE": 0}).test_client()
    response = client.get(PUBLIC)
    assert keys(response) == ["list", "all"]
    assert "Surrogate-Control" not in response.headers
    assert "CDN-Cache-Control" not in response.headers


def test_the_openapi_document_names_the_cache_headers(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    answer = spec["paths"]["/api/v1/articles/{slug}"]["get"]["responses"]["200"]
    assert {"Surrogate-Key", "Cache-Tag", "Surrogate-Control", "CDN-Cache-Control"} <= set(
        answer["headers"]
    )


@pytest.mark.parametrize(
    "value, named",
    [
        ("http://127.0.0.1:6081", "'http://127.0.0.1:6081' must start with varnish+http://"),
        ("varnish+ftp://cache", "needs an http(s) URL with a host"),
        ("fastly+https://", "needs an http(s) URL with a host"),
        ("varnish+http://cache:99999", "is not a valid URL"),
        ("varnish+http://a:1,varnish+http://a:1", "names one target twice"),
    ],
)
def test_bad_purge_targets_are_refused_naming_the_setting(
    repo: Path, value: str, named: str
) -> None:
    with pytest.raises(ValueError, match="CMS_PURGE_TARGETS") as raised:
        create_app({"REPO": str(repo), "TESTING": True, "PURGE_TARGETS": value})
    assert named in str(raised.value)
    ran = subprocess.run(
        [cms_command(), "--repo", str(repo), "purge", "status"],
        capture_output=True,
        text=True,
        env={**os.environ, "CMS_PURGE_TARGETS": value},
    )
    assert ran.returncode == 1 and named in ran.stderr and "Traceback" not in ran.stderr


def test_purge_status_without_targets_says_what_to_set(repo: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CMS_PURGE_TARGETS"}
    ran = subprocess.run(
        [cms_command(), "--repo", str(repo), "purge", "status"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert ran.returncode == 1
    assert "set CMS_PURGE_TARGETS" in ran.stderr


def test_the_purge_status_block_of_the_docs_names_the_backlog(repo: Path) -> None:
    text = (Path(__file__).parent.parent / "docs" / "caches.md").read_text()
    section = text[text.index("# Sending purges") :]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    path = f"{Path(cms_command()).parent}{os.pathsep}{os.environ['PATH']}"
    ran = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block.group(1)],
        capture_output=True,
        text=True,
        env={**os.environ, "CMS_REPO": str(repo), "PATH": path},
    )
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    # no server has run on this repository yet
    assert lines[:2] == [
        "commits not yet turned into purges: no server has looked yet",
        "varnish+http://127.0.0.1:6081  pending 0 (0 keys, since -)  requests 0  last purge never",
    ]
    shown = json.loads("\n".join(lines[2:]))
    assert shown == {
        "commits_behind": None,
        "targets": [
            {
                "target": "varnish+http://127.0.0.1:6081",
                "pending": 0,
                "pending_keys": 0,
                "oldest_pending_at": None,
                "attempts": 0,
                "requests": 0,
                "keys_purged": 0,
                "last_purge_at": None,
                "last_error": None,
                "last_error_at": None,
            }
        ],
    }


def test_translations_are_named_by_the_answers_that_show_them(repo: Path) -> None:
    """An article's answer names its live translations (it shows their titles); a list with
    `fallback` names both languages it is made of."""
    client = create_app({"REPO": str(repo), "TESTING": True}).test_client()
    _, secret = TokenStore(str(repo)).create("Eve Editor", "eve@example.org", "editor")
    editor = {"Authorization": f"Bearer {secret}"}
    for slug, fields in (
        ("summit", {"language": "en"}),
        ("summit-fr", {"language": "fr", "translation_of": "summit"}),
    ):
        made = client.post(MANAGE, json=article(slug, slug=slug, **fields), headers=editor)
        assert made.status_code == 201, made.get_json()
        assert client.post(f"{MANAGE}/{slug}/publish", headers=editor).status_code == 200
    assert keys(client.get(f"{PUBLIC}/summit")) == ["p:summit", "a:summit", "a:summit-fr", "all"]
    assert keys(client.get(f"{PUBLIC}/summit-fr")) == [
        "p:summit-fr",
        "a:summit-fr",
        "a:summit",
        "all",
    ]
    assert keys(client.get(f"{PUBLIC}?language=fr&fallback=en")) == ["l:fr", "l:en", "all"]
