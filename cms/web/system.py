"""Service endpoints: health."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields

blp = Blueprint("system", __name__, description="Service status.")


class HealthSchema(Schema):
    status = fields.String()
    revision = fields.String(allow_none=True)
    articles = fields.Integer()


@blp.route("/healthz", methods=["GET"])
@blp.response(200, HealthSchema)
@blp.doc(security=[], summary="Liveness: the repository can be read")
def healthz() -> Any:
    store = current_app.extensions["cms.store"]
    return {"status": "ok", "revision": store.catch_up()["main"], "articles": store.count()}
