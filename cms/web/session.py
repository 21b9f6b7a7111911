"""Sign-in for the editors' workbench: a token traded for an HttpOnly session cookie.

`POST /api/v1/session {"token"}` opens a session (204 + cookie, Secure over HTTPS),
`DELETE /api/v1/session` closes it, `GET /api/v1/session` says who is signed in (the workbench
shows each person the controls their role allows). How the cookie then authenticates:
`cookies`.
"""

from __future__ import annotations

from typing import Any

from flask import Response, g, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from cms.errors import Forbidden, Unauthorized
from cms.web.cookies import COOKIE, own_origin, sessions
from cms.web.documented import problems
from cms.web.failed_tokens import verify_bearer
from cms.web.request_helpers import Parser, requires


class SessionBlueprint(Blueprint):
    ARGUMENTS_PARSER = Parser()


blp = SessionBlueprint(
    "session",
    __name__,
    url_prefix="/api/v1/session",
    description="Sign-in for the workbench (a session cookie).",
)


class SignInArgs(Schema):
    class Meta:
        unknown = "raise"

    token = fields.String(required=True, validate=validate.Length(min=1, max=200))


class SignedInSchema(Schema):
    name = fields.String()
    email = fields.String()
    role = fields.String(metadata={"description": "author, editor or admin"})


@blp.route("", methods=["GET"])
@requires("author")
@blp.response(200, SignedInSchema)
@blp.doc(summary="Who is signed in: the name, email and role of the session's token")
@problems(blp, 401, 403, 429)
def signed_in() -> Any:
    return {"name": g.token.name, "email": g.token.email, "role": g.token.role}


@blp.route("", methods=["POST"])
@blp.arguments(SignInArgs())
@blp.response(204)
@blp.doc(
    summary="Sign in with a token: sets an HttpOnly, SameSite=Strict session cookie", security=[]
)
@problems(blp, 400, 401, 403, 413, 415, 422, 429)
def sign_in(args: dict[str, Any]) -> Any:
    token = verify_bearer(args["token"].strip())
    if token is None:
        raise Unauthorized("The token is unknown or revoked.")
    response = Response(status=204)
    response.set_cookie(
        COOKIE,
        sessions().open(token),
        max_age=sessions().lifetime,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=request.is_secure,
    )
    return response


@blp.route("", methods=["DELETE"])
@blp.response(204)
@blp.doc(summary="Sign out: ends the session and clears its cookie", security=[])
@problems(blp, 403, 429)
def sign_out() -> Any:
    session = request.cookies.get(COOKIE)
    origin = request.headers.get("Origin")
    if session and origin is not None and origin != own_origin():
        raise Forbidden(
            "Sign-out is only accepted from this server's own pages.",
            {"Origin": ["Not this server's origin."]},
        )
    if session:
        sessions().close(session)
    response = Response(status=204)
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="Strict", secure=request.is_secure
    )
    return response
