"""Bulk import and export of articles as JSON files or JSON Lines."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from . import canonical
from .articles import validate
from .errors import ArticleNotFound, CMSError, ValidationFailed
from .gitobjects import Person
from .store import ArticleStore


@dataclass
class Source:
    """One article read from a file: where it came from and its JSON."""

    where: str
    data: Any


def read(path: str) -> Iterator[Source]:
    """Yield the articles in a directory of .json files, a .jsonl file or a .json file.

    A .json file may hold one article or a list of them. Raises CMSError on unreadable JSON.
    """
    if os.path.isdir(path):
        for folder, _, files in sorted(os.walk(path)):
            for name in sorted(files):
                if name.endswith(".json"):
                    yield from read(os.path.join(folder, name))
        return
    with open(path, "rb") as f:
        if path.endswith(".jsonl"):
            for number, line in enumerate(f, 1):
                if line.strip():
                    yield Source(f"{path}:{number}", _parse(line, f"{path}:{number}"))
            return
        data = _parse(f.read(), path)
    if isinstance(data, list):
        for i, item in enumerate(data):
            yield Source(f"{path}[{i}]", item)
    else:
        yield Source(path, data)


def _parse(raw: bytes, where: str) -> Any:
    try:
        return canonical.parse_body(raw)
    except CMSError as e:
        raise CMSError(f"{where}: {e.detail}") from e


def check(sources: list[Source]) -> list[str]:
    """Return a line per invalid article, naming where it is and which fields are wrong."""
    problems = []
    for source in sources:
        try:
            validate(source.data)
        except ValidationFailed as e:
            fields = "; ".join(f"{k}: {' '.join(v)}" for k, v in (e.errors or {}).items())
            problems.append(f"{source.where}: {fields}")
    return problems


def save(store: ArticleStore, data: dict[str, Any], editor: Person) -> str:
    """Create the article, or update it if its slug exists. Returns "created",
    "updated" or "unchanged"."""
    slug = data.get("slug")
    if slug:
        try:
            current = store.get(slug)
        except ArticleNotFound:
            pass
        else:
            after = store.replace(slug, data, editor, {current.etag})
            return "unchanged" if after.etag == current.etag else "updated"
    store.create(data, editor)
    return "created"


def write_jsonl(store: ArticleStore, path: str, slugs: list[str]) -> Iterator[str]:
    with open(path, "w", encoding="utf-8") as f:
        for slug in slugs:
            f.write(json.dumps(store.get(slug).fields, ensure_ascii=False) + "\n")
            yield slug


def write_files(store: ArticleStore, path: str, slugs: list[str]) -> Iterator[str]:
    os.makedirs(path, exist_ok=True)
    for slug in slugs:
        with open(os.path.join(path, f"{slug}.json"), "wb") as f:
            f.write(canonical.dumps(store.get(slug).fields))
        yield slug
