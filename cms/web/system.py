"""Service endpoints: health."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from . import replication

blp = Blueprint("system", __name__, description="Service status.")


class HealthSchema(Schema):
    status = fields.String()
    revision = fields.String(allow_none=True)
    articles = fields.Integer()
    replica = fields.Dict(metadata={"description": "A replica's lag and its source's tips."})
    mirrors = fields.List(fields.Dict(), metadata={"description": "Admins only: each mirror."})


@blp.route("/healthz", methods=["GET"])
@blp.response(200, HealthSchema)
@blp.doc(security=[], summary="Liveness: the repository can be read")
def healthz() -> Any:
    store = current_app.extensions["cms.store"]
    return {"status": "ok", "revision": store.catch_up()["main"], "articles": store.count(),
            **replication.health(_admin())}


def _admin() -> bool:
    """Whether the request carries a live admin token (no token is no error here)."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    token = current_app.extensions["cms.tokens"].verify(secret.strip())
    return token is not None and token.can("admin")
