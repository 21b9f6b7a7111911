"""The sample frontend (`examples/frontend/`) served at `/frontend/`, so that `make run` has a
reader's view the workbench's "View Preview" and preview links can open.

Served only when its folder exists (`CMS_SAMPLE_FRONTEND`; default: the checkout's
`examples/frontend`, which an installed package has not; `""`: never). The page reads the
delivery API of the server it came from; its policy lets it fetch and show images from any
http(s) address, as it does when served on its own.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Response
from flask_smorest import Blueprint

from cms.errors import NotFound
from cms.web.documented import problems
from cms.web.services import services

CHECKOUT = Path(__file__).resolve().parents[2] / "examples" / "frontend"
FILES = {"index.html", "app.js", "style.css"}
TYPES = {"html": "text/html", "js": "text/javascript", "css": "text/css"}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' http: "
    "https:; img-src 'self' http: https: data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)

blp = Blueprint("frontend", __name__, description="The sample frontend, for previews.")


def resolved(configured: str | None) -> str | None:
    """The folder `SAMPLE_FRONTEND` names (None: the checkout's) when it holds the sample
    frontend, else None."""
    chosen = str(CHECKOUT) if configured is None else configured
    return chosen if chosen and os.path.isfile(os.path.join(chosen, "index.html")) else None


def folder() -> str | None:
    """The sample frontend's folder when this app serves it, else None."""
    return resolved(services().settings.sample_frontend)


@blp.route("/frontend/", methods=["GET"], defaults={"name": "index.html"})
@blp.route("/frontend/<name>", methods=["GET"])
@blp.doc(
    summary="The sample frontend (a reader's view of the delivery API)",
    security=[],
    responses={
        "200": {
            "description": "Its page, script or style sheet",
            "content": {"*/*": {"schema": {"type": "string"}}},
        }
    },
)
@problems(blp, 404)
def page(name: str) -> Any:
    found = folder()
    if found is None or name not in FILES:
        raise NotFound(f"There is no file {name[:100]!r} of the sample frontend here.")
    # three small files, read whole (nothing left open for a client that stops reading)
    response = Response(Path(found, name).read_bytes(), mimetype=TYPES[name.rsplit(".", 1)[1]])
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    return response
