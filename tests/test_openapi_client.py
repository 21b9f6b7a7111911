"""A client generated from our own OpenAPI document works (issue 12, item 12): it is generated
with openapi-python-client, as a user would, and drives create, patch, publish and list
against a real server."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import requests
from conftest import article

GENERATOR = str(Path(sys.executable).parent / "openapi-python-client")
MANAGE = "/api/v1/manage/articles"


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield path, method, operation


def test_the_document_names_operations_headers_and_the_patch_body(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    ids = [op.get("operationId") for _, _, op in operations(spec)]
    assert None not in ids and len(ids) == len(set(ids))
    by_id = {op["operationId"]: (path, method, op) for path, method, op in operations(spec)}
    for name in (
        "createArticle",
        "patchArticle",
        "publishArticle",
        "listArticles",
        "getArticle",
        "listPublishedArticles",
        "sync",
    ):
        assert name in by_id, sorted(by_id)

    def headers(name, status):
        return set(by_id[name][2]["responses"][status].get("headers", {}))

    assert headers("createArticle", "201") >= {"ETag", "Location"}
    assert headers("getArticle", "200") >= {"ETag"}
    assert headers("listArticles", "200") >= {"Link"}
    assert headers("getPublishedArticle", "200") >= {"ETag", "Cache-Control"}
    too_many = spec["components"]["responses"]["TOO_MANY_REQUESTS"]
    assert "Retry-After" in too_many["headers"]
    body = by_id["patchArticle"][2]["requestBody"]["content"]["application/merge-patch+json"]
    assert body["schema"] == {"$ref": "#/components/schemas/ArticlePatch"}
    patch = spec["components"]["schemas"]["ArticlePatch"]
    assert patch["properties"]["summary"]["nullable"] is True
    assert set(patch["properties"]) == set(
        spec["components"]["schemas"]["ArticleInput"]["properties"]
    )
    assert "required" not in patch


def generate(spec: dict, into: Path) -> None:
    (into / "openapi.json").write_text(json.dumps(spec))
    (into / "config.yml").write_text("post_hooks: []\n")
    subprocess.run(
        [
            GENERATOR,
            "generate",
            "--path",
            str(into / "openapi.json"),
            "--meta",
            "none",
            "--output-path",
            str(into / "cms_client"),
            "--config",
            str(into / "config.yml"),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


def test_a_generated_client_creates_patches_publishes_and_lists(server, editor_token, tmp_path):
    generate(requests.get(server + "/api/v1/openapi.json").json(), tmp_path)
    models = [p.stem for p in (tmp_path / "cms_client" / "models").glob("*.py")]
    assert not [m for m in models if "type_0" in m], models
    sys.path.insert(0, str(tmp_path))
    try:
        pkg = importlib.import_module("cms_client")
        api = {
            name: importlib.import_module(f"cms_client.api.{name}")
            for name in (
                "manage.create_article",
                "manage.patch_article",
                "manage.publish_article",
                "manage.list_articles",
                "delivery.list_published_articles",
                "delivery.get_published_article",
            )
        }
        m = importlib.import_module("cms_client.models")
        token = editor_token["Authorization"].removeprefix("Bearer ")
        with (
            pkg.AuthenticatedClient(base_url=server, token=token) as client,
            pkg.Client(base_url=server) as public,
        ):
            drive(api, m, client, public)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n.split(".")[0] == "cms_client"]:
            del sys.modules[name]


def drive(api, m, client, public) -> None:
    """Create, patch, publish and list with the generated functions and models."""
    created = api["manage.create_article"].sync_detailed(
        client=client, body=m.ArticleInput.from_dict(article("Harbour reopens"))
    )
    assert created.status_code == 201, created.content
    slug = created.parsed.slug
    assert created.headers["Location"].endswith(f"{MANAGE}/{slug}")

    patched = api["manage.patch_article"].sync_detailed(
        slug,
        client=client,
        body=m.ArticlePatch.from_dict({"summary": "Ships are back."}),
        if_match=created.headers["ETag"],
    )
    assert patched.status_code == 200, patched.content
    assert patched.parsed.summary == "Ships are back."

    published = api["manage.publish_article"].sync_detailed(slug, client=client)
    assert published.status_code == 200, published.content
    assert published.parsed.meta.state == m.MetaState.PUBLISHED

    listed = api["manage.list_articles"].sync(client=client, state=m.ListArticlesState.PUBLISHED)
    assert [a.slug for a in listed.items] == [slug]
    live = api["delivery.list_published_articles"].sync(client=public)
    assert [(a.slug, a.summary) for a in live.items] == [(slug, "Ships are back.")]
    one = api["delivery.get_published_article"].sync(slug, client=public)
    assert one.title == "Harbour reopens"
    assert one.previous is None and one.next_ is None  # nullable neighbours parse
