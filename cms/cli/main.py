"""The `cms` command: a thin layer over the store, the token store and the server."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import click

from cms.auth.tokens import ROLES, TokenStore
from cms.cli.mirror import mirror
from cms.cli.purge import alongside, purge
from cms.content import identity
from cms.content.identity import Person
from cms.content.layout import MAIN, PUBLISHED
from cms.demo.articles import ARTICLES as DEMO_ARTICLES
from cms.demo.articles import with_pictures
from cms.demo.pictures import pictures
from cms.errors import CMSError
from cms.git import bare, signing
from cms.integrity import check as checks
from cms.integrity import gate
from cms.settings import BadSetting, Settings
from cms.store import ArticleStore, export_files, import_files, releases, transfer
from cms.store.media import MediaLibrary

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
    from cms.delivery.cards import card

    return card(doc)


def git_identity(default: Person) -> Person:
    """The user's own git name and email when both are set and valid, or `default`."""

    def config(key: str) -> str:
        result = subprocess.run(["git", "config", "--get", key], capture_output=True, text=True)
        return result.stdout.strip()

    name, email = config("user.name"), config("user.email")
    return default if identity.problems(name, email) else Person(name, email)


@click.group(
    epilog="""\b
Example:
  cms init --demo          # create ./content-repo with sample articles
  cms serve                # API on http://127.0.0.1:8000
"""
)
@click.option(
    "--repo",
    envvar="CMS_REPO",
    default="./content-repo",
    show_default=True,
    help="The content repository (env CMS_REPO).",
)
@click.version_option(package_name="git-cms")
@click.pass_context
def main(ctx: click.Context, repo: str) -> None:
    """A headless CMS whose storage is a git repository."""
    try:
        ctx.obj = {"settings": Settings.load({"REPO": repo})}
    except BadSetting as e:  # before any command runs, `cms serve` included
        raise click.ClickException(e.detail) from e


@main.command(
    epilog="""\b
Example:
  cms init --demo
  cms --repo /srv/news init --no-token
  cms --repo ./site.git init --bare-from ./site    # from a checkout
"""
)
@click.option("--demo/--no-demo", default=False, help="Add sample articles to a new repository.")
@click.option(
    "--token/--no-token",
    "first_token",
    default=True,
    help="Print an admin token when the repository has none yet.",
)
@click.option(
    "--bare-from",
    metavar="PATH",
    type=click.Path(),
    help="First make --repo (a new path) a bare copy of the branches of the git "
    "repository at PATH, such as a checkout, which is left as it is.",
)
@click.pass_context
@cms_errors
def init(ctx: click.Context, demo: bool, first_token: bool, bare_from: str | None) -> None:
    """Create the content repository if there is none (safe to run again), and install
    the git gate (a pre-receive hook) that checks every push.

    The repository is bare: the CMS never updates a working tree, so a checkout (or a
    linked worktree with main or published checked out) is refused; --bare-from makes a
    bare copy of one to use instead."""
    settings = ctx.obj["settings"]
    if bare_from is not None:
        branches = bare.clone_bare(bare_from, settings.repo)
        click.echo(
            f"Copied the branches of {bare_from} ({', '.join(branches) or 'none'}) "
            f"to {settings.repo}; {bare_from} can pull from it and push to it.",
            err=True,
        )
        if MAIN not in branches:
            click.echo(
                f"{bare_from} has no branch {MAIN}: the CMS starts its own, and keeps "
                "the other branches as they are.",
                err=True,
            )
        elif PUBLISHED not in branches:
            click.echo(
                f"{bare_from} has no branch {PUBLISHED} (a clone has it only as "
                f"origin/{PUBLISHED}): nothing is live until it is published again.",
                err=True,
            )
    store = ArticleStore.init(
        settings.repo,
        committer=settings.committer,
        durable=settings.durable,
        make_card=_card,
        signing_key=settings.signing_key,
    )
    gate.install(store.repo.git_dir, settings.committer_email)
    if settings.signing_key:
        signing.install(store.repo.git_dir, settings.committer_email, settings.signing_key)
    if demo and store.count() == 0 and not store.index.drafts.revisions_exist():
        library = MediaLibrary(store)
        paths = {
            name: library.upload(data, DEMO_EDITOR, f"{name}.jpg").path
            for name, data in pictures().items()
        }
        for article in with_pictures(paths):
            store.publish(store.create(article, DEMO_EDITOR).slug, DEMO_EDITOR)
        click.echo(f"Added and published {len(DEMO_ARTICLES)} demo articles.", err=True)
    tokens = TokenStore(store.repo.git_dir)
    if first_token and not tokens.any():
        person = git_identity(Person("Admin", "admin@example.org"))
        _, secret = tokens.create(person.name, person.email, "admin")
        click.echo(
            f"Created an admin token for {person.name} <{person.email}>; "
            "it is shown only this once:",
            err=True,
        )
        click.echo(f"\n  export CMS_TOKEN={secret}\n", err=True)
    click.echo(f"Content repository ready at {store.repo.path}", err=True)


@main.command(
    epilog="""\b
Example:
  cms serve --port 8000 --workers 4
  cms --repo ./replica serve --port 8001 --replica-of git://git.example.org/content.git
  cms --repo ./replica serve --port 8001 --replica-of git://git.example.org/content.git \\
      --verify-signatures cms-key.pub
"""
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--threads",
    default=4,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Threads per worker.",
)
@click.option(
    "--replica-of",
    metavar="URL",
    envvar="CMS_REPLICA_OF",
    help="Serve as a read replica of this git URL (a mirror of the primary).",
)
@click.option(
    "--primary-url",
    metavar="URL",
    envvar="CMS_PRIMARY_URL",
    help="With --replica-of: the primary's address, named in refusals.",
)
@click.option(
    "--verify-signatures",
    metavar="KEYFILE",
    envvar="CMS_VERIFY_SIGNATURES",
    type=click.Path(dir_okay=False),
    help="With --replica-of: the public half of the primary's CMS_SIGNING_KEY; "
    "serve no commit on `published` that it did not sign.",
)
@click.pass_context
@cms_errors
def serve(
    ctx: click.Context,
    host: str,
    port: int,
    workers: int,
    threads: int,
    replica_of: str | None,
    primary_url: str | None,
    verify_signatures: str | None,
) -> None:
    """Serve the API with gunicorn."""
    from cms.cli.server import check_free
    from cms.cli.server import serve as run
    from cms.replication.replica import Replica

    settings = ctx.obj["settings"]
    if verify_signatures and not replica_of:
        raise click.UsageError("--verify-signatures is for a replica: give --replica-of too.")
    key = os.path.abspath(verify_signatures) if verify_signatures else None
    if replica_of:
        Replica.prepare(settings.repo, replica_of, verify_key=key)
    store = open_store(ctx)  # fail early, with a clear message, if there is no repository
    gate.refresh(store.repo.git_dir, settings.committer_email)
    check_free(host, port)
    click.echo(_where(host, port, settings.sample_frontend), err=True)
    with alongside(settings):  # the purger, when caches in front are to be purged
        run(
            settings.repo,
            host,
            port,
            workers,
            threads,
            {"REPLICA_OF": replica_of, "PRIMARY_URL": primary_url, "VERIFY_SIGNATURES": key}
            if replica_of
            else None,
        )


def _where(host: str, port: int, sample_frontend: str | None) -> str:
    """What `cms serve` says first: where to point a browser."""
    from cms.web.frontend import resolved

    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    root = f"http://{f'[{shown}]' if ':' in shown else shown}:{port}"
    lines = [
        f"Serving the CMS at {root}/ (Ctrl-C stops it)",
        f"  Workbench:        {root}/admin/  (sign in with an API token: the "
        "`export CMS_TOKEN=...` line `cms init` printed on the first run, or a new one "
        "from `cms token create`)",
    ]
    if resolved(sample_frontend):
        lines.append(f"  Sample frontend:  {root}/frontend/")
    lines.append(
        f"  API:              {root}/api/v1/articles  (OpenAPI: {root}/api/v1/openapi.json)"
    )
    return "\n".join(lines)


@main.group(
    epilog="""\b
Example:
  cms token create --name "Ada Lovelace" --email ada@example.org --role editor
  cms token list
  cms token revoke 1a2b3c4d
"""
)
def token() -> None:
    """Manage API tokens (stored hashed, outside the content history)."""


@token.command(
    "create",
    epilog="""\b
Example:
  export CMS_TOKEN=$(cms token create --name "Ada Lovelace" --email ada@example.org \\
                                      --role editor)
""",
)
@click.option("--name", required=True, help="Becomes the author of this token's commits.")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(ROLES), default="author", show_default=True)
@click.pass_context
@cms_errors
def token_create(ctx: click.Context, name: str, email: str, role: str) -> None:
    """Print a new token, and nothing else, on stdout."""
    _, secret = TokenStore(open_store(ctx).repo.git_dir).create(name, email, role)
    click.echo(secret)


@token.command(
    "list",
    epilog="""\b
Example:
  cms token list    # id, role, state, created, name <email>
""",
)
@click.pass_context
@cms_errors
def token_list(ctx: click.Context) -> None:
    """List tokens (never their secrets)."""
    for t in TokenStore(open_store(ctx).repo.git_dir).list():
        state = "revoked" if t.revoked else "active"
        click.echo(f"{t.id}  {t.role:<6}  {state:<7}  {t.created_at}  {t.name} <{t.email}>")


@token.command(
    "revoke",
    epilog="""\b
Example:
  cms token revoke 1a2b3c4d    # prints each schedule it cancelled
""",
)
@click.argument("token_id")
@click.option(
    "--keep-schedules",
    is_flag=True,
    help="Leave the schedules set under the token's name and email to run.",
)
@click.option(
    "--author",
    "author",
    help='Who cancels the schedules, "Name <email>" (default: your git user.name and user.email).',
)
@click.pass_context
@cms_errors
def token_revoke(
    ctx: click.Context, token_id: str, keep_schedules: bool, author: str | None
) -> None:
    """Revoke a token by its id; it stops working at once in every server process.

    The schedules still to run that were set under the token's name and email are cancelled
    (one "Unschedule <slug>" commit each, with a `Revoked-Token:` trailer), so nothing the
    token scheduled goes live after it; each is printed on stdout."""
    store = open_store(ctx)
    editor = _editor(author, None, None, Person("CMS Command Line", "cli@localhost"))
    t = TokenStore(store.repo.git_dir).revoke(token_id)
    click.echo(f"Revoked {t.id} ({t.name} <{t.email}>)", err=True)
    if keep_schedules:
        return
    cancelled = store.publishing.cancel_schedules(
        Person(t.name, t.email),
        editor,
        detail=f"(token {t.id} revoked)",
        trailers={"Revoked-Token": t.id},
    )
    for slug, when in cancelled:
        click.echo(f"Unscheduled {slug} (was {when})")
    if cancelled:
        click.echo(
            f"{len(cancelled)} pending schedule(s) cancelled; an editor can set them again.",
            err=True,
        )


@main.command(
    epilog="""\b
Example:
  cms check && echo "all articles valid"
"""
)
@click.pass_context
@cms_errors
def check(ctx: click.Context) -> None:
    """Validate every article on the draft line and the repository's integrity."""
    store = open_store(ctx)
    found = checks.problems(store.repo)
    for line in found:
        click.echo(line)
    if found:
        click.echo(f"{len(found)} problem(s) found.", err=True)
        sys.exit(1)
    click.echo(f"OK: {store.count()} articles valid, git fsck clean.", err=True)


@main.command(
    "publish-due",
    epilog="""\b
Example (crontab, every minute):
  * * * * *  cms --repo /srv/content-repo publish-due
""",
)
@click.pass_context
@cms_errors
def publish_due(ctx: click.Context) -> None:
    """Publish scheduled articles whose time has come (the server also does this itself)."""
    for slug in open_store(ctx).publish_due():
        click.echo(f"Published {slug}")


@main.command(
    "import",
    epilog="""\b
Example:
  cms import archive.jsonl --publish --author "Ada Lovelace <ada@example.org>"
  cms import ./exported/          # restores drafts and what was live
""",
)
@click.argument("path", type=click.Path(exists=True))
@click.option(
    "--publish",
    is_flag=True,
    help="Publish what is imported; a record's published_at is kept as when it went live.",
)
@click.option(
    "--copies",
    is_flag=True,
    help="Create a -2, -3 ... copy of an article without a slug whose title's slug "
    "exists, instead of updating it.",
)
@click.option(
    "--author",
    "author",
    help='Commit author, "Name <email>" (default: your git user.name and user.email).',
)
@click.option("--name", help="Commit author name (or use --author).")
@click.option("--email", help="Commit author email (or use --author).")
@click.pass_context
@cms_errors
def import_(
    ctx: click.Context,
    path: str,
    publish: bool,
    copies: bool,
    author: str | None,
    name: str | None,
    email: str | None,
) -> None:
    """Load articles from a folder of .json files, a .json file (an article or an array) or a
    .jsonl file.

    Every record is checked first; if any is bad, each bad one is named and nothing is
    imported. Every file skipped is named, with why: in a folder, only plain .json and
    .jsonl files are read (not Markdown, hidden files, links or folders named like
    articles). Nothing found to import is an error. Running the same import twice changes
    nothing: an article is matched by its slug, or by the slug its title gives, and updated
    (one commit each), never copied. What a record says is live (or everything, with
    --publish) is published, oldest published_at first, each publication's author date
    being that published_at.
    """
    store = open_store(ctx)
    editor = _editor(author, name, email, Person("CMS Import", "import@localhost"))
    now = int(time.time())
    checked = transfer.check(import_files.read(path), publish=publish, copies=copies, now=now)
    for line in checked.skipped + checked.problems:
        click.echo(line, err=True)
    skipped = f"; {len(checked.skipped)} file(s) skipped" if checked.skipped else ""
    if checked.problems:
        raise click.ClickException(
            f"{len(checked.problems)} bad record(s) of "
            f"{checked.records}; nothing imported{skipped}."
        )
    if not checked.records:
        raise click.ClickException(
            f"Nothing imported: no articles found in {path}{skipped}. `cms import` reads "
            "articles as JSON: .json files (one article or an array) and .jsonl files (one "
            "a line)."
        )
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    publications = []
    with _progress(import_files.articles(path), "Importing", checked.records) as sources:
        for source in transfer.in_batches(store, sources):
            record = transfer.prepare(source, publish=publish, copies=copies, now=now, check=False)
            outcome, publication = transfer.save(store, record, editor)
            counts[outcome] += 1
            if publication is not None:
                publications.append(publication)
    published = 0
    if publications:
        with _progress(
            transfer.publish(store, publications, editor), "Publishing", len(publications)
        ) as slugs:
            published = sum(1 for _ in slugs)
    click.echo(
        ", ".join(f"{n} {k}" for k, n in counts.items()) + f", {published} published" + skipped,
        err=True,
    )


@main.command(
    epilog="""\b
Example:
  cms export site.json           # a JSON array
  cms export articles.jsonl      # JSON Lines, one article a line
  cms export ./backup/           # a folder of <slug>.json files
"""
)
@click.argument("path", type=click.Path())
@click.pass_context
@cms_errors
def export(ctx: click.Context, path: str) -> None:
    """Write every article to a JSON array (*.json), JSON Lines (*.jsonl) or a folder.

    Each record is the draft's fields plus `meta`: its state, when it went live, and the
    live version when it differs from the draft, so `cms import` rebuilds the site.

    Nothing is written through a symbolic link, in the folder or anywhere in the path, nor
    over a folder, a pipe or a file with other hard links: each such path is named and
    nothing is exported.
    """
    store = open_store(ctx)
    refused = export_files.problems(path, store.reading.slugs())
    if refused:
        for line in refused:
            click.echo(line, err=True)
        raise click.ClickException(
            f"Nothing exported: {len(refused)} path(s) above cannot be "
            "written safely (each line says why); move them away or "
            "export elsewhere."
        )
    total = store.count()
    with _progress(export_files.write(transfer.records(store), path), "Exporting", total) as slugs:
        written = sum(1 for _ in slugs)
    click.echo(f"Exported {written} articles to {path}", err=True)


@main.command(
    "publish",
    epilog="""\b
Example:
  cms publish budget-vote council-reacts --message "Budget night"
""",
)
@click.argument("slugs", nargs=-1, required=True)
@click.option("--message", help="The commit subject (default: Publish N articles: ...).")
@click.option(
    "--author",
    "author",
    help='Commit author, "Name <email>" (default: your git user.name and user.email).',
)
@click.pass_context
@cms_errors
def publish(
    ctx: click.Context, slugs: tuple[str, ...], message: str | None, author: str | None
) -> None:
    """Publish the drafts of several articles in one commit on `published`, all or nothing
    (a release)."""
    store = open_store(ctx)
    editor = _editor(author, None, None, Person("CMS Command Line", "cli@localhost"))
    sha, _ = releases.release(store, list(slugs), editor, message)
    click.echo(sha)
    click.echo(f"Published {len(slugs)} article(s) in {sha[:12]}", err=True)


def _editor(author: str | None, name: str | None, email: str | None, default: Person) -> Person:
    """The commit author from --author, or --name/--email, or git's user.name/user.email."""
    if author is not None:
        if name is not None or email is not None:
            raise click.UsageError("Give either --author or --name/--email, not both.")
        return transfer.parse_author(author)
    mine = git_identity(default)
    return transfer.person(
        name or mine.name,
        email or mine.email,
        "--name/--email" if name or email else "git user.name/user.email",
    )


class _Lines:
    """Progress as a line every few seconds (and at the end), for a log or a pipe."""

    EVERY_S = 5.0

    def __init__(self, items: Iterable[Any], label: str, length: int) -> None:
        self.items, self.label, self.length = items, label, length

    def __enter__(self) -> Iterator[Any]:
        return self._walk()

    def __exit__(self, *exc: object) -> None:
        return None

    def _walk(self) -> Iterator[Any]:
        done, last = 0, time.monotonic()
        for item in self.items:
            yield item
            done += 1
            if time.monotonic() - last >= self.EVERY_S:
                last = time.monotonic()
                click.echo(f"{self.label}: {done}/{self.length}", err=True)
        click.echo(f"{self.label}: {done}/{self.length} done", err=True)


def _progress(items: Iterable[Any], label: str, length: int) -> Any:
    """A progress bar on a terminal; periodic lines when stderr is a file or a pipe."""
    if not sys.stderr.isatty():
        return _Lines(items, label, length)
    return click.progressbar(items, label=label, length=length, file=sys.stderr, show_pos=True)


main.add_command(mirror)
main.add_command(purge)


@main.command(
    "merge-driver",
    epilog="""\b
In a clone of the content repository:
  git config merge.cms.driver 'cms merge-driver %O %A %B'
  echo 'articles/**/*.json merge=cms' >> .git/info/attributes""",
)
@click.argument("base", type=click.Path(exists=True, dir_okay=False))
@click.argument("ours", type=click.Path(exists=True, dir_okay=False))
@click.argument("theirs", type=click.Path(exists=True, dir_okay=False))
def merge_driver(base: str, ours: str, theirs: str) -> None:
    """git's merge driver for article files: merge BASE, OURS and THEIRS field by field
    into OURS. Exits 1 on a conflict, naming the fields (the file says them too)."""
    from cms.content.merge_files import merge_files

    with open(base, "rb") as f1, open(ours, "rb") as f2, open(theirs, "rb") as f3:
        found = merge_files(f1.read(), f2.read(), f3.read())
    if found is None:  # not three valid articles: fall back to git's own line merge
        sys.exit(
            subprocess.run(
                [
                    "git",
                    "merge-file",
                    "-L",
                    "ours",
                    "-L",
                    "base",
                    "-L",
                    "theirs",
                    ours,
                    base,
                    theirs,
                ]
            ).returncode
            and 1
        )
    with open(ours, "wb") as f:
        f.write(found.data)
    if found.conflicts:
        click.echo(
            f"cms merge-driver: {ours}: both sides changed {', '.join(found.conflicts)}", err=True
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
