"""The CMS's settings, each declared once below with its type, default and help text, and one
object built from them that the HTTP app and the `cms` command alike read.

`Settings.load` takes each setting from its default, then from the `CMS_<NAME>` environment
variable, then from an optional mapping of `<NAME>` keys (what `create_app(config)` is given),
and converts and checks every value it was given: a value the server would trip over later is
refused at start-up by `BadSetting`, which names each variable that is wrong and what it
expected. `python -m cms.settings --docs` writes docs/configuration.md from the declarations.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from cms.content import identity
from cms.content.identity import Person
from cms.errors import CMSError

PREFIX = "CMS_"
YES = ("1", "true", "yes", "on")
NO = ("0", "false", "no", "off", "")


class BadSetting(CMSError, ValueError):
    """Settings that cannot be used; the detail has a line per variable, such as
    `CMS_WEBHOOK_TIMEOUT: expected a number of seconds, got 'abc'`."""


class OutOfRange(ValueError):
    """A value of the right type, outside what the setting allows."""


class Refused(ValueError):
    """A value refused for the reason its message gives (shown as it is)."""


@dataclass(frozen=True)
class Kind:
    """How one type of setting is read: `convert` takes a string (from the environment) or a
    mapping's value and returns the typed value, or raises OutOfRange for a value of the
    right type that is not allowed, ValueError or TypeError for any other."""

    name: str  # the type, as docs/configuration.md shows it
    expected: str  # what an error says was expected
    convert: Callable[[Any], Any]
    allowed: str = ""  # what an error says was expected of a value out of range

    def read(self, value: Any) -> Any:
        """The typed value; raises ValueError saying what was expected and what was given."""
        try:
            return self.convert(value)
        except OutOfRange:
            raise ValueError(f"expected {self.allowed}, got {value!r}") from None
        except Refused as e:
            raise ValueError(str(e)) from None
        except (ValueError, TypeError, OverflowError):
            raise ValueError(f"expected {self.expected}, got {value!r}") from None


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(value)
    return value


def _optional(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`convert`, with None or an empty string meaning "not set"."""
    return lambda value: None if value is None or str(value).strip() == "" else convert(value)


def _folder(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(value)
    return None if value is None else value.strip()


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    word = value.strip().lower() if isinstance(value, str) else None
    if word not in YES + NO:
        raise ValueError(value)
    return word in YES


def _whole(minimum: int) -> Callable[[Any], int]:
    def read(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise TypeError(value)
        number = value if isinstance(value, int) else int(value.strip())
        if number < minimum:
            raise OutOfRange(value)
        return number

    return read


def _seconds(*, above_zero: bool = False) -> Callable[[Any], float]:
    def read(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise TypeError(value)
        number = float(value.strip() if isinstance(value, str) else value)
        if not math.isfinite(number):
            raise ValueError(value)
        if number < 0 or (above_zero and number == 0):
            raise OutOfRange(value)
        return number

    return read


def _list(item: Callable[[Any], Any]) -> Callable[[Any], tuple[Any, ...]]:
    """Comma-separated (or a JSON array, or a list), each item read by `item`."""

    def read(value: Any) -> tuple[Any, ...]:
        if isinstance(value, str):
            text = value.strip()
            parts = json.loads(text) if text.startswith("[") else text.split(",")
            if not isinstance(parts, list):
                raise ValueError(value)
        else:
            parts = list(value) if isinstance(value, list | tuple) else [value]
        parts = [p.strip() if isinstance(p, str) else p for p in parts]
        return tuple(item(p) for p in parts if p != "")

    return read


def _url(value: Any) -> str:
    text = _text(value).strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(value)
    return text


# flask-limiter's notation (the `limits` package's): "20 per minute", "5/second; 100/day"
_RATE_ITEM = r"\s*[0-9]+\s*(?:/|per)\s*(?:[0-9]+\s*)?(?:second|minute|hour|day|month|year)s?\s*"
_RATE = re.compile(rf"{_RATE_ITEM}(?:[,;|]{_RATE_ITEM})*", re.IGNORECASE)


def _rate(value: Any) -> str:
    if _RATE.fullmatch(_text(value)) is None:
        raise ValueError(value)
    return str(value)


def _identity(problems: Callable[[object], list[str]]) -> Callable[[Any], str]:
    def read(value: Any) -> str:
        if problems(value):
            raise ValueError(value)
        return str(value)

    return read


TEXT = Kind("text", "some text", _text)
PATH = Kind("path", "a path", _text)
OPTIONAL_PATH = Kind("path", "a path, or nothing", _optional(_text))
OPTIONAL_TEXT = Kind("text", "some text, or nothing", _optional(_text))
URL = Kind("URL", "an http or https URL, or nothing", _optional(_url))
FLAG = Kind("yes/no", "true or false (also 1/0, yes/no, on/off)", _flag)
SECONDS = Kind("seconds", "a number of seconds", _seconds(), "a number of seconds >= 0")
TIMEOUT = Kind(
    "seconds", "a number of seconds", _seconds(above_zero=True), "a number of seconds > 0"
)
WHOLE_SECONDS = Kind(
    "seconds", "a whole number of seconds", _whole(1), "a whole number of seconds >= 1"
)
COUNT = Kind("count", "a whole number", _whole(0), "a whole number >= 0")
AT_LEAST_ONE = Kind("count", "a whole number", _whole(1), "a whole number >= 1")
BYTES = Kind("bytes", "a whole number of bytes", _whole(0), "a whole number of bytes >= 0")
LIMIT_BYTES = Kind("bytes", "a whole number of bytes", _whole(1), "a whole number of bytes >= 1")
OPTIONAL_LIMIT = Kind(
    "bytes",
    "a whole number of bytes, or nothing",
    _optional(_whole(1)),
    "a whole number of bytes >= 1, or nothing",
)
SECONDS_LIST = Kind(
    "list of seconds",
    "comma-separated numbers of seconds",
    _list(_seconds()),
    "comma-separated numbers of seconds >= 0",
)
ORIGINS = Kind("list of origins", "comma-separated origins", _list(_text))
NAMES = Kind("list of names", "comma-separated names", _list(_text))
# a path where "" is a value ("none"), apart from unset (None: a default its reader chooses)
FOLDER = Kind("path", "a path, or nothing", _folder)
RATE = Kind("rate limit", "a rate limit such as '20 per minute'", _rate)
NAME = Kind(
    "text",
    "a name git can write (1..200 characters, no < > or control characters, "
    "no space at either end)",
    _identity(identity.name_problems),
)
EMAIL = Kind(
    "email", "an email address git can write (name@domain)", _identity(identity.email_problems)
)
PURGE_KINDS = ("varnish", "fastly", "cloudflare")
# the path of Cloudflare's purge API, which names the zone (`cms.edge.targets`)
CLOUDFLARE_PATH = re.compile(r"(?:/[^/?#]+)*/zones/[^/?#]+/purge_cache")
PURGE_SHAPES = (
    "varnish+http://host:port, fastly+https://... or "
    "cloudflare+https://api.cloudflare.com/client/v4/zones/<zone id>/purge_cache"
)


def _purge_target(value: Any) -> str:
    """One cache to purge, `varnish+http://host:port`, `fastly+https://...` or
    `cloudflare+https://.../zones/<zone>/purge_cache` (see `cms.edge.targets`)."""
    text = _text(value).strip()
    shown = re.sub(r"//[^/@]*@", "//***@", text)  # a secret in the URL is not repeated
    kind, plus, rest = text.partition("+")
    if not plus or kind not in PURGE_KINDS:
        raise Refused(
            f"{shown!r} must start with varnish+http://, fastly+https:// or cloudflare+https://."
        )
    try:
        parts = urlsplit(rest)
        parts.port  # noqa: B018 - raises for a port out of range
    except ValueError:
        raise Refused(f"{shown!r} is not a valid URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused(f"{shown!r} needs an http(s) URL with a host.")
    if kind == "cloudflare" and not CLOUDFLARE_PATH.fullmatch(parts.path):
        raise Refused(
            f"{shown!r}: a Cloudflare target is the zone's purge endpoint, "
            "https://api.cloudflare.com/client/v4/zones/<zone id>/purge_cache."
        )
    return text


def _purge_targets(value: Any) -> tuple[str, ...]:
    found = _list(_purge_target)(value)
    if len(set(found)) != len(found):
        raise Refused("names one target twice.")
    return found


PURGE_TARGETS = Kind(
    "list of caches",
    f"comma-separated URLs: {PURGE_SHAPES}",
    _purge_targets,
)


def setting(kind: Kind, default: Any, help: str, *, shown: str | None = None) -> Any:
    """Declare a setting (a field of `Settings`): how it is read, its default, what it does,
    and how the docs show the default when the value alone would not say it."""
    return field(default=default, metadata={"kind": kind, "help": help, "shown": shown})


@dataclass(frozen=True)
class Settings:
    """Every `CMS_*` setting the store, the CLI and the app read."""

    repo: str = setting(PATH, "./content-repo", "the content repository")
    committer_name: str = setting(
        NAME,
        "Git CMS",
        "the committer of every commit the CMS makes (commits by anyone else are `external`)",
    )
    committer_email: str = setting(EMAIL, "cms@localhost", "the committer's email")
    durable: bool = setting(
        FLAG,
        True,
        "every write is on disk (objects, refs, the folders naming them) before it is "
        "acknowledged, concurrent saves sharing one sync (group commit); false risks losing "
        "the writes of the last ~30 s to a power cut or kernel crash",
    )
    signing_key: str | None = setting(
        OPTIONAL_PATH,
        None,
        "an SSH private key file (no passphrase): every commit the CMS "
        "makes is signed with it, and `cms init` records its public half so `git log "
        "--show-signature` verifies them",
    )
    auth_failure_limit: str = setting(
        RATE,
        "20 per minute",
        "failed token attempts allowed per client address and worker "
        "(the `limits` package's notation)",
    )
    ratelimit_enabled: bool = setting(
        FLAG,
        True,
        "refuse an address that used up `CMS_AUTH_FAILURE_LIMIT` (`false`: no "
        "limit, e.g. for a test suite that sends many bad tokens on purpose)",
    )
    manage_cors_origins: tuple[str, ...] = setting(
        ORIGINS, (), "origins allowed to call the management API from a browser"
    )
    delivery_cache_control: str = setting(
        TEXT,
        "public, max-age=60, stale-while-revalidate=300",
        "`Cache-Control` of every delivery response",
    )
    scheduler_interval: float = setting(
        SECONDS,
        5.0,
        "seconds between checks for scheduled articles in each worker (`0`: "
        "off; use `cms publish-due`)",
    )
    site_title: str = setting(TEXT, "Git CMS", "the feeds' title")
    site_url: str | None = setting(
        URL,
        None,
        "the public address of this server (scheme, host, any path prefix), e.g. "
        "`https://news.example.org`: every absolute URL in a response (pagination `Link`, "
        "feed self links, article links, the feeds' home page) is built on it, never on the "
        "request's `Host`. Set it in production: public answers are cached, and without it "
        "they follow the `Host` a client sent",
        shown="none: the address each request came to",
    )
    trusted_proxies: int = setting(
        COUNT,
        0,
        "how many reverse proxies stand in front of the server; their "
        "`X-Forwarded-For` and `X-Forwarded-Proto` are then believed (werkzeug's ProxyFix), "
        "so the limit on failed tokens counts per real client and URLs get the real scheme. "
        "With `0` these headers are ignored: anyone could forge them",
    )
    article_url: str | None = setting(
        URL,
        None,
        "where feeds and the sitemap link an article, e.g. `https://news.example.org/{slug}`",
        shown="the delivery API's URL of the article",
    )
    max_content_length: int | None = setting(
        OPTIONAL_LIMIT,
        1024 * 1024,
        "the largest request body, in bytes, of every call but a "
        "media upload (413 above it; empty: no limit)",
        shown="`1048576` (1 MiB)",
    )
    media_max_bytes: int = setting(
        LIMIT_BYTES, 20_000_000, "the largest media upload, in bytes (413 above it)"
    )
    media_url: str | None = setting(
        URL,
        None,
        "where public media URLs start in delivered articles, e.g. a CDN in front of `/media/`",
        shown="`CMS_SITE_URL` when set, else this server's own address",
    )
    session_lifetime: int = setting(WHOLE_SECONDS, 12 * 3600, "seconds a workbench session lasts")
    workbench_dist: str | None = setting(
        OPTIONAL_PATH,
        None,
        "where Decap CMS's built files are (the Docker image sets its own)",
        shown="`workbench/node_modules/decap-cms/dist`",
    )
    preview_frontend: str | None = setting(
        URL,
        None,
        'a frontend URL with `{url}` in it: Decap\'s "View preview" opens preview links there',
    )
    sample_frontend: str | None = setting(
        FOLDER,
        None,
        "the sample frontend's folder, served at `/frontend/` and opened by the workbench's "
        '"View Preview" (empty: not served)',
        shown="the checkout's `examples/frontend`, when there is one",
    )
    sections: tuple[str, ...] = setting(
        NAMES,
        (),
        "the sections the workbench offers in its section list",
        shown="the sections articles already use",
    )
    webhook_retry_delays: tuple[float, ...] = setting(
        SECONDS_LIST,
        (5.0, 30.0, 120.0, 600.0, 3600.0, 21600.0, 86400.0),
        "seconds before each retry of a failed delivery (then `failed`); the default spans "
        "about 31 hours",
    )
    webhook_timeout: float = setting(TIMEOUT, 10.0, "seconds a receiver has to answer one delivery")
    webhook_allow_private: bool = setting(
        FLAG, False, "allow webhook URLs on loopback, private and link-local addresses"
    )
    webhook_interval: float = setting(
        SECONDS,
        0.25,
        "seconds between each worker's looks at the refs and the outbox "
        "(`0`: no deliveries from this server)",
    )
    replica_of: str | None = setting(
        OPTIONAL_TEXT, None, "a git URL: serve as a read replica of it (`cms serve --replica-of`)"
    )
    primary_url: str | None = setting(
        OPTIONAL_TEXT,
        None,
        "a replica's primary, named in its refusals (`cms serve --primary-url`)",
    )
    verify_signatures: str | None = setting(
        OPTIONAL_PATH,
        None,
        "a public key file (`cms serve --replica-of URL "
        "--verify-signatures KEY.pub`): a replica takes onto `published` only commits signed "
        "with it, and says in `/healthz` which commit it refuses",
    )
    replica_interval: float = setting(
        SECONDS, 1.0, "seconds between a replica's fetches (at least 0.1 is used)"
    )
    mirror_poll_interval: float = setting(
        SECONDS,
        0.05,
        "seconds between the pusher's looks at `main` and `published` (`0`: "
        "no pusher; use `cms mirror push`)",
    )
    mirror_settle: float = setting(
        SECONDS,
        0.1,
        "seconds `main` and `published` must stand still before the pusher "
        "pushes them (an edit and its publish go in one push)",
    )
    mirror_min_interval: float = setting(
        SECONDS,
        1.0,
        "while writes keep coming (never settling), the seconds a mirror may "
        "stay behind before it is pushed to anyway: a bulk load is pushed about once a second "
        "(a mirror's `--min-interval` spaces its pushes further)",
    )
    mirror_retry_max: float = setting(
        SECONDS,
        30.0,
        "the longest wait, in seconds, before pushing again to a mirror whose last push failed",
    )
    mirror_timeout: float = setting(
        TIMEOUT, 120.0, "seconds a push may take before it counts as failed"
    )
    pack_interval: float = setting(
        SECONDS,
        60.0,
        "seconds between the packer's looks at the loose objects saves leave (one process of "
        "the server packs them in the background with `git repack -d -l --geometric=2`, "
        "pruning nothing; `0`: no packer)",
    )
    pack_threshold: int = setting(
        AT_LEAST_ONE,
        1000,
        "loose objects that make the packer pack (a save leaves about five)",
    )
    response_cache_bytes: int = setting(
        BYTES,
        64 * 1024 * 1024,
        "each worker's response cache: the most it holds (`0`: no cache)",
        shown="`67108864` (64 MiB)",
    )
    # (8 MiB: a sitemap file of 50,000 URLs, about 4 MB, is kept)
    response_cache_entry_bytes: int = setting(
        BYTES,
        8 * 1024 * 1024,
        "the largest answer the response cache keeps",
        shown="`8388608` (8 MiB)",
    )
    sitemap_max_urls: int = setting(
        AT_LEAST_ONE,
        50_000,
        "URLs per sitemap file (the protocol's limit); past it `/sitemap.xml` is a sitemap index",
    )
    catch_up_inline_commits: int = setting(
        COUNT,
        200,
        "a request catches the index up itself with at most this many new "
        "commits; more are caught up in the background",
    )
    # caches in front (see cms.edge)
    edge_max_age: int = setting(
        COUNT,
        86400,
        "seconds a cache that purges (Varnish, a CDN) may keep a delivery answer: sent as "
        "`Surrogate-Control` and `CDN-Cache-Control`, which browsers ignore (they keep "
        "`CMS_DELIVERY_CACHE_CONTROL`); `0` sends neither",
    )
    purge_targets: tuple[str, ...] = setting(
        PURGE_TARGETS,
        (),
        "the caches each commit on `published` is purged from, comma-separated: "
        "`varnish+http://host:port` (Varnish with the xkey vmod), `fastly+https://...` (a "
        "Fastly-style purge API, the whole endpoint URL) or "
        "`cloudflare+https://api.cloudflare.com/client/v4/zones/<zone id>/purge_cache` "
        "(Cloudflare's purge by cache tag); see docs/caches.md",
        shown="none: no purges",
    )
    purge_fastly_key: str | None = setting(
        OPTIONAL_TEXT, None, "the `Fastly-Key` header sent to a Fastly-style target"
    )
    purge_cloudflare_token: str | None = setting(
        OPTIONAL_TEXT,
        None,
        "the API token sent (`Authorization: Bearer ...`) to a Cloudflare target: one "
        "allowed to purge the zone's cache; needed when `CMS_PURGE_TARGETS` names one",
    )
    purge_interval: float = setting(
        SECONDS,
        0.05,
        "seconds between the purger's looks at the refs (`0`: no purger; run `cms purge run`)",
    )
    purge_retry_max: float = setting(
        SECONDS, 30.0, "the longest wait, in seconds, between two tries of a failed purge"
    )
    purge_max_keys: int = setting(
        AT_LEAST_ONE,
        2000,
        "past this many keys, one purge of everything (the key `all`) is sent instead",
    )
    purge_repeat_after: float = setting(
        SECONDS,
        2.0,
        "seconds after which every purge is sent once more, for an answer a cache fetched "
        "while the commit was being made (`0`: never)",
    )

    @classmethod
    def load(
        cls, config: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Return the settings from defaults, then `CMS_*` variables of `environ` (default:
        this process's environment), then the `<NAME>` keys of `config` (others are ignored).
        Raises BadSetting naming every variable whose value cannot be used."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        wrong = []
        for f in dataclasses.fields(cls):
            name = f.name.upper()
            if config is not None and name in config:
                given = config[name]
            elif PREFIX + name in environ:
                given = environ[PREFIX + name]
            else:
                continue
            try:
                values[f.name] = f.metadata["kind"].read(given)
            except ValueError as e:
                wrong.append(f"{PREFIX}{name}: {e}")
        wrong += _together(values)
        if wrong:
            raise BadSetting("\n".join(wrong))
        return cls(**values)

    @property
    def committer(self) -> Person:
        """Who commits every write the CMS makes (the editor is the author)."""
        return Person(self.committer_name, self.committer_email)

    def as_config(self) -> dict[str, Any]:
        """The settings as `<NAME>` keys, as Flask's `app.config` holds them."""
        return {f.name.upper(): getattr(self, f.name) for f in dataclasses.fields(self)}


def _together(values: Mapping[str, Any]) -> list[str]:
    """What is wrong with settings that are each fine alone."""
    targets = values.get("purge_targets", ())
    if any(t.startswith("cloudflare+") for t in targets) and not values.get(
        "purge_cloudflare_token"
    ):
        return [
            f"{PREFIX}PURGE_CLOUDFLARE_TOKEN: {PREFIX}PURGE_TARGETS names a Cloudflare target, "
            "which takes purges only with an API token allowed to purge its zone."
        ]
    return []


def declared() -> dict[str, dataclasses.Field[Any]]:
    """Every setting's declaration, by its variable's name (`CMS_REPO` ...)."""
    return {PREFIX + f.name.upper(): f for f in dataclasses.fields(Settings)}


DOCS_HEAD = """\
# Configuration

<!-- Generated from cms/settings.py by `python -m cms.settings --docs`; edit the declarations
there, not this file (tests/test_settings.py fails when it is stale). -->

Each setting is taken from its default, then from its `CMS_<NAME>` environment variable, then
from the mapping a program passes to `create_app()` (as `<NAME>` keys). The `cms` command
reads the same settings as the server, so its commits (`cms import`, `cms publish-due`) carry
the same committer as the server's and are indexed as the CMS's own, and `CMS_DURABLE` applies
to them too.

Every value is checked when the server or the `cms` command starts: a value that cannot be
used stops it with a line naming the variable and what it expected, e.g.
`CMS_WEBHOOK_TIMEOUT: expected a number of seconds, got 'abc'`. A yes/no setting takes
`true`/`false`, `1`/`0`, `yes`/`no` or `on`/`off`; a list is comma-separated (or a JSON
array); a setting whose default is "none" is unset when empty. Other `CMS_*` variables go to
Flask's own configuration.

| variable | type | default | meaning |
|---|---|---|---|
"""


def _shown(value: Any) -> str:
    """A default as the docs show it."""
    if value is None or value == ():
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple):
        return f"`{','.join(_shown(v).strip('`') for v in value)}`"
    if isinstance(value, float) and value.is_integer():
        return f"`{int(value)}`"
    return f"`{value}`"


def docs() -> str:
    """docs/configuration.md: every setting, its type, default and help text."""
    rows = []
    for variable, f in declared().items():
        kind: Kind = f.metadata["kind"]
        default = f.metadata["shown"] or _shown(f.default)
        rows.append(f"| `{variable}` | {kind.name} | {default} | {f.metadata['help']} |\n")
    return DOCS_HEAD + "".join(rows)


def main(argv: list[str]) -> int:
    """`python -m cms.settings --docs`: print docs/configuration.md."""
    if argv != ["--docs"]:
        print("usage: python -m cms.settings --docs > docs/configuration.md", file=sys.stderr)
        return 2
    sys.stdout.write(docs())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
