"""The HTTP application: `create_app()` builds it, `start(app)` starts its background threads,
`services(app)` holds what its views use."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_cors import CORS

from cms import __version__
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
from cms.web.services import KEY, Services, services

__all__ = ["Background", "Services", "create_app", "services", "start"]

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


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app, starting no thread (`start(app)` does). Settings: defaults, then
    `CMS_<NAME>` variables, then `config` (see `cms.settings`); other keys of `config` and
    `CMS_*` variables go to Flask's config. Raises BadSetting (a ValueError) naming each
    setting that cannot be used."""
    settings = Settings.load(config)
    app = Flask(__name__)
    # a copy: flask-smorest merges the document into API_SPEC_OPTIONS each time it is served
    app.config.update(copy.deepcopy(FLASK_DEFAULTS))
    app.config.from_prefixed_env("CMS")
    app.config.update(config or {})
    app.config.update(settings.as_config())  # Flask itself reads MAX_CONTENT_LENGTH
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    built = Services.build(
        settings, media_base=media.base_url, deploy_preview=workbench.deploy_preview
    )
    app.extensions[KEY] = built

    openapi.CMSApi(
        app,
        [
            system.blp,
            manage.blp,
            releases.blp,
            delivery_api.blp,
            session.blp,
            preview.blp,
            workbench.blp,
            frontend.blp,
            webhooks.blp,
            media.manage_blp,
            media.public_blp,
        ],
    )
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
