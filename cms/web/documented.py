"""Listing in the OpenAPI document the problem+json answers a view can give: the one
`problems` decorator every blueprint uses (bound to it with `functools.partial` where all its
views share some answers)."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema

PROBLEM = "application/problem+json"
# what any view behind `requires` may answer: a bad token, a lower role, too many bad tokens
TOKEN = (401, 403, 429)


def problems(
    blp: Blueprint, *codes: int, schema: type[Schema] | None = None
) -> Callable[[Any], Any]:
    """Document each status in `codes` as a problem+json response of the view (with `schema`
    when its problems carry more than the usual fields)."""

    def decorator(view: Any) -> Any:
        for code in codes:
            if schema is None:
                view = blp.alt_response(code, response=HTTPStatus(code).name)(view)
            else:
                view = blp.alt_response(
                    code, schema=schema, content_type=PROBLEM, description=HTTPStatus(code).phrase
                )(view)
        return view

    return decorator
