"""What the OpenAPI document says beyond what the views declare, so that a client generated
from it is pleasant to use: an `operationId` for every operation, the response headers
clients rely on (ETag, Location, Link, Retry-After), the PATCH body as a merge patch of the
article, and nullable references that generators can name.

The operation ids and headers come from an apispec plugin (flask-smorest's `extra_plugins`),
keyed by Flask endpoint, so views stay as they are; a new view without an entry here still
gets an id, `<blueprint>_<function>`.
"""

from __future__ import annotations

import copy
from http import HTTPStatus
from typing import Any

from apispec import APISpec, BasePlugin

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
