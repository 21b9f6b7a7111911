"""Paginated list responses: `{"items", "meta"}` and a `Link` header."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import request

from cms.web.addresses import external


def page(
    items: list[Any], total: int, page: int, per_page: int, args: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """Return the list body and its headers (Link with next/prev where they exist, carrying
    the list's other arguments: `args` when given, so that parameters the route does not
    read are left out and a cached answer depends on those it reads alone; else the
    request's query)."""
    given = (
        request.args.to_dict()
        if args is None
        else {k: str(v) for k, v in args.items() if v is not None}
    )
    pages = max(1, -(-total // per_page))
    links = []
    for rel, number in (("prev", page - 1), ("next", page + 1)):
        if 1 <= number <= pages:
            query = {**given, "page": str(number), "per_page": str(per_page)}
            links.append(f'<{external(request.path, urlencode(query))}>; rel="{rel}"')
    body = {
        "items": items,
        "meta": {"page": page, "per_page": per_page, "total": total, "pages": pages},
    }
    return body, ({"Link": ", ".join(links)} if links else {})
