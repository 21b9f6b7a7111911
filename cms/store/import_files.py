"""What `cms import` reads: the records of a folder of .json files, a .jsonl file or a .json
file (one article or an array of them), and every file it skips, with why.

A folder is read as a migrating newsroom hands it over: Markdown, pictures, a README, hidden
files (`.git`, macOS's `._` twins), links and pipes sit next to the articles. Only plain
`.json` and `.jsonl` files are read; everything else is yielded as skipped, one Source each
with its reason, so the import can name every file it did not take. Links are not followed
(the folder's own files, not what they point at; the path the user names is followed), nor
folders whose names end in `.json` (named like an article, they are not one), nor hidden
folders. Names are shown with control characters escaped: each stays on one line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cms.content import canonical
from cms.errors import CMSError
from cms.integrity.gate import printable

SUFFIXES = (".json", ".jsonl")
NOT_AN_ARTICLE = "not a .json or .jsonl article file"


@dataclass
class Source:
    """One record read from a file: where it came from, and its JSON or why it is unreadable;
    or a file that was not read, and why (`skipped`)."""

    where: str
    data: Any = None
    unreadable: str | None = None
    skipped: str | None = None


def read(path: str) -> Iterator[Source]:
    """Yield the records at `path`, and the files skipped, in a stable order (a folder's files
    by name, then its folders). Never raises on bad JSON: such a record comes with
    `unreadable` set."""
    if os.path.isdir(path):
        yield from _folder(path)
    elif not os.path.isfile(path):
        yield Source(printable(path), skipped="not a regular file")
    elif not path.lower().endswith(SUFFIXES):
        yield Source(printable(path), skipped=NOT_AN_ARTICLE)
    else:
        yield from _file(path)


def articles(path: str) -> Iterator[Source]:
    """The records at `path`, without the files skipped."""
    return (source for source in read(path) if source.skipped is None)


def _folder(path: str) -> Iterator[Source]:
    try:
        with os.scandir(path) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as e:
        yield Source(printable(path), skipped=f"cannot be read: {e.strerror}")
        return
    folders = []
    for entry in entries:
        where = printable(os.path.join(path, entry.name))
        is_folder = entry.is_dir(follow_symlinks=False)
        if entry.name.startswith("."):
            yield Source(where, skipped="hidden (its name starts with a dot)")
        elif entry.is_symlink():
            yield Source(where, skipped="a symbolic link, not followed")
        elif is_folder and entry.name.lower().endswith(SUFFIXES):
            yield Source(where, skipped="a folder named like an article file; not read")
        elif is_folder:
            folders.append(entry.path)
        elif not entry.is_file(follow_symlinks=False):
            yield Source(where, skipped="not a regular file")
        elif not entry.name.lower().endswith(SUFFIXES):
            yield Source(where, skipped=NOT_AN_ARTICLE)
        else:
            yield from _file(entry.path)
    for folder in folders:
        yield from _folder(folder)


def _file(path: str) -> Iterator[Source]:
    where = printable(path)
    try:
        f = open(path, "rb")
    except OSError as e:
        yield Source(where, unreadable=f"The file cannot be read: {e.strerror}.")
        return
    with f:
        if path.lower().endswith(".jsonl"):
            for number, line in enumerate(f, 1):  # a line at a time: archives can be large
                if line.strip():
                    yield _parsed(f"{where}:{number}", line)
            return
        raw = f.read()
    source = _parsed(where, raw)
    if source.unreadable is not None and raw.lstrip().startswith(b"["):
        yield from _array(where, raw)
    elif isinstance(source.data, list):
        for i, item in enumerate(source.data):
            yield Source(f"{where}[{i}]", item)
    else:
        yield source


def _parsed(where: str, raw: bytes) -> Source:
    try:
        return Source(where, canonical.parse_body(raw))
    except CMSError as e:
        return Source(where, unreadable=e.detail.replace("The request body", "The record"))


def _array(path: str, raw: bytes) -> Iterator[Source]:
    """The records of a JSON array with a syntax error somewhere: each one up to the bad one,
    then the bad one (nothing after it can be told apart reliably)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        yield Source(path, unreadable=f"The file is not valid UTF-8 (byte {e.start}).")
        return
    decoder = json.JSONDecoder()
    at, i = text.index("[") + 1, 0
    while True:
        at = _skip_space(text, at)
        start = at
        try:
            _, end = decoder.raw_decode(text, at)
        except ValueError as e:
            line = text.count("\n", 0, start) + 1
            yield Source(
                f"{path}[{i}]",
                unreadable=f"The record (from line {line}) is not "
                f"valid JSON: {e}; records after it were not read.",
            )
            return
        yield _parsed(f"{path}[{i}]", text[start:end].encode())
        at = _skip_space(text, end)
        if text.startswith(",", at):
            at, i = at + 1, i + 1
            continue
        return  # the closing bracket, or something the record's parse names


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    return at
