"""The sample articles of "The Riverside Ledger" that `cms init --demo` writes.

They are data, kept as one JSON file an article in `data/` (named `NN-<slug>.json`: `cms init
--demo` publishes them in that order, so the last is the newest). Each file is an article as
the API takes it; its pictures name `PICTURES_AT`, and `with_pictures` puts the media paths
`cms init --demo` stored the drawn pictures at (`cms.demo.pictures`) in their place.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).with_name("data")
# Where the demo's pictures were, on a host that does not resolve
PICTURES_AT = "https://images.example.org/riverside/"


def load() -> list[dict[str, Any]]:
    """The demo articles, in the order they are published."""
    return [
        json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(DATA.glob("[0-9][0-9]-*.json"))
    ]


ARTICLES: list[dict[str, Any]] = load()


def with_pictures(paths: dict[str, str]) -> list[dict[str, Any]]:
    """The demo articles with each picture's `src` the media path `paths` gives for its name."""
    articles = copy.deepcopy(ARTICLES)
    for article in articles:
        for image in [article.get("image"), *article["body"]]:
            src = image.get("src") if isinstance(image, dict) else None
            if isinstance(src, str) and src.startswith(PICTURES_AT):
                image["src"] = paths[src.removeprefix(PICTURES_AT).removesuffix(".jpg")]
    return articles
