"""The layers point one way: no import cycle inside `cms`, and the store loads no presentation
(no summarizer, no numpy) and no web framework."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import cms

ROOT = Path(cms.__file__).parent


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """The `cms` modules `path` imports at load time (not those under `if TYPE_CHECKING`,
    nor those imported inside a function)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from package import module` needs the module; anything else, the module `base`
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in MODULES else base)
    return {m for m in found if m in MODULES and m != name}


MODULES = {module_name(p): p for p in ROOT.rglob("*.py")}


def test_the_graph_walk_sees_the_known_edges() -> None:
    assert "cms.index" in imports(MODULES["cms.store.base"])
    assert "cms.content.layout" in imports(MODULES["cms.index.tables"])


def test_no_import_cycle_in_cms() -> None:
    graph = {name: imports(path) for name, path in MODULES.items()}
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            cycle = trail[trail.index(name) :] + [name]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if name in done:
            return
        for other in sorted(graph[name]):
            visit(other, [*trail, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def test_the_store_and_the_index_load_no_summarizer_and_no_web_framework() -> None:
    code = (
        "import sys, cms.store, cms.index, cms.cli; "
        "print(sorted({'numpy', 'sumy', 'flask'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_private_state_folder_has_one_home() -> None:
    """`<git dir>/cms/` is reached through `cms.git.private` alone: no module joins the folder
    name by hand or opens SQLite by itself (one busy-timeout rule for every database)."""
    by_hand = re.compile(r"""os\.path\.join\([^)]*["']cms["']""")
    found = []
    for name, path in MODULES.items():
        if name == "cms.git.private":
            continue
        text = path.read_text()
        if by_hand.search(text) or "sqlite3.connect(" in text:
            found.append(name)
    assert found == []
