"""Mirrors and replicas in the server: a primary's pusher and a replica's fetcher are started
with the other background threads (`background`); a replica (`REPLICA_OF` set) refuses
everything but reading what is live, and runs no scheduler.

A replica answers 403 problem+json, naming the primary, to every management call and to any
request that is not a GET (or HEAD, OPTIONS) of the delivery API, media, `/healthz` or the
OpenAPI document (the areas `paths` marks `replicated`). 403 rather than 405: the method is
not what is wrong, the server is (the same call is allowed on the primary), and a management
GET is refused just as a POST is.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request

from cms.errors import ReadOnlyReplica
from cms.git.remotes import redact
from cms.web import paths
from cms.web.services import services

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def init(app: Flask) -> None:
    """Make a replica's app refuse what only its primary may answer (nothing on a primary)."""
    built = services(app)
    if built.replica is None:
        return
    primary = built.settings.primary_url
    where = f"the primary at {primary}" if primary else "the primary"
    detail = (
        f"This server is a read-only replica of {redact(built.replica.source)}; send "
        f"writes and management calls to {where}."
    )

    @app.before_request
    def read_only() -> None:
        # an unknown path is left to be a 404; anything else not public is refused
        public = request.path.startswith(paths.REPLICATED) or request.url_rule is None
        if request.method not in SAFE_METHODS or not public:
            raise ReadOnlyReplica(detail)


def status() -> str:
    """`/healthz`'s status: "degraded" while a replica refuses what its source holds (it
    serves what it had), else "ok"."""
    replica = services().replica
    return "degraded" if replica is not None and "refused" in replica.status() else "ok"


def health(admin: bool) -> dict[str, Any]:
    """What `/healthz` adds: a replica's lag, the `published` tip it serves and the commit it
    refuses, if any (for anyone; its `main` tip, source URL and last error for admins), a
    primary's mirrors and their state (for admins only: names and errors say where the
    content goes)."""
    built = services()
    if built.replica is not None:
        status = built.replica.status()
        if not admin:
            # where `main` points would show editorial activity (a save, not yet live) to the
            # world, as a primary's /healthz does not; `published` is public anyway
            status = {k: v for k, v in status.items() if k not in ("source", "last_error")}
            status["tips"] = {"published": status["tips"]["published"]}
        return {"replica": status}
    mirrors = built.mirrors
    return {"mirrors": mirrors.status(mirrors.tips())} if admin and mirrors else {}
