"""`cms purge status`: what the caches in front still have to be told (see `cms.edge`)."""

from __future__ import annotations

import json

import click

from cms.edge.outbox import Outbox
from cms.edge.targets import parse
from cms.git.repository import Repository


@click.group(epilog="""\b
Example:
  CMS_PURGE_TARGETS=varnish+http://127.0.0.1:6081 cms purge status
""")
def purge() -> None:
    """Purges of the caches in front (`CMS_PURGE_TARGETS`): a running server sends them."""


@purge.command("status", epilog="""\b
Example:
  cms purge status           # commits not yet turned into purges; per cache, what waits
  cms purge status --json    # the same as /healthz shows an admin
""")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Show the backlog: commits not yet turned into purges, and per cache the purges waiting,
    since when, the requests sent and its last answer (exit 1 when a purge waits on a cache
    that failed)."""
    settings = ctx.obj["settings"]
    try:
        targets = parse(settings.purge_targets)
        repo = Repository(settings.repo)
    except ValueError as e:
        raise click.ClickException(str(e)) from e
    except Exception as e:
        raise click.ClickException(f"{e}. Run `cms init` first.") from e
    if not targets:
        raise click.ClickException("No caches to purge: set CMS_PURGE_TARGETS (e.g. "
                                   "varnish+http://127.0.0.1:6081).")
    shown = Outbox(repo, targets).status()
    if as_json:
        click.echo(json.dumps(shown, indent=2))
    else:
        behind = shown["commits_behind"]
        click.echo("commits not yet turned into purges: "
                   + ("no server has looked yet" if behind is None else str(behind)))
        for t in shown["targets"]:
            click.echo(f"{t['target']}  pending {t['pending']} ({t['pending_keys']} keys, "
                       f"since {t['oldest_pending_at'] or '-'})  requests {t['requests']}  "
                       f"last purge {t['last_purge_at'] or 'never'}")
            if t["last_error"]:
                click.echo(f"  last error ({t['last_error_at']}): {t['last_error']}")
    if any(t["pending"] and t["attempts"] for t in shown["targets"]):
        ctx.exit(1)
