"""What the content repository may hold: the rules a file at a path and a commit must meet.

The git gate (`cms.gate`) refuses a push that breaks them, and the read side uses the same
functions to keep whatever got in anyway from being delivered. Each check returns problems as
`{field: [messages]}`, the shape of the API's validation errors, so the gate prints them as
`path: field: message` and the management API shows them as `meta.problems`.

The layout (see `cms.layout`): `README.md` at the top, articles at `articles/<xx>/<slug>.json`,
images at `media/<xx>/<sha256>.<ext>` (see `cms.media.checks`). Every other top-level folder
is refused unless `AREAS` names a checker for it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any

from cms.content import canonical, layout, media_paths
from cms.content.articles import validate
from cms.content.document import article_errors
from cms.errors import ValidationFailed
from cms.git import rawcommit
from cms.media import checks as media_checks

Problems = dict[str, list[str]]

MODE_FILE = 0o100644
MODE_EXECUTABLE = 0o100755
MODE_SYMLINK = 0o120000
MODE_GITLINK = 0o160000

# Twice the API's 1 MiB request limit: canonical form indents, so an article the API accepts
# can be a little larger on disk than the body it came in.
ARTICLE_MAX_BYTES = 2 * 1024 * 1024
README_MAX_BYTES = 1024 * 1024
README = "README.md"


_MODE_NAMES = {
    MODE_EXECUTABLE: "an executable file; store it as a plain file (mode 100644)",
    MODE_SYMLINK: "a symbolic link; only plain files are allowed",
    MODE_GITLINK: "a submodule (gitlink); only plain files are allowed",
}


def add(problems: Problems, field: str, message: str) -> Problems:
    problems.setdefault(field, []).append(message)
    return problems


# -- files --------------------------------------------------------------------------------


def size_limit(path: str) -> int | None:
    """The largest blob allowed at `path`, or None when nothing may be stored there."""
    if path == README:
        return README_MAX_BYTES
    area = AREAS.get(path.split("/", 1)[0]) if "/" in path else None
    return area.max_bytes if area else None


def path_problems(path: str) -> Problems:
    """Problems with where a file is, whatever it holds (none for an allowed path)."""
    parts = path.split("/")
    if any(p in ("", ".", "..") or p.lower() == ".git" for p in parts):
        return {"path": ["A path with '.', '..' or '.git' in it is not allowed."]}
    if any("\udc80" <= c <= "\udcff" for c in path):  # undecodable bytes (surrogateescape)
        return {"path": ["The file name is not valid UTF-8."]}
    if path == README:
        return {}
    area = AREAS.get(parts[0]) if len(parts) > 1 else None
    if area is None:
        return {"path": [f"Not part of the content layout ({layout_summary()})."]}
    return area.path_problems(path)


def file_problems(path: str, mode: int, data: bytes | None, size: int | None = None) -> Problems:
    """Problems with the file at `path`: its mode, its size, then its content.

    `data` may be None when the mode or `size` already rule the file out (it is not read).
    """
    found = path_problems(path)
    if mode != MODE_FILE:
        add(found, "mode", f"This is {_MODE_NAMES.get(mode, f'mode {mode:o}')}.")
    if found:
        return found
    limit = size_limit(path)
    size = len(data) if size is None and data is not None else size
    if limit is not None and size is not None and size > limit:
        return {"size": [f"{size} bytes is over the limit of {limit} bytes for this file."]}
    if data is None or path == README:
        return {}
    return AREAS[path.split("/", 1)[0]].content_problems(path, data)


def check_article(path: str, mode: int, read: Callable[[], bytes]) -> Problems:
    """The problems of the file at an article path, as the read side meets it: its mode, its
    size, its content. `read` gives the file's bytes; it is called only for a plain file."""
    if mode != MODE_FILE:
        return {"mode": [f"This is {_MODE_NAMES.get(mode, f'mode {mode:o}')}."]}
    data = read()
    return size_problems(len(data)) or article_problems(path, data)


def size_problems(size: int) -> Problems:
    """The problem of an article file of `size` bytes over the limit (none within it), so a
    reader can rule a file out by its size before reading it."""
    if size > ARTICLE_MAX_BYTES:
        return {
            "size": [f"{size} bytes is over the limit of {ARTICLE_MAX_BYTES} bytes for this file."]
        }
    return {}


def loose(data: bytes) -> dict[str, Any]:
    """What a file holds if it is a JSON object, else an empty one: an invalid article's
    fields as far as they can be read (for a diff, or a merge patch that repairs it)."""
    try:
        parsed = parse(data)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def article_path_problems(path: str) -> Problems:
    if layout.slug_from_path(path) is not None:
        return {}
    name = path.rsplit("/", 1)[-1]
    slug = name[:-5] if name.endswith(".json") else ""
    if re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", slug) and len(slug) <= 120:
        return {"path": [f"The article '{slug}' belongs at {layout.article_path(slug)}."]}
    return {
        "path": [
            "Not an article file name: articles/<xx>/<slug>.json, with a slug of "
            "lower-case letters, digits and single hyphens and xx the first two hex "
            "digits of sha1(slug)."
        ]
    }


def read_article(path: str, data: bytes) -> tuple[dict[str, Any] | None, Problems]:
    """Return the article a file at `path` holds, in canonical form, and its problems.

    The article is None unless the problems are empty: it is valid as the API would accept it
    and its `slug` field is the one its file name says.
    """
    fields, problems = read_file(path, data)
    return (None, problems) if problems else (fields, {})


def read_file(path: str, data: bytes) -> tuple[dict[str, Any], Problems]:
    """An article file's fields and problems: canonical and none when it is valid (parsed and
    validated once), else as far as they can be read (`loose`) with what is wrong."""
    try:
        parsed = parse(data)
    except ValueError as e:
        return {}, {"_schema": [str(e)]}
    if isinstance(parsed, dict) and parsed.get("slug") == layout.slug_from_path(path):
        try:
            return validate(parsed), {}
        except ValidationFailed:
            pass  # the problems are worked out as the rules name them
    return read_checked(path, data)


def article_problems(path: str, data: bytes) -> Problems:
    """The problems of an article file's content (see `read_article`), without making its
    canonical form."""
    return read_checked(path, data)[1]


def read_checked(path: str, data: bytes) -> tuple[dict[str, Any], Problems]:
    """The fields an article file holds (as `loose` reads them) and its problems (as
    `article_problems` finds them), the file parsed once for both."""
    slug = layout.slug_from_path(path)
    try:
        parsed = parse(data)
    except ValueError as e:
        return {}, {"_schema": [str(e)]}
    found = article_errors(parsed)
    given = parsed.get("slug") if isinstance(parsed, dict) else None
    if given != slug and (not found or given is not None):
        add(found, "slug", _slug_message(slug))
    return (parsed if isinstance(parsed, dict) else {}), found


def _slug_message(slug: str | None) -> str:
    return f"Must be '{slug}', the file's name."


def parse(data: bytes) -> Any:
    """Parse a file as strict JSON: UTF-8, no NaN or Infinity, no duplicate keys.

    Raises ValueError with a sentence saying what is wrong.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"Not valid UTF-8 (byte {e.start}).") from e
    try:
        return canonical.strict_loads(text)
    except RecursionError as e:
        raise ValueError("Not valid JSON: nested too deeply.") from e
    except ValueError as e:
        raise ValueError(f"Not valid JSON: {e}.") from e


class Area:
    """A top-level folder of the layout: which paths it allows, how large, what content."""

    def __init__(
        self,
        summary: str,
        max_bytes: int,
        path_problems: Callable[[str], Problems],
        content_problems: Callable[[str, bytes], Problems],
    ) -> None:
        self.summary = summary
        self.max_bytes = max_bytes
        self.path_problems = path_problems
        self.content_problems = content_problems


# The folders files may live in, each with its checker.
AREAS: dict[str, Area] = {
    layout.ROOT: Area(
        "articles/<xx>/<slug>.json", ARTICLE_MAX_BYTES, article_path_problems, article_problems
    ),
    # images: what an upload would have stored (decodes, named by its SHA-256, no location)
    media_paths.ROOT: Area(
        media_checks.SUMMARY,
        media_checks.MAX_BYTES,
        media_checks.path_problems,
        media_checks.content_problems,
    ),
}


def layout_summary() -> str:
    return ", ".join([README, *(area.summary for area in AREAS.values())])


# -- commits ------------------------------------------------------------------------------

_IDENT = re.compile(rb"^(.*) <(.*)> (-?\d+) ([+-]\d{4})$")


def commit_problems(raw: bytes, cms_emails: Iterable[str]) -> Problems:
    """Problems with a commit object's own bytes (`git cat-file commit`), whatever it changes:
    author, committer and message readable (UTF-8 without control characters but newline and
    tab in the message), dates in 1900..9998, and a committer other than the CMS itself."""
    head, _, message = raw.partition(b"\n\n")
    found: Problems = {}
    claimed = {e.strip().lower() for e in cms_emails if e.strip()}
    for line in head.split(b"\n"):
        key, _, value = line.partition(b" ")
        if key in (b"author", b"committer"):
            field = key.decode()
            for problem in _ident_problems(value):
                add(found, field, problem)
            if field == "committer" and not found.get(field):
                email = _IDENT.match(value)
                if email and email.group(2).decode().strip().lower() in claimed:
                    add(
                        found,
                        field,
                        f"<{email.group(2).decode()}> is the CMS's own identity; "
                        "only the CMS commits as the CMS (commit as yourself).",
                    )
        elif key == b"encoding" and value.strip().lower() not in (b"utf-8", b"utf8"):
            add(
                found,
                "message",
                f"Encoding {value.decode('ascii', 'replace')!r} is not allowed; commit in UTF-8.",
            )
    for problem in text_problems(message, allow_newlines=True):
        add(found, "message", problem)
    return found


def _ident_problems(value: bytes) -> list[str]:
    match = _IDENT.match(value)
    if match is None:
        return ["Not of the form 'Name <email> seconds +zone'."]
    name, email, seconds, _ = match.groups()
    found = text_problems(name, allow_newlines=False)
    found += [f"email: {p}" for p in text_problems(email, allow_newlines=False)]
    if not rawcommit.in_range(int(seconds)):
        found.append(
            f"The date ({int(seconds)} seconds since 1970) is outside the years 1900 to 9998."
        )
    return found


def text_problems(raw: bytes, *, allow_newlines: bool) -> list[str]:
    """Why `raw` is not readable text: not UTF-8, or holding control characters (newline
    and tab allowed when `allow_newlines`)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return [f"Not valid UTF-8 (byte {e.start})."]
    allowed = ("\n", "\t") if allow_newlines else ()
    bad = sorted({c for c in text if unicodedata.category(c) == "Cc" and c not in allowed})
    return [f"Control character U+{ord(c):04X} is not allowed." for c in bad]
