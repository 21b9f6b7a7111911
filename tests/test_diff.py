"""The field diff is a JSON Patch (RFC 6902): applied in order to `from`, it gives `to`."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from cms.content.diff import changes


def apply(doc: Any, patch: list[dict[str, Any]]) -> Any:
    """Apply add/remove/replace operations in order, as RFC 6902 says."""
    doc = copy.deepcopy(doc)
    for op in patch:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        if not parts:
            doc = op["new"]
            continue
        parent = doc
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]
        last: Any = int(parts[-1]) if isinstance(parent, list) else parts[-1]
        if op["op"] == "remove":
            del parent[last]
        elif op["op"] == "add" and isinstance(parent, list):
            parent.insert(last, op["new"])
        else:
            parent[last] = op["new"]
    return doc


def test_removing_the_tail_of_a_list_removes_the_last_first() -> None:
    before = {"body": [1, 2, 3]}
    patch = changes(before, {"body": [1]})
    assert [(c["op"], c["path"]) for c in patch] == [("remove", "/body/2"), ("remove", "/body/1")]
    assert apply(before, patch) == {"body": [1]}


values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text("ab/~", max_size=2),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text("ab/~", max_size=2), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(values, values)
def test_applying_the_changes_in_order_turns_from_into_to(old: Any, new: Any) -> None:
    assert apply(old, changes(old, new)) == new
