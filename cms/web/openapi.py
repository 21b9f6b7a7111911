"""What the OpenAPI document says beyond what the views declare, so that a client generated
from it is pleasant to use: an `operationId` for every operation, the response headers
clients rely on (ETag, Location, Link, Retry-After), the PATCH body as a merge patch of the
article, and nullable references that generators can name; and `CMSApi`, flask-smorest's
`Api` with errors rendered and documented as problem+json, whose document is built once per
process.

flask-smorest builds the document as each blueprint is registered (four fifths of what
`create_app` used to cost). The document depends only on the blueprints and on the
flask-smorest settings (`API_TITLE`, `API_VERSION`, `OPENAPI_VERSION`, `API_SPEC_OPTIONS`,
`ETAG_DISABLED`), never on the CMS's settings, so `CMSApi` keeps what it built under that key
(`SPECS`) and the next app with the same key registers its routes only and shares the built
document. An app with other flask-smorest settings gets a document of its own.

The operation ids and headers come from an apispec plugin (flask-smorest's `extra_plugins`),
keyed by Flask endpoint, so views stay as they are; a new view without an entry here still
gets an id, `<blueprint>_<function>`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, NamedTuple

from apispec import APISpec, BasePlugin
from flask import Flask
from flask_smorest import Api, Blueprint
from flask_smorest.spec import openapi_cli

from cms.content.blocks import BLOCKS, block_openapi
from cms.content.document import ArticleFields
from cms.web import problems
from cms.web.schemas import ProblemSchema

# endpoint -> operationId; generators turn these into function names (create_article)
OPERATION_IDS = {
    "system.healthz": "getHealth",
    "manage.create": "createArticle",
    "manage.index": "listArticles",
    "manage.show": "getArticle",
    "manage.replace": "replaceArticle",
    "manage.patch": "patchArticle",
    "manage.delete": "deleteArticle",
    "manage.publish": "publishArticle",
    "manage.unpublish": "unpublishArticle",
    "manage.revisions": "listRevisions",
    "manage.revision": "getRevision",
    "manage.diff": "diffRevisions",
    "manage.restore": "restoreArticle",
    "manage.changes": "getChangesSince",
    "delivery.articles": "listPublishedArticles",
    "delivery.article": "getPublishedArticle",
    "delivery.history": "listPublishedVersions",
    "delivery.at_revision": "getPublishedVersion",
    "delivery.sync": "sync",
    "delivery.atom": "getAtomFeed",
    "delivery.json_feed": "getJsonFeed",
    "delivery.sitemap": "getSitemap",
}

HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {
        "description": "Strong validator of the representation: send it back in "
        "If-Match (writes) or If-None-Match (reads).",
        "schema": {"type": "string", "pattern": '^"[^"]+"$'},
        "required": True,
    },
    "Location": {
        "description": "Where the created article is.",
        "schema": {"type": "string"},
        "required": True,
    },
    "Link": {
        "description": 'RFC 8288 links to the `rel="next"` and `rel="prev"` pages, where '
        "they exist.",
        "schema": {"type": "string"},
    },
    "Cache-Control": {
        "description": "How long shared caches may keep the answer.",
        "schema": {"type": "string"},
        "required": True,
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer"},
    },
    "Surrogate-Key": {
        "description": "What the answer depends on, space-separated (`a:<slug>`, "
        "`list`, `s:<section>`, `feed`, `sync`, ... and `all`), "
        "for caches that purge by key (Fastly, Varnish xkey).",
        "schema": {"type": "string"},
        "required": True,
    },
    "Cache-Tag": {
        "description": "The same keys, comma-separated (Cloudflare).",
        "schema": {"type": "string"},
        "required": True,
    },
    "Surrogate-Control": {
        "description": "How long a cache that purges may keep the answer "
        "(`CMS_EDGE_MAX_AGE`), read by Fastly and Varnish.",
        "schema": {"type": "string"},
    },
    "CDN-Cache-Control": {
        "description": "The same, for Cloudflare (RFC 9213).",
        "schema": {"type": "string"},
    },
}
EDGE = ("Surrogate-Key", "Cache-Tag", "Surrogate-Control", "CDN-Cache-Control")
ARTICLE = ("ETag",)
LIST = ("Link",)
# endpoint -> status -> headers; every delivery answer also carries ETag, Cache-Control and
# the headers of caches in front (see `cms.web.edge`)
RESPONSE_HEADERS: dict[str, dict[str, tuple[str, ...]]] = {
    "manage.create": {"201": ("ETag", "Location")},
    "manage.index": {"200": LIST},
    "manage.show": {"200": ARTICLE},
    "manage.replace": {"200": ARTICLE},
    "manage.patch": {"200": ARTICLE},
    "manage.publish": {"200": ARTICLE},
    "manage.unpublish": {"200": ARTICLE},
    "manage.restore": {"200": ARTICLE},
    "manage.revisions": {"200": LIST},
    "manage.changes": {"200": ARTICLE, "304": ARTICLE},
    "delivery.articles": {"200": LIST},
    "delivery.history": {"200": LIST},
}
DELIVERY: dict[str, tuple[str, ...]] = {
    "200": ("ETag", "Cache-Control", *EDGE),
    "304": ("ETag", "Cache-Control", *EDGE),
}


class OperationPlugin(BasePlugin):  # type: ignore[misc]
    """Adds each operation's id and documented response headers as its path is registered,
    and `Retry-After` to the 429 response."""

    def response_helper(self, response: dict[str, Any], **kwargs: Any) -> dict[str, Any] | None:
        """Return the headers of a shared response component, if it has any to document."""
        if response.get("description") == HTTPStatus.TOO_MANY_REQUESTS.phrase:
            return {"headers": {"Retry-After": HEADERS["Retry-After"]}}
        return None

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        rule = kwargs.get("rule")
        if rule is None or not operations:
            return
        endpoint = rule.endpoint
        headers: dict[str, tuple[str, ...]] = dict(RESPONSE_HEADERS.get(endpoint, {}))
        if endpoint.startswith("delivery."):
            for status, names in DELIVERY.items():
                headers[status] = (*names, *headers.get(status, ()))
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            operation.setdefault(
                "operationId", OPERATION_IDS.get(endpoint, f"{endpoint.replace('.', '_')}_{method}")
            )
            # flask-smorest keys responses by int or str, as the view declared them
            responses = {str(k): v for k, v in operation.get("responses", {}).items()}
            for status, names in headers.items():
                response = responses.get(status)
                if isinstance(response, dict) and "$ref" not in response:
                    response.setdefault("headers", {}).update(
                        {name: HEADERS[name] for name in names}
                    )


def nullable_reference(
    converter: Any, field: Any, ret: dict[str, Any], **kwargs: Any
) -> dict[str, Any]:
    """A nullable nested schema as `allOf: [$ref]` + `nullable` (OpenAPI 3.0), rather than
    apispec's `anyOf` of the reference and an untyped nullable object, from which generators
    make names like `PublicArticleNextType0Type0`."""
    any_of = ret.get("anyOf")
    if not (isinstance(any_of, list) and len(any_of) == 2):
        return {}
    refs = [s for s in any_of if "$ref" in s]
    if len(refs) != 1 or {"type": "object", "nullable": True} not in any_of:
        return {}
    del ret["anyOf"]
    return {"allOf": refs, "nullable": True}


def merge_patch(article: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema of an RFC 7396 merge patch of an article, from the article's: every
    field optional, and `null` (which removes the field) allowed where a field is optional."""
    required = set(article.get("required", ()))
    properties = {}
    for name, schema in article["properties"].items():
        schema = copy.deepcopy(schema)
        if name not in required:
            schema = (
                {"allOf": [schema], "nullable": True}
                if "$ref" in schema
                else {**schema, "nullable": True}
            )
        properties[name] = schema
    return {
        "type": "object",
        "properties": properties,
        "description": "A JSON Merge Patch (RFC 7396) of the article: the fields to "
        "change; null removes an optional field.",
    }


def document(spec: APISpec, converter: Any, article_schema: type) -> None:
    """Register what this module adds to the document: nullable references and the
    `ArticlePatch` schema (the PATCH body)."""
    converter.add_attribute_function(nullable_reference)
    spec.components.schema(
        "ArticlePatch", component=merge_patch(converter.schema2jsonschema(article_schema))
    )


# -- the Api, its document built once per process ---------------------------------------------

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
SUCCESS_PHRASES = {s.phrase for s in HTTPStatus if s < 400}
# the flask-smorest settings the document is made from (the blueprints are the rest of the key)
SPEC_SETTINGS = ("API_TITLE", "API_VERSION", "OPENAPI_VERSION", "API_SPEC_OPTIONS", "ETAG_DISABLED")


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


class Built(NamedTuple):
    """A document flask-smorest built, with the two plugins that built it."""

    spec: APISpec
    flask_plugin: Any
    ma_plugin: Any


# what `CMSApi` built, by `spec_key`; a process builds one document per key
SPECS: dict[str, Built] = {}


def spec_key(config: Any, blueprints: Sequence[Blueprint]) -> str:
    """What the document of an app is made from: its blueprints and flask-smorest settings."""
    settings = {name: config.get(name) for name in SPEC_SETTINGS}
    names = [blp.name for blp in blueprints]
    return json.dumps([names, settings], sort_keys=True, default=repr)


class CMSApi(Api):
    """flask-smorest's Api over `app` with `blueprints` registered, errors rendered, and
    documented, as problem+json; the document is built for the first app of its key
    (`spec_key`) and shared by every later one (`reused`), which registers routes only."""

    ERROR_SCHEMA = ProblemSchema

    def __init__(self, app: Flask, blueprints: Sequence[Blueprint]) -> None:
        self.key = spec_key(app.config, blueprints)
        self.reused = False
        super().__init__(
            app, spec_kwargs={"extra_plugins": [ProblemResponses(), OperationPlugin()]}
        )
        if not self.reused:
            for block in BLOCKS.values():
                self.spec.components.schema(block.schema.__name__, schema=block.schema)
            self.ma_plugin.converter.add_attribute_function(block_openapi)
            self.spec.components.schema("ArticleInput", schema=ArticleFields)
            document(self.spec, self.ma_plugin.converter, ArticleFields)
        for blp in blueprints:
            self.register_blueprint(blp)
        if not self.reused:
            SPECS.setdefault(self.key, Built(self.spec, self.flask_plugin, self.ma_plugin))

    def _init_spec(self, **kwargs: Any) -> None:
        known = SPECS.get(self.key)
        if known is None:
            super()._init_spec(**kwargs)
            return
        self.spec, self.flask_plugin, self.ma_plugin = known
        self._app.cli.add_command(openapi_cli)  # what flask-smorest's own does besides
        self.reused = True

    def register_blueprint(self, blp: Blueprint, *, parameters: Any = None, **options: Any) -> None:
        if not self.reused:
            super().register_blueprint(blp, parameters=parameters, **options)
            return
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)

    def handle_http_exception(self, error: Any) -> Any:
        return problems.from_http_exception(error)
