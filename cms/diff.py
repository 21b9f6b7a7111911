"""Field-level changes between two versions of an article, as JSON-Pointer paths."""

from __future__ import annotations

from typing import Any


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def changes(old: Any, new: Any, path: str = "") -> list[dict[str, Any]]:
    """Return [{"op": "add"|"remove"|"replace", "path", "old"?, "new"?}] turning `old` into `new`.

    Objects are compared key by key and lists item by item, so a changed paragraph shows as
    `/body/3/text`; an added or removed tail item as `add`/`remove` of `/body/N`.
    """
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[dict[str, Any]] = []
        for key in list(old) + [k for k in new if k not in old]:
            sub = f"{path}/{_escape(key)}"
            if key not in new:
                out.append({"op": "remove", "path": sub, "old": old[key]})
            elif key not in old:
                out.append({"op": "add", "path": sub, "new": new[key]})
            else:
                out += changes(old[key], new[key], sub)
        return out
    if isinstance(old, list) and isinstance(new, list):
        out = []
        for i in range(max(len(old), len(new))):
            sub = f"{path}/{i}"
            if i >= len(new):
                out.append({"op": "remove", "path": sub, "old": old[i]})
            elif i >= len(old):
                out.append({"op": "add", "path": sub, "new": new[i]})
            else:
                out += changes(old[i], new[i], sub)
        return out
    if old == new and type(old) is type(new):
        return []
    return [{"op": "replace", "path": path, "old": old, "new": new}]
