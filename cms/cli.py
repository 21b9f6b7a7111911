"""The `cms` command: a thin layer over the store, the token store and the server."""

from __future__ import annotations

import functools
import subprocess
import sys
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import click

from . import check as checks
from . import transfer
from .demo import ARTICLES as DEMO_ARTICLES
from .errors import CMSError
from .gitobjects import Person
from .settings import Settings
from .store import ArticleStore
from .tokens import ROLES, TokenStore

F = TypeVar("F", bound=Callable[..., Any])
DEMO_EDITOR = Person("Demo Editor", "demo@example.org")


def cms_errors(fn: F) -> F:
    """Turn the library's errors into a clean CLI error."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CMSError as e:
            details = "".join(f"\n  {k}: {' '.join(v)}" for k, v in (e.errors or {}).items())
            raise click.ClickException(e.detail + details) from e
        except FileNotFoundError as e:
            raise click.ClickException(f"{e}. Run `cms init` first.") from e

    return wrapper  # type: ignore[return-value]


def open_store(ctx: click.Context) -> ArticleStore:
    """The store the settings describe, as the server opens it (same committer, so the index
    reads the CLI's commits as the CMS's own; same durability)."""
    return ArticleStore.open(ctx.obj["settings"], make_card=_card)


def _card(doc: dict[str, Any]) -> dict[str, Any]:
    """`public.card`, imported only when something is published (it loads the summarizer)."""
    from .public import card

    return card(doc)


def git_identity(default: Person) -> Person:
    """The user's own git name and email, or `default`."""

    def config(key: str) -> str:
        result = subprocess.run(["git", "config", "--get", key], capture_output=True, text=True)
        return result.stdout.strip()

    name, email = config("user.name"), config("user.email")
    return Person(name, email) if name and email else default


@click.group(epilog="""\b
Example:
  cms init --demo          # create ./content-repo with sample articles
  cms serve                # API on http://127.0.0.1:8000
""")
@click.option("--repo", envvar="CMS_REPO", default="./content-repo", show_default=True,
              help="The content repository (env CMS_REPO).")
@click.version_option(package_name="git-cms")
@click.pass_context
def main(ctx: click.Context, repo: str) -> None:
    """A headless CMS whose storage is a git repository."""
    ctx.obj = {"settings": Settings.load({"REPO": repo})}


@main.command(epilog="""\b
Example:
  cms init --demo
  cms --repo /srv/news init --no-token
""")
@click.option("--demo/--no-demo", default=False, help="Add sample articles to a new repository.")
@click.option("--token/--no-token", "first_token", default=True,
              help="Print an admin token when the repository has none yet.")
@click.pass_context
@cms_errors
def init(ctx: click.Context, demo: bool, first_token: bool) -> None:
    """Create the content repository if there is none (safe to run again)."""
    settings = ctx.obj["settings"]
    store = ArticleStore.init(settings.repo, committer=settings.committer,
                              durable=settings.durable, make_card=_card)
    if demo and store.count() == 0 and not store.index.revisions_exist():
        for article in DEMO_ARTICLES:
            store.publish(store.create(article, DEMO_EDITOR).slug, DEMO_EDITOR)
        click.echo(f"Added and published {len(DEMO_ARTICLES)} demo articles.", err=True)
    tokens = TokenStore(store.repo.git_dir)
    if first_token and not tokens.any():
        person = git_identity(Person("Admin", "admin@example.org"))
        _, secret = tokens.create(person.name, person.email, "admin")
        click.echo(f"Created an admin token for {person.name} <{person.email}>; "
                   "it is shown only this once:", err=True)
        click.echo(f"\n  export CMS_TOKEN={secret}\n", err=True)
    click.echo(f"Content repository ready at {store.repo.path}", err=True)


@main.command(epilog="""\b
Example:
  cms serve --port 8000 --workers 4
""")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64),
              help="Threads per worker.")
@click.pass_context
@cms_errors
def serve(ctx: click.Context, host: str, port: int, workers: int, threads: int) -> None:
    """Serve the API with gunicorn."""
    from .server import serve as run

    open_store(ctx)  # fail early, with a clear message, if there is no repository
    run(ctx.obj["settings"].repo, host, port, workers, threads)


@main.group(epilog="""\b
Example:
  cms token create --name "Ada Lovelace" --email ada@example.org --role editor
  cms token list
  cms token revoke 1a2b3c4d
""")
def token() -> None:
    """Manage API tokens (stored hashed, outside the content history)."""


@token.command("create", epilog="""\b
Example:
  export CMS_TOKEN=$(cms token create --name "Ada Lovelace" --email ada@example.org \\
                                      --role editor)
""")
@click.option("--name", required=True, help="Becomes the author of this token's commits.")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(ROLES), default="author", show_default=True)
@click.pass_context
@cms_errors
def token_create(ctx: click.Context, name: str, email: str, role: str) -> None:
    """Print a new token, and nothing else, on stdout."""
    _, secret = TokenStore(open_store(ctx).repo.git_dir).create(name, email, role)
    click.echo(secret)


@token.command("list", epilog="""\b
Example:
  cms token list    # id, role, state, created, name <email>
""")
@click.pass_context
@cms_errors
def token_list(ctx: click.Context) -> None:
    """List tokens (never their secrets)."""
    for t in TokenStore(open_store(ctx).repo.git_dir).list():
        state = "revoked" if t.revoked else "active"
        click.echo(f"{t.id}  {t.role:<6}  {state:<7}  {t.created_at}  {t.name} <{t.email}>")


@token.command("revoke", epilog="""\b
Example:
  cms token revoke 1a2b3c4d
""")
@click.argument("token_id")
@click.pass_context
@cms_errors
def token_revoke(ctx: click.Context, token_id: str) -> None:
    """Revoke a token by its id; it stops working at once in every server process."""
    t = TokenStore(open_store(ctx).repo.git_dir).revoke(token_id)
    click.echo(f"Revoked {t.id} ({t.name} <{t.email}>)", err=True)


@main.command(epilog="""\b
Example:
  cms check && echo "all articles valid"
""")
@click.pass_context
@cms_errors
def check(ctx: click.Context) -> None:
    """Validate every article on the draft line and the repository's integrity."""
    store = open_store(ctx)
    found = checks.problems(store)
    for line in found:
        click.echo(line)
    if found:
        click.echo(f"{len(found)} problem(s) found.", err=True)
        sys.exit(1)
    click.echo(f"OK: {store.count()} articles valid, git fsck clean.", err=True)


@main.command("publish-due", epilog="""\b
Example (crontab, every minute):
  * * * * *  cms --repo /srv/content-repo publish-due
""")
@click.pass_context
@cms_errors
def publish_due(ctx: click.Context) -> None:
    """Publish scheduled articles whose time has come (the server also does this itself)."""
    for slug in open_store(ctx).publish_due():
        click.echo(f"Published {slug}")


@main.command("import", epilog="""\b
Example:
  cms import articles.jsonl
  cms import ./exported/ --name "Ada Lovelace" --email ada@example.org
""")
@click.argument("path", type=click.Path(exists=True))
@click.option("--name", help="Commit author (default: your git user.name).")
@click.option("--email", help="Commit author email (default: your git user.email).")
@click.pass_context
@cms_errors
def import_(ctx: click.Context, path: str, name: str | None, email: str | None) -> None:
    """Load articles from a directory of .json files, a .json file or a .jsonl file.

    Every article is validated first; if any is invalid nothing is imported. Each article is
    then created, or updated when its slug exists, as one commit.
    """
    store = open_store(ctx)
    editor = git_identity(Person("CMS Import", "import@localhost"))
    editor = Person(name or editor.name, email or editor.email)
    sources = list(transfer.read(path))
    problems = transfer.check(sources)
    if problems:
        for line in problems:
            click.echo(line, err=True)
        raise click.ClickException(f"{len(problems)} invalid article(s); nothing imported.")
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    with _progress(sources, "Importing") as bar:
        for source in bar:
            counts[transfer.save(store, source.data, editor)] += 1
    click.echo(", ".join(f"{n} {k}" for k, n in counts.items()), err=True)


@main.command(epilog="""\b
Example:
  cms export articles.jsonl      # JSON Lines, one article a line
  cms export ./backup/           # a directory of <slug>.json files
""")
@click.argument("path", type=click.Path())
@click.pass_context
@cms_errors
def export(ctx: click.Context, path: str) -> None:
    """Write every article on the draft line to JSON Lines (*.jsonl) or a directory."""
    store = open_store(ctx)
    slugs = store.slugs()
    writer = transfer.write_jsonl if path.endswith(".jsonl") else transfer.write_files
    with _progress(writer(store, path, slugs), "Exporting", len(slugs)) as bar:
        for _ in bar:
            pass
    click.echo(f"Exported {len(slugs)} articles to {path}", err=True)


def _progress(items: Iterable[Any], label: str, length: int | None = None) -> Any:
    return click.progressbar(items, label=label, length=length, file=sys.stderr,
                             show_pos=True)


if __name__ == "__main__":
    main()
