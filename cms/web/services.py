"""What `create_app` builds for the views: one typed object per app, `services()` to reach it.

Building starts nothing: the background threads are started by `cms.web.start(app)` (see
`background`), which `cms serve` calls in each worker, so tests and tools build apps freely.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

from cms.auth.failures import FailedTokens
from cms.auth.sessions import SessionStore
from cms.auth.tokens import TokenStore
from cms.delivery import cards as public
from cms.delivery.preview import Preview, PreviewLinks
from cms.delivery.service import Delivery
from cms.edge import outbox as edge_outbox
from cms.edge.outbox import Outbox as PurgeOutbox
from cms.replication.mirrors import Mirrors
from cms.replication.replica import Replica
from cms.settings import Settings
from cms.store import ArticleStore
from cms.store.media import MediaLibrary
from cms.store.workflow import Workflow
from cms.webhooks import outbox_of
from cms.webhooks.outbox import Outbox
from cms.workbench.decap import DecapBackend

if TYPE_CHECKING:
    from cms.web.background import Background

KEY = "cms"  # where an app holds its services: `app.extensions["cms"]`


@dataclass
class Services:
    """Everything the views of one app use, built from its settings."""

    settings: Settings
    store: ArticleStore
    tokens: TokenStore
    failed_tokens: FailedTokens  # bad tokens per client address, in this process
    sessions: SessionStore
    media: MediaLibrary
    delivery: Delivery
    preview: Preview
    preview_links: PreviewLinks
    webhooks: Outbox
    # what /healthz shows of purging the caches in front; `cms serve` runs the purger itself,
    # a process beside its workers (`cms purge run`)
    purges: PurgeOutbox
    decap: DecapBackend
    mirrors: Mirrors | None  # a primary's mirrors, which its pusher pushes to
    replica: Replica | None  # a replica's copy of its source, which its fetcher fetches
    background: Background | None = None  # what `start` started, once it has

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        media_base: Callable[[], str],
        deploy_preview: Callable[[str], dict[str, Any]],
    ) -> Services:
        """Open the store and build every service on it; starts no thread. `media_base()`
        is where public media URLs start for the request being answered; `deploy_preview`
        what Decap's "View preview" opens."""
        store = ArticleStore.open(settings, make_card=public.card)
        git_dir = store.repo.git_dir
        media = MediaLibrary(store, max_bytes=settings.media_max_bytes)
        replica = (
            Replica(git_dir, settings.replica_of, settings.verify_signatures)
            if settings.replica_of
            else None
        )
        return cls(
            settings=settings,
            store=store,
            tokens=TokenStore(git_dir),
            failed_tokens=FailedTokens(
                settings.auth_failure_limit, enabled=settings.ratelimit_enabled
            ),
            sessions=SessionStore(git_dir, settings.session_lifetime),
            media=media,
            delivery=Delivery(
                store, small=settings.catch_up_inline_commits, media=media, media_url=media_base
            ),
            preview=Preview(store),
            preview_links=PreviewLinks(store),
            webhooks=outbox_of(store, settings),
            purges=edge_outbox(store, settings),
            decap=DecapBackend(store, Workflow(store.repo, store.committer), deploy_preview, media),
            mirrors=None if replica else Mirrors(git_dir),
            replica=replica,
        )

    def close(self) -> None:
        """Stop delivery's filler and catch-up threads (`Readiness.close`), which read
        through the store and would start its git processes again, then end the git
        processes the app's store (and the workbench, which shares its repository) reads
        through; see `ArticleStore.close`. The threads `cms.web.start` started are stopped
        by its `Background`."""
        self.delivery.ready.close()
        self.store.close()


def services(app: Flask | None = None) -> Services:
    """The services of `app`, by default of the app answering the current request."""
    found: Services = (current_app if app is None else app).extensions[KEY]
    return found
