"""Lower layers never import upper ones: read every module's imports (AST, no import side effects).

The store, the key checks and the pool sit under the HTTP surfaces, the admin API and the command
line; `shared/` sits under all of them. A lower layer that imports an upper one drags its
dependencies (FastAPI, the providers' clients) into every use and makes import cycles one edit away.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "switchyard"
UPPER = {"surfaces", "admin", "cli", "app", "runtime", "demo", "usage", "accounts"}
FORBIDDEN: dict[str, set[str]] = {
    "store": UPPER | {"pool", "keys", "providers"},
    "keys": UPPER | {"pool", "providers"},
    # The pool calls the Antigravity client for quota numbers (pool/quota.py): providers allowed.
    "pool": UPPER,
}
SHARED_ALLOWED = {"shared", "config", "errors"}
"""`shared/` may import only these at run time; names for type hints alone may come from `keys`."""


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported module, line, only for type checking) for every switchyard import in `path`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{path}:{node.lineno}: relative import"
            names = [node.module]
        for name in names:
            if name == "switchyard" or name.startswith("switchyard."):
                found.append((name, node.lineno, id(node) in typing_only))
    return found


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_lower_layers_do_not_import_upper_ones(layer: str) -> None:
    offending = [
        f"{path.relative_to(SRC.parent)}:{line} imports {module}"
        for path in sorted((SRC / layer).rglob("*.py"))
        for module, line, _ in _imports(path)
        if _top(module) in FORBIDDEN[layer]
    ]
    assert offending == []


def test_shared_imports_nothing_above_it() -> None:
    offending = [
        f"{path.relative_to(SRC.parent)}:{line} imports {module}"
        for path in sorted((SRC / "shared").rglob("*.py"))
        for module, line, typing_only in _imports(path)
        if _top(module) not in SHARED_ALLOWED and not (typing_only and _top(module) == "keys")
    ]
    assert offending == []


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    """The walker itself must be able to fail: an upward import, plain or inside a function."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from switchyard.surfaces.context import RequestContext\n")
    assert _imports(module) == [("switchyard.surfaces.context", 2, False)]
