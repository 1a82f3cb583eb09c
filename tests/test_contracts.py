"""The architecture's contracts, checked on every CI run: import-linter's layers and cycles
(``[tool.importlinter]`` in pyproject.toml), and the size of modules and functions.

The size allow-lists name what is over the limit today, with its size; they may only shrink:
an entry that grows fails, and so does one that no longer needs to be there."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "thrifty_tui"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
# Over the limit today (lines): split them by concern, then take them off the list.
MODULES_OVER = {
    "tui/app.py": 439,
    "core/store/labels.py": 503,
    "tui/screens/label.py": 525,
}
FUNCTIONS_OVER = {
    "core/store/lexicons.py:extract_lexicons": 94,
}


def _sizes() -> tuple[dict[str, int], dict[str, int]]:
    modules, functions = {}, {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        source = path.read_text(encoding="utf-8")
        modules[name] = len(source.splitlines())
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                functions[f"{name}:{node.name}"] = node.end_lineno - node.lineno + 1
    return modules, functions


def _check(sizes: dict[str, int], allowed: dict[str, int], limit: int) -> list[str]:
    problems = []
    for name, size in sizes.items():
        if size > allowed.get(name, limit):
            problems.append(f"{name}: {size} lines (limit {allowed.get(name, limit)})")
    for name, size in allowed.items():
        if sizes.get(name, 0) <= limit:
            problems.append(f"{name} is within {limit} lines now: take it off the allow-list")
        elif sizes[name] < size:
            problems.append(f"{name} shrank to {sizes[name]} lines: lower its allow-list entry")
    return problems


def test_modules_and_functions_stay_small_and_the_allow_lists_only_shrink():
    modules, functions = _sizes()
    assert _check(modules, MODULES_OVER, MAX_MODULE_LINES) == []
    assert _check(functions, FUNCTIONS_OVER, MAX_FUNCTION_LINES) == []


def test_the_size_check_catches_growth_and_stale_entries():
    assert _check({"a.py": 401}, {}, 400) == ["a.py: 401 lines (limit 400)"]
    assert _check({"a.py": 500}, {"a.py": 450}, 400) == ["a.py: 500 lines (limit 450)"]
    assert _check({"a.py": 300}, {"a.py": 450}, 400) == [
        "a.py is within 400 lines now: take it off the allow-list"]


def test_import_contracts_hold():
    """Layers tui > engine > core, no cycle inside core or engine, only the app's wiring
    imports the worker (lint-imports reads pyproject.toml)."""
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which(
        "lint-imports")
    assert exe, "import-linter is a dev dependency: pip install -e '.[dev]'"
    proc = subprocess.run([exe, "--no-cache"], cwd=REPO, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "3 kept, 0 broken" in proc.stdout


def _engine_imports_in_functions() -> list[str]:
    found = []
    for path in sorted((PACKAGE / "engine").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                found += [f"{path.relative_to(PACKAGE)}:{node.lineno} {name}" for name in names
                          if name.startswith("thrifty_tui.engine")]
    return found


def test_no_engine_module_imports_its_own_modules_inside_a_function():
    """An import inside a function hides a cycle from import-linter: the engine has none."""
    assert _engine_imports_in_functions() == []
