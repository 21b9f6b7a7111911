"""`cms mirror ...`: add, list, remove and push to the repository's push mirrors."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from cms.errors import CMSError
from cms.git.repository import Repository
from cms.replication.mirrors import Mirrors


@contextmanager
def _cms_errors() -> Iterator[None]:
    try:
        yield
    except CMSError as e:
        details = "".join(f"\n  {k}: {' '.join(v)}" for k, v in (e.errors or {}).items())
        raise click.ClickException(e.detail + details) from e
    except FileNotFoundError as e:
        raise click.ClickException(f"{e}. Run `cms init` first.") from e


def _mirrors(ctx: click.Context) -> Mirrors:
    return Mirrors(Repository(ctx.obj["settings"].repo).git_dir)


@click.group(
    epilog="""\b
Example:
  cms mirror add backup git@git.example.org:newsroom/content.git
  cms mirror list
  cms mirror remove backup
"""
)
def mirror() -> None:
    """Push mirrors: git repositories the server pushes `main` and `published` to after each
    write (kept outside the content history)."""


@mirror.command(
    "add",
    epilog="""\b
Example:
  cms mirror add backup https://git.example.org/newsroom/content.git
  cms mirror add github git@github.com:newsroom/content.git --min-interval 10
""",
)
@click.argument("name")
@click.argument("url")
@click.option(
    "--min-interval",
    type=float,
    default=0.0,
    show_default=True,
    help="Seconds between two pushes to this mirror (for hosts that ask for few).",
)
@click.pass_context
def add(ctx: click.Context, name: str, url: str, min_interval: float) -> None:
    """Add mirror NAME (lower-case letters, digits, hyphens) at git URL URL."""
    with _cms_errors():
        m = _mirrors(ctx).add(name, url, min_interval)
    click.echo(f"Added mirror {m.name}; a running server pushes to it within a second.", err=True)


@mirror.command(
    "list",
    epilog="""\b
Example:
  cms mirror list    # name, status, URL, last push, pushes, failures; then any error
""",
)
@click.pass_context
def list_(ctx: click.Context) -> None:
    """List mirrors with what the last pushes did (in sync, behind, failing, diverged)."""
    with _cms_errors():
        mirrors = _mirrors(ctx)
        shown = mirrors.status(mirrors.tips())
    if not shown:
        click.echo("No mirrors. Add one with `cms mirror add NAME URL`.", err=True)
    for m in shown:
        click.echo(
            f"{m['name']}  {m['status']}  {m['url']}  last push "
            f"{m['last_push_at'] or 'never'}  pushes {m['pushes']}  "
            f"failures {m['failures']}"
        )
        if m["last_error"]:
            click.echo(f"  error: {m['last_error']}")


@mirror.command(
    "remove",
    epilog="""\b
Example:
  cms mirror remove backup
""",
)
@click.argument("name")
@click.pass_context
def remove(ctx: click.Context, name: str) -> None:
    """Stop pushing to mirror NAME (the mirror itself is left as it is)."""
    with _cms_errors():
        m = _mirrors(ctx).remove(name)
    click.echo(f"Removed mirror {m.name}.", err=True)


@mirror.command(
    "push",
    epilog="""\b
Example (with no server running, e.g. after `cms import`):
  cms mirror push
""",
)
@click.argument("name", required=False)
@click.pass_context
def push(ctx: click.Context, name: str | None) -> None:
    """Push `main` and `published` now, to mirror NAME or to every mirror (exit 1 if any
    push failed). The server does this by itself after each write."""
    with _cms_errors():
        mirrors = _mirrors(ctx)
        names = [name] if name else [m.name for m in mirrors.all()]
        failed = 0
        for each in names:
            result = mirrors.push(each)
            click.echo(f"{each}: {'pushed' if result.ok else result.error}")
            failed += not result.ok
    if failed:
        sys.exit(1)
