"""The CMS's settings: one object, built once, used by the HTTP app and the `cms` command alike.

Each setting is taken from its default, then from the `CMS_<NAME>` environment variable, then
from an optional mapping of `<NAME>` keys (what `create_app(config)` is given). A variable's
value is read as JSON when it parses (`CMS_DURABLE=true`, `CMS_SCHEDULER_INTERVAL=0`), else as
the plain string, as Flask's `from_prefixed_env` reads it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cms.content.identity import Person

PREFIX = "CMS_"


@dataclass(frozen=True)
class Settings:
    """Every `CMS_*` setting the store, the CLI and the app read."""

    repo: str = "./content-repo"
    committer_name: str = "Git CMS"
    committer_email: str = "cms@localhost"
    durable: bool = False
    signing_key: str | None = None  # an SSH private key: sign the CMS's commits (cms.signing)
    manage_cors_origins: Any = field(default_factory=list)
    delivery_cache_control: str = "public, max-age=60, stale-while-revalidate=300"
    scheduler_interval: float = 5.0
    auth_failure_limit: str = "20 per minute"
    site_title: str = "Git CMS"
    site_url: str | None = None
    trusted_proxies: int = 0
    article_url: str | None = None
    max_content_length: int | None = 1024 * 1024
    media_max_bytes: int = 20_000_000
    media_url: str | None = None
    # the editors' workbench (see cms.web.workbench)
    session_lifetime: int = 12 * 3600
    workbench_dist: str | None = None
    preview_frontend: str | None = None
    # comma-separated seconds (or a list); the default spans about 31 hours
    webhook_retry_delays: Any = "5,30,120,600,3600,21600,86400"
    webhook_timeout: float = 10.0
    webhook_allow_private: bool = False
    webhook_interval: float = 0.25
    replica_of: str | None = None  # a git URL: serve as a read replica of it
    primary_url: str | None = None  # named in a replica's refusals
    # a public key file: a replica takes onto `published` only what it signed (cms.replica)
    verify_signatures: str | None = None
    replica_interval: float = 1.0
    mirror_poll_interval: float = 0.05
    mirror_retry_max: float = 30.0
    mirror_min_interval: float = 1.0
    mirror_settle: float = 0.1
    mirror_timeout: float = 120.0
    # each worker's response cache: its total budget, and the largest response it keeps
    response_cache_bytes: int = 64 * 1024 * 1024
    # (8 MiB: a sitemap file of 50,000 URLs, about 4 MB, is kept)
    response_cache_entry_bytes: int = 8 * 1024 * 1024
    # URLs per sitemap file (the protocol's limit); past it /sitemap.xml is an index
    sitemap_max_urls: int = 50_000
    # a reader's request catches the index up itself with at most this many new commits;
    # more are caught up in the background (see `cms.readiness`)
    catch_up_inline_commits: int = 200

    @classmethod
    def load(cls, config: Mapping[str, Any] | None = None,
             environ: Mapping[str, str] | None = None) -> Settings:
        """Return the settings from defaults, then `CMS_*` variables of `environ` (default:
        this process's environment), then the `<NAME>` keys of `config` (others are ignored)."""
        environ = os.environ if environ is None else environ
        given: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            name = f.name.upper()
            if PREFIX + name in environ:
                given[f.name] = _parse(environ[PREFIX + name])
            if config is not None and name in config:
                given[f.name] = config[name]
        for name in ("durable", "webhook_allow_private"):
            if name in given:
                given[name] = _flag(given[name])
        return cls(**given)

    @property
    def committer(self) -> Person:
        """Who commits every write the CMS makes (the editor is the author)."""
        return Person(self.committer_name, self.committer_email)

    def as_config(self) -> dict[str, Any]:
        """The settings as `<NAME>` keys, as Flask's `app.config` holds them."""
        return {f.name.upper(): getattr(self, f.name) for f in dataclasses.fields(self)}


def _parse(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def _flag(value: Any) -> bool:
    """A yes/no setting: JSON true/false or 1/0, or the words yes/no, on/off."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)
