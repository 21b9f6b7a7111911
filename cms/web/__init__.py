"""The HTTP application: `create_app()` builds it, `start(app)` starts its background threads,
`services(app)` holds what its views use."""

from __future__ import annotations

import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from apispec import BasePlugin
from flask import Flask
from flask_cors import CORS
from flask_smorest import Api

from cms import __version__
from cms.content.blocks import BLOCKS, block_openapi
from cms.content.document import ArticleFields
from cms.settings import Settings
from cms.web import (
    addresses,
    delivery_api,
    edge,
    frontend,
    manage,
    media,
    openapi,
    paths,
    preview,
    problems,
    releases,
    replication,
    security,
    session,
    system,
    webhooks,
    workbench,
)
from cms.web.background import Background, start
from cms.web.fast_reads import ArticleReads
from cms.web.response_cache import ResponseCache
from cms.web.schemas import ProblemSchema
from cms.web.services import KEY, Services, services

__all__ = ["Background", "Services", "create_app", "services", "start"]

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
SUCCESS_PHRASES = {s.phrase for s in HTTPStatus if s < 400}
# flask-smorest's settings; the CMS's own are in `cms.settings.Settings`
FLASK_DEFAULTS: dict[str, Any] = {
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


class ProblemResponses(BasePlugin):  # type: ignore[misc]
    """An apispec plugin: the error responses flask-smorest documents are problem+json."""

    def response_helper(self, response: dict[str, Any], **kwargs: Any) -> dict[str, Any] | None:
        """Return the response with its JSON body documented as problem+json, when that body
        is a problem; success responses that flask-smorest gave the problem schema lose it."""
        content = response.get("content") or {}
        body = content.get("application/json")
        if body is None or body.get("schema") not in (ProblemSchema, "ProblemSchema", PROBLEM_REF):
            return None
        phrase = response.get("description")
        if phrase in SUCCESS_PHRASES:
            return {"content": {}}
        described = {"description": "Error"} if phrase == "Default error response" else {}
        return {**described, "content": {problems.PROBLEM: body}}


class CMSApi(Api):
    """flask-smorest's Api with errors rendered, and documented, as problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error: Any) -> Any:
        return problems.from_http_exception(error)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app, starting no thread (`start(app)` does). Settings: defaults, then
    `CMS_<NAME>` variables, then `config` (see `cms.settings`); other keys of `config` and
    `CMS_*` variables go to Flask's config. Raises BadSetting (a ValueError) naming each
    setting that cannot be used."""
    settings = Settings.load(config)
    app = Flask(__name__)
    app.config.update(FLASK_DEFAULTS)
    app.config.from_prefixed_env("CMS")
    app.config.update(config or {})
    app.config.update(settings.as_config())  # Flask itself reads MAX_CONTENT_LENGTH
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    built = Services.build(
        settings, media_base=media.base_url, deploy_preview=workbench.deploy_preview
    )
    app.extensions[KEY] = built

    api = CMSApi(
        app, spec_kwargs={"extra_plugins": [ProblemResponses(), openapi.OperationPlugin()]}
    )
    for block in BLOCKS.values():
        api.spec.components.schema(block.schema.__name__, schema=block.schema)
    api.ma_plugin.converter.add_attribute_function(block_openapi)
    api.spec.components.schema("ArticleInput", schema=ArticleFields)
    openapi.document(api.spec, api.ma_plugin.converter, ArticleFields)
    api.register_blueprint(system.blp)
    api.register_blueprint(manage.blp)
    api.register_blueprint(releases.blp)
    api.register_blueprint(delivery_api.blp)
    api.register_blueprint(session.blp)
    api.register_blueprint(preview.blp)
    api.register_blueprint(workbench.blp)
    api.register_blueprint(frontend.blp)
    api.register_blueprint(webhooks.blp)
    api.register_blueprint(media.manage_blp)
    api.register_blueprint(media.public_blp)
    problems.register(app)
    security.init(app)
    edge.init(app)
    _cors(app, settings)
    store, delivery = built.store, built.delivery
    app.wsgi_app = ResponseCache(  # type: ignore[method-assign]
        # a kept answer was made for its scheme and host, which the media URLs in it name
        # media URLs, like every absolute URL, never come from the Host header when a
        # public address is configured
        media.MediaBase(
            ArticleReads(app.wsgi_app, delivery), settings.media_url or settings.site_url
        ),
        store.repo.tips,
        params=delivery_api.cache_params,
        budget=settings.response_cache_bytes,
        largest=settings.response_cache_entry_bytes,
        mark=delivery.ready.mark,
    )
    addresses.trust_proxies(app)
    replication.init(app)
    return app


def _cors(app: Flask, settings: Settings) -> None:
    """Delivery, media and preview links are open to any origin; management only to the
    configured origins (see `paths`)."""
    public = {"origins": "*", "send_wildcard": True, "supports_credentials": False}
    resources: dict[Any, dict[str, Any]] = {
        re.compile(re.escape(prefix)): public for prefix in paths.ANY_ORIGIN
    }
    if settings.manage_cors_origins:
        resources[re.compile(re.escape(paths.MANAGE))] = {
            "origins": list(settings.manage_cors_origins)
        }
    CORS(
        app,
        resources=resources,
        expose_headers=["ETag", "Location", "Link"],
        allow_headers=["Authorization", "Content-Type", "If-Match", "If-None-Match"],
    )
