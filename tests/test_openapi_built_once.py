"""The OpenAPI document is built once per process for what it is made from (the blueprints and
flask-smorest's settings), and every app gets the document its own settings call for."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apispec import APISpec
from flask import Flask

from cms.store import ArticleStore
from cms.web import create_app, openapi

DOC = "/api/v1/openapi.json"


@pytest.fixture
def paths_documented(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Each path flask-smorest documents, as it documents it, in a process that has built no
    document yet."""
    monkeypatch.setattr(openapi, "SPECS", {})
    documented: list[str] = []
    original = APISpec.path

    def path(self: APISpec, path: str | None = None, **kwargs: Any) -> APISpec:
        documented.append(str(kwargs["rule"]))
        return original(self, path, **kwargs)

    monkeypatch.setattr(APISpec, "path", path)
    yield documented


def build(tmp_path: Path, name: str, **config: Any) -> Flask:
    repo = tmp_path / name
    ArticleStore.init(str(repo))
    return create_app({"REPO": str(repo), "TESTING": True, **config})


def document(app: Flask) -> dict[str, Any]:
    response = app.test_client().get(DOC)
    assert response.status_code == 200
    doc = response.get_json()
    assert isinstance(doc, dict)
    return doc


def test_a_second_app_shares_the_document_the_first_built(
    tmp_path: Path, paths_documented: list[str]
) -> None:
    first = build(tmp_path, "one")
    built = len(paths_documented)
    assert built > 40 and "/api/v1/manage/articles" in paths_documented
    # other CMS settings (repository, site address) do not change the document
    second = build(tmp_path, "two", SITE_URL="https://news.example.org")
    assert len(paths_documented) == built  # nothing documented again
    assert len(openapi.SPECS) == 1
    assert document(second) == document(first)
    assert document(second)["info"]["title"] == "Git CMS"
    assert "/api/v1/manage/articles/{slug}" in document(second)["paths"]


def test_the_shared_document_is_the_one_a_fresh_build_gives(
    tmp_path: Path, paths_documented: list[str]
) -> None:
    build(tmp_path, "one")
    shared = document(build(tmp_path, "two"))
    openapi.SPECS.clear()
    assert document(build(tmp_path, "three")) == shared


def test_an_app_with_other_flask_smorest_settings_gets_its_own_document(
    tmp_path: Path, paths_documented: list[str]
) -> None:
    default = build(tmp_path, "one")
    built = len(paths_documented)
    other = build(tmp_path, "two", API_TITLE="Newsroom API", ETAG_DISABLED=True)
    assert len(paths_documented) == 2 * built  # documented again, for its own settings
    assert len(openapi.SPECS) == 2
    assert document(other)["info"]["title"] == "Newsroom API"
    assert document(default)["info"]["title"] == "Git CMS"
    # and a third app with the first one's settings reuses the first document
    again = build(tmp_path, "three")
    assert len(paths_documented) == 2 * built
    assert document(again) == document(default)


def test_an_app_sharing_the_document_still_checks_its_input(
    tmp_path: Path, paths_documented: list[str]
) -> None:
    build(tmp_path, "one")
    client = build(tmp_path, "two").test_client()
    assert client.get("/api/v1/articles").status_code == 200
    response = client.get("/api/v1/articles?page=abc")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert list(response.get_json()["errors"]) == ["page"]
