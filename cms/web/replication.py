"""Mirrors and replicas in the server: a primary runs the pusher; a replica (`REPLICA_OF` set)
runs the fetcher, refuses everything but reading what is live, and runs no scheduler.

A replica answers 403 problem+json, naming the primary, to every management call and to any
request that is not a GET (or HEAD, OPTIONS) of the delivery API, media, `/healthz` or the
OpenAPI document. 403 rather than 405: the method is not what is wrong, the server is (the
same call is allowed on the primary), and a management GET is refused just as a POST is.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request

from cms.errors import ReadOnlyReplica
from cms.git.remotes import redact
from cms.replication import pusher
from cms.replication.mirrors import Mirrors
from cms.replication.replica import Replica
from cms.settings import Settings
from cms.store import ArticleStore

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
PUBLIC_PATHS = ("/api/v1/articles", "/api/v1/sync", "/feed.", "/sitemap", "/media/",
                "/healthz", "/api/v1/openapi.json")


def init(app: Flask, store: ArticleStore, settings: Settings) -> None:
    """Set the app up as a replica or as a primary, and start its background job."""
    source = settings.replica_of
    if source:
        replica = Replica(store.repo.git_dir, source, settings.verify_signatures)
        app.extensions["cms.replica"] = replica
        primary = settings.primary_url
        where = f"the primary at {primary}" if primary else "the primary"
        detail = (f"This server is a read-only replica of {redact(source)}; send writes and "
                  f"management calls to {where}.")

        @app.before_request
        def read_only() -> None:
            # an unknown path is left to be a 404; anything else not public is refused
            public = request.path.startswith(PUBLIC_PATHS) or request.url_rule is None
            if request.method not in SAFE_METHODS or not public:
                raise ReadOnlyReplica(detail)

        if not app.testing:
            # a busy loop of fetches would help nobody
            replica.start(max(0.1, float(settings.replica_interval)), store.catch_up)
        return
    app.extensions["cms.mirrors"] = Mirrors(store.repo.git_dir)
    if not app.testing and float(settings.mirror_poll_interval) > 0:
        pusher.start(store.repo.git_dir, poll=float(settings.mirror_poll_interval),
                     retry_max=float(settings.mirror_retry_max),
                     timeout=float(settings.mirror_timeout),
                     min_interval=float(settings.mirror_min_interval),
                     settle=float(settings.mirror_settle))


def status() -> str:
    """`/healthz`'s status: "degraded" while a replica refuses what its source holds (it
    serves what it had), else "ok"."""
    replica: Replica | None = current_app.extensions.get("cms.replica")
    return "degraded" if replica is not None and "refused" in replica.status() else "ok"


def health(admin: bool) -> dict[str, Any]:
    """What `/healthz` adds: a replica's lag, the `published` tip it serves and the commit it
    refuses, if any (for anyone; its `main` tip, source URL and last error for admins), a
    primary's mirrors and their state (for admins only: names and errors say where the
    content goes)."""
    replica: Replica | None = current_app.extensions.get("cms.replica")
    if replica is not None:
        status = replica.status()
        if not admin:
            # where `main` points would show editorial activity (a save, not yet live) to the
            # world, as a primary's /healthz does not; `published` is public anyway
            status = {k: v for k, v in status.items() if k not in ("source", "last_error")}
            status["tips"] = {"published": status["tips"]["published"]}
        return {"replica": status}
    mirrors: Mirrors = current_app.extensions["cms.mirrors"]
    return {"mirrors": mirrors.status(mirrors.tips())} if admin else {}
