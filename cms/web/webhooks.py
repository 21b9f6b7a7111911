"""Webhooks API (admin only): create, list, read, change and remove webhooks, list a webhook's
deliveries and redeliver one. The secret is shown once, in the answer to the create call."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import url_for
from marshmallow import Schema, ValidationError, fields, validate

from cms.content.document import flatten_errors
from cms.content.fields import Strict, Text, Url
from cms.errors import ValidationFailed
from cms.web import documented, paths
from cms.web.manage import CMSBlueprint
from cms.web.pages import page
from cms.web.request_helpers import PATCH_TYPES, json_body, requires
from cms.web.schemas import PageArgs, PageMetaSchema
from cms.web.services import services
from cms.webhooks.addresses import check_url
from cms.webhooks.feed import TYPES
from cms.webhooks.outbox import Outbox

blp = CMSBlueprint(
    "webhooks",
    __name__,
    url_prefix=paths.MANAGE + "/webhooks",
    description="Webhooks (admin): signed notices of every change on `main` and `published`.",
)
problems = partial(documented.problems, blp, *documented.TOKEN)
PATCH_BODY = {
    "content": {"application/merge-patch+json": {"schema": "WebhookChange"}},
    "required": True,
}


class WebhookInput(Strict):
    url = Url(required=True)
    events = fields.List(
        fields.String(validate=validate.OneOf(TYPES)),
        validate=validate.Length(min=1, max=len(TYPES)),
    )
    description = Text(min=0, max=500)


class WebhookChange(Strict):
    url = Url()
    events = fields.List(
        fields.String(validate=validate.OneOf(TYPES)),
        validate=validate.Length(min=1, max=len(TYPES)),
    )
    description = Text(min=0, max=500)
    active = fields.Boolean(truthy={True}, falsy={False})


class WebhookSchema(Schema):
    id = fields.String()
    url = fields.String()
    events = fields.List(fields.String())
    description = fields.String()
    active = fields.Boolean()
    created_at = fields.String()


class CreatedWebhookSchema(WebhookSchema):
    secret = fields.String(metadata={"description": "Shown only in this answer."})


class WebhookListSchema(Schema):
    items = fields.List(fields.Nested(WebhookSchema))
    meta = fields.Nested(PageMetaSchema)


class DeliverySchema(Schema):
    id = fields.String(metadata={"description": "Sent as `webhook-id`, the same on retries."})
    event = fields.String()
    type = fields.String()
    status = fields.String(validate=validate.OneOf(["pending", "delivered", "failed"]))
    attempts = fields.Integer()
    response_status = fields.Integer(allow_none=True)
    error = fields.String(
        allow_none=True,
        metadata={
            "description": "Why the last attempt got no answer (refused address, connection "
            "error, no complete answer within CMS_WEBHOOK_TIMEOUT), else null."
        },
    )
    next_attempt_at = fields.String(allow_none=True)


class DeliveryListSchema(Schema):
    items = fields.List(fields.Nested(DeliverySchema))
    meta = fields.Nested(PageMetaSchema)


def outbox() -> Outbox:
    return services().webhooks


def _checked(data: dict[str, Any]) -> dict[str, Any]:
    if "url" in data:
        check_url(data["url"], services().settings.webhook_allow_private)
    if "events" in data:
        data["events"] = [t for t in TYPES if t in data["events"]]
    return data


@blp.route("", methods=["POST"])
@requires("admin")
@blp.arguments(WebhookInput())
@blp.response(201, CreatedWebhookSchema)
@blp.doc(summary="Add a webhook; its secret is in this answer only")
@problems(400, 413, 415, 422)
def create(args: dict[str, Any]) -> Any:
    data = _checked(args)
    webhook = outbox().create(
        data["url"], data.get("events", list(TYPES)), data.get("description", "")
    )
    return webhook, 201, {"Location": url_for("webhooks.show", webhook_id=webhook["id"])}


@blp.route("", methods=["GET"])
@requires("admin")
@blp.arguments(PageArgs(), location="query", error_status_code=400)
@blp.response(200, WebhookListSchema)
@blp.doc(summary="List webhooks, oldest first")
@problems(400)
def index(args: dict[str, Any]) -> Any:
    items, total = outbox().webhooks(page=args["page"], per_page=args["per_page"])
    return page(items, total, args["page"], args["per_page"])


@blp.route("/<webhook_id>", methods=["GET"])
@requires("admin")
@blp.response(200, WebhookSchema)
@blp.doc(summary="A webhook (never its secret)")
@problems(404)
def show(webhook_id: str) -> Any:
    return outbox().get(webhook_id)


@blp.route("/<webhook_id>", methods=["PATCH"])
@requires("admin")
@blp.doc(requestBody=PATCH_BODY, summary="Change url, events, description or active")
@blp.response(200, WebhookSchema)
@problems(400, 404, 413, 415, 422)
def change(webhook_id: str) -> Any:
    outbox().get(webhook_id)
    body = json_body(PATCH_TYPES)
    if not isinstance(body, dict):
        raise ValidationFailed("Send a JSON object.", {"body": ["Must be an object."]})
    if "description" in body and body["description"] is None:
        body["description"] = ""  # merge-patch null: remove it
    try:
        data = WebhookChange().load(body)
    except ValidationError as e:
        errors = flatten_errors(e.messages)
        raise ValidationFailed(f"Invalid {', '.join(errors)}.", errors) from e
    return outbox().update(webhook_id, _checked(data))


@blp.route("/<webhook_id>", methods=["DELETE"])
@requires("admin")
@blp.response(204)
@blp.doc(summary="Remove a webhook and its deliveries")
@problems(404)
def remove(webhook_id: str) -> Any:
    outbox().delete(webhook_id)
    return "", 204


@blp.route("/<webhook_id>/deliveries", methods=["GET"])
@requires("admin")
@blp.arguments(PageArgs(), location="query", error_status_code=400)
@blp.response(200, DeliveryListSchema)
@blp.doc(summary="The webhook's deliveries, newest first")
@problems(400, 404)
def deliveries(args: dict[str, Any], webhook_id: str) -> Any:
    items, total = outbox().deliveries(webhook_id, page=args["page"], per_page=args["per_page"])
    return page(items, total, args["page"], args["per_page"])


@blp.route("/<webhook_id>/deliveries/<delivery_id>/redeliver", methods=["POST"])
@requires("admin")
@blp.response(202, DeliverySchema)
@blp.doc(summary="Send a delivery again now (same webhook-id)")
@problems(404, 409)
def redeliver(webhook_id: str, delivery_id: str) -> Any:
    return outbox().redeliver(webhook_id, delivery_id), 202
