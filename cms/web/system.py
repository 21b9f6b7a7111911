"""Service endpoints: health.

Anyone may ask whether the service is up; only an admin sees the details (where the lines
of history point, how many articles there are, the mirrors), which would otherwise reveal
editorial activity to the world. A replica shows its lag (see `replication.health`).
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from cms.web import replication
from cms.web.failed_tokens import verify_bearer
from cms.web.services import services

blp = Blueprint("system", __name__, description="Service status.")


class HealthSchema(Schema):
    status = fields.String(
        required=True,
        metadata={
            "description": "`ok`, or `degraded` on a replica that refuses a commit its source "
            "holds (see `replica.refused`) and serves what it had."
        },
    )
    revision = fields.String(
        allow_none=True, metadata={"description": "Admins only: the commit `main` points at."}
    )
    published_revision = fields.String(
        allow_none=True, metadata={"description": "Admins only: the commit `published` points at."}
    )
    articles = fields.Integer(metadata={"description": "Admins only: articles on `main`."})
    replica = fields.Dict(
        metadata={
            "description": "A replica's lag, the tips it serves, and "
            "`refused` while it refuses a commit."
        }
    )
    mirrors = fields.List(fields.Dict(), metadata={"description": "Admins only: each mirror."})
    purges = fields.Dict(
        metadata={
            "description": "Admins only, when `CMS_PURGE_TARGETS` is "
            "set: the commits not yet turned into purges, and each "
            "cache's backlog and last answer."
        }
    )


def admin_details() -> dict[str, Any]:
    """What `/healthz` adds for an admin's token about this repository (the mirrors' and a
    replica's state come from `replication.health`)."""
    store = services().store
    tips = store.catch_up()
    purges = services().purges
    return {
        "revision": tips["main"],
        "published_revision": tips["published"],
        "articles": store.count(),
        **({"purges": purges.status()} if purges.targets else {}),
    }


@blp.route("/healthz", methods=["GET"])
@blp.response(200, HealthSchema)
@blp.doc(
    security=[{}, {"bearerAuth": []}],
    summary="Liveness: the repository can be read (details with an admin token)",
)
def healthz() -> Any:
    store = services().store
    store.catch_up()  # reads both refs and the index: fails if the repository cannot be read
    admin = _admin()
    body = {
        "status": replication.status(),
        **(admin_details() if admin else {}),
        **replication.health(admin),
    }
    return body, 200, {"Cache-Control": "no-store"}


def _admin() -> bool:
    """Whether the request carries a live admin token. A missing, unknown or lower token is
    simply anonymous here: a health check never answers 401. A bad token still counts
    against the limit on failed tokens (and a limited address gets 429): this answer tells an
    admin's token from any other."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return False
    token = verify_bearer(secret.strip())
    return token is not None and token.can("admin")
