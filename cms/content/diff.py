"""Field-level changes between two versions of an article, as JSON-Pointer paths."""

from __future__ import annotations

from typing import Any


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _merged_keys(old: list[str], new: list[str]) -> list[str]:
    """Keys of both objects, in the order they are stored (both follow the same field order)."""
    order = list(new)
    for i, key in enumerate(old):
        if key not in order:
            before = next((k for k in reversed(old[:i]) if k in order), None)
            order.insert(order.index(before) + 1 if before is not None else 0, key)
    return order


def changes(old: Any, new: Any, path: str = "") -> list[dict[str, Any]]:
    """Return [{"op": "add"|"remove"|"replace", "path", "old"?, "new"?}] turning `old` into `new`.

    Objects are compared key by key and lists item by item, so a changed paragraph shows as
    `/body/3/text`; an added or removed tail item as `add`/`remove` of `/body/N`. Applied in
    order as a JSON Patch (RFC 6902), the changes turn `old` into `new`: removals run from the
    last item down.
    """
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[dict[str, Any]] = []
        for key in _merged_keys(list(old), list(new)):
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
        for i in range(min(len(old), len(new))):
            out += changes(old[i], new[i], f"{path}/{i}")
        for i in range(len(old), len(new)):
            out.append({"op": "add", "path": f"{path}/{i}", "new": new[i]})
        # the last first, so the changes applied in order (as a JSON Patch) remove what they say
        for i in reversed(range(len(new), len(old))):
            out.append({"op": "remove", "path": f"{path}/{i}", "old": old[i]})
        return out
    if old == new and type(old) is type(new):
        return []
    return [{"op": "replace", "path": path, "old": old, "new": new}]
