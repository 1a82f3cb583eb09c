"""What each layer drags in when imported, checked in a fresh interpreter each time.

The core and the engine never import the UI toolkit; the modules the app's own process needs
(events, jobs, the worker thread, the CLI) never load scikit-learn or pandas, which belong in
the child processes that fit models.

One wrinkle: scikit-learn >= 1.9 imports ``rich`` itself when it is installed (its
``sklearn.callback`` progress bars, pulled in by ``sklearn.pipeline``), and rich is always
installed here because Textual needs it. So the check is on *who* imports rich: never a
thrifty_tui module, only scikit-learn. Textual must not be loaded at all.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import thrifty_tui.core
import thrifty_tui.engine

REPO = Path(__file__).resolve().parents[1]
UI = ("textual", "rich")
HEAVY = ("sklearn", "pandas", "numpy", "scipy", "joblib")
# Third-party packages known to import rich on their own, and why.
RICH_ALLOWED_IMPORTERS = ("sklearn.",)  # sklearn.callback._progressbar (scikit-learn >= 1.9)

_PROBE = """
import builtins, importlib, json, sys

WATCH = {watch!r}
importers = {{}}
real_import = builtins.__import__

def spying_import(name, globals=None, locals=None, fromlist=(), level=0):
    # Every import statement, even of a module already loaded, so that a thrifty_tui import
    # of rich is seen even after scikit-learn has loaded rich first.
    top = name.split(".")[0]
    if level == 0 and top in WATCH:
        importer = (globals or {{}}).get("__name__") or "?"
        if importer.split(".")[0] != top:
            importers.setdefault(top, set()).add(importer)
    return real_import(name, globals, locals, fromlist, level)

builtins.__import__ = spying_import
for name in {modules!r}:
    importlib.import_module(name)
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set(WATCH))
print(json.dumps({{"loaded": loaded,
                  "importers": {{k: sorted(v) for k, v in importers.items()}}}}))
"""


def _modules(package) -> list[str]:
    names = [m.name for m in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")]
    assert names, package
    return sorted(names)


def _probe(modules: list[str], watch: tuple[str, ...]) -> dict:
    """Import ``modules`` in a fresh interpreter: which of ``watch`` got loaded, and by whom."""
    code = _PROBE.format(watch=watch, modules=modules)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


CORE = _modules(thrifty_tui.core)
ENGINE = _modules(thrifty_tui.engine)


def test_the_layers_are_discovered():
    for name in ("data.tables", "data.schema", "learn.features", "learn.zoo", "learn.screening",
                 "tasks.fits", "store.bundle", "store.workspace", "events", "records", "errors"):
        assert f"thrifty_tui.core.{name}" in CORE
    for name in ("jobs", "jobs.screen", "executors.local", "context", "worker", "screen_run"):
        assert f"thrifty_tui.engine.{name}" in ENGINE


def test_core_and_engine_do_not_import_textual_or_rich():
    result = _probe(CORE + ENGINE, UI + HEAVY)
    assert "textual" not in result["loaded"]
    assert "textual" not in result["importers"]
    # The probe works: the core really loads its science stack.
    assert set(HEAVY) <= set(result["loaded"])
    for importer in result["importers"].get("rich", []):
        assert not importer.startswith("thrifty_tui"), importer
        assert importer.startswith(RICH_ALLOWED_IMPORTERS), importer


@pytest.mark.parametrize("modules", [
    ["thrifty_tui"],
    ["thrifty_tui.core.events", "thrifty_tui.core.records", "thrifty_tui.core.errors"],
    ["thrifty_tui.engine.jobs", "thrifty_tui.engine.worker", "thrifty_tui.engine.executors.local",
     "thrifty_tui.core.tasks.fits", "thrifty_tui.core.tasks.loading",
     "thrifty_tui.core.tasks.ensemble", "thrifty_tui.core.tasks.labeling",
     "thrifty_tui.core.store.workspace"],
    ["thrifty_tui.cli.commands", "thrifty_tui.config"],
], ids=["package", "events-records-errors", "engine-workspace", "cli-config"])
def test_the_apps_process_stays_light(modules):
    assert _probe(modules, HEAVY + UI)["loaded"] == []


def test_the_app_and_its_screens_never_import_scikit_learn_or_pandas():
    # The rule "screens never import scikit-learn": the UI renders events, it does
    # not compute; fitting happens in the worker's children.
    assert _probe(["thrifty_tui.tui.app"], HEAVY)["loaded"] == []


def test_the_app_paints_before_it_imports_the_other_screens_and_the_worker(tmp_path):
    """First paint needs the Load screen only: the rest is imported after the first frame.

    The same steps as ``thrifty-tui open FILE`` up to ``App.run``: the parser, the path's
    pre-check, the settings, the app and its state. The engine's events and jobs and the
    budget (~60 ms of dataclasses) are among what must wait."""
    code = ("import sys, thrifty_tui.cli.commands as cli; "
            "cli.build_parser().parse_args(['open', 'sample_data/movies.csv']); "
            "from thrifty_tui.core.data.sniff import precheck; precheck('sample_data/movies.csv'); "
            "from thrifty_tui.config import make_settings; import thrifty_tui.tui.app as app; "
            f"made = app.create_app(make_settings({str(tmp_path)!r}, "
            "path='sample_data/movies.csv', target='Comedy')); "
            "assert made.state.target == 'Comedy'; "
            "print(sorted(m for m in sys.modules if m in app.LATER_MODULES "
            "or m in ('thrifty_tui.engine.worker', 'thrifty_tui.core.policy.budget', "
            "'thrifty_tui.core.store.workspace', 'plotext', 'textual_plotext')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, check=True).stdout
    assert out.strip() == "[]"
    assert {"thrifty_tui.core.events", "thrifty_tui.engine.jobs"} <= set(app_later_modules())


def app_later_modules() -> tuple[str, ...]:
    from thrifty_tui.tui.app import LATER_MODULES

    return LATER_MODULES
