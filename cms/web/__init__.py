"""The HTTP application, built by `create_app()`."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from flask import Flask
from flask_cors import CORS
from flask_smorest import Api

from .. import __version__
from ..gitobjects import Person
from ..schemas import BLOCK_SCHEMAS, ArticleFields, ProblemSchema, block_openapi
from ..store import ArticleStore
from ..tokens import TokenStore
from . import manage, problems, system

DEFAULTS: dict[str, Any] = {
    "REPO": "./content-repo",
    "COMMITTER_NAME": "Git CMS",
    "COMMITTER_EMAIL": "cms@localhost",
    "DURABLE": False,
    "MANAGE_CORS_ORIGINS": [],
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "API_TITLE": "Git CMS",
    "API_VERSION": __version__,
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    "API_SPEC_OPTIONS": {
        "security": [{"bearerAuth": []}],
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    },
}


class CMSApi(Api):
    """flask-smorest's Api with errors rendered, and documented, as problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error: Any) -> Any:
        return problems.from_http_exception(error)

    def _register_responses(self) -> None:
        problem = {"content": {problems.PROBLEM: {"schema": ProblemSchema}}}
        for status in HTTPStatus:
            response = {"description": status.phrase, **(problem if status >= 400 else {})}
            self.spec.components.response(status.name, response, lazy=True)
        self.spec.components.response("DEFAULT_ERROR", {"description": "Error", **problem},
                                      lazy=True)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. Settings: defaults, then `CMS_<NAME>` variables, then `config`."""
    app = Flask(__name__)
    app.config.update(DEFAULTS)
    app.config.from_prefixed_env("CMS")
    app.config.update(config or {})
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    store = ArticleStore(
        app.config["REPO"],
        committer=Person(app.config["COMMITTER_NAME"], app.config["COMMITTER_EMAIL"]),
        durable=bool(app.config["DURABLE"]),
    )
    app.extensions["cms.store"] = store
    app.extensions["cms.tokens"] = TokenStore(store.repo.git_dir)

    api = CMSApi(app)
    for schema in BLOCK_SCHEMAS.values():
        api.spec.components.schema(schema.__name__, schema=schema)
    api.ma_plugin.converter.add_attribute_function(block_openapi)
    api.spec.components.schema("ArticleInput", schema=ArticleFields)
    api.register_blueprint(system.blp)
    api.register_blueprint(manage.blp)
    problems.register(app)
    origins = app.config["MANAGE_CORS_ORIGINS"]
    if isinstance(origins, str):
        origins = [o for o in origins.split(",") if o]
    if origins:
        CORS(app, resources={r"/api/v1/manage/*": {"origins": origins}},
             expose_headers=["ETag", "Location", "Link"])
    return app
