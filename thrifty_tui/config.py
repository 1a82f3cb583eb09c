"""Settings shared by the CLI, the app and the tests (one typed object, no hidden globals).

The app's settings come from a ``thrifty.toml``, read in this order, each overriding the one
before: the user's config folder (``platformdirs.user_config_dir("thrifty-tui")``), the data
file's folder, then the environment (``THRIFTY_THEME``, ``THRIFTY_METRIC``,
``THRIFTY_SCREENSHOTS``). Command-line flags win over all of them. The file's tables:

``[app]``
    ``theme``          a Textual theme name ("textual-dark", "nord", "gruvbox", …)
    ``metric``         the metric the app's runs use ("balanced_accuracy", "r2", "rmse", …);
                       unset: the task's default
    ``screenshot_dir`` where ctrl+s and the palette's Screenshot write SVGs (created when
                       missing); unset: ~/Downloads when it exists, else the current folder
    ``seed``           the seed of samples, folds and models (a whole number)
``[budget]``
    the done rules of the next run, the Budget dashboard's ``r`` keys: ``seconds``,
    ``max_fits``, ``target_score``, ``min_improvement``, ``patience``, ``noise_floor``,
    ``price_per_cpu_hour`` (see docs/budget.md)
``[executor]``
    where fits run: ``dask = "local:4"`` (a LocalCluster of 4 worker processes) or
    ``dask = "tcp://HOST:8786"`` (a running scheduler), and ``fallback = "local"`` to go on
    on this machine when the cluster cannot be reached (docs/scaling.md); ``--dask`` and
    ``--dask-fallback`` win over them
``[cost]``
    what a prediction is worth (core.learn.value): ``false_positive``, ``false_negative``,
    ``true_positive``, ``true_negative`` (gains), ``per_unit_error``, ``positive``; the
    Budget dashboard's ``v``, the cost curve, the export's decision threshold
``[keymap]``
    binding id = keys, e.g. ``quit = "ctrl+q"`` or ``screen = "s,f5"``; the ids are listed
    on the help screen (``?`` or F1) and applied with Textual's keymap support

A value that fails validation stops the start with one line naming the file and the field
(:class:`SettingsError`).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

# Standard library only: the app's first frame waits for this module (see resolve_workspace).
DEFAULT_WORKSPACE = "thrifty-workspace"
SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_data"
DEFAULT_SAMPLE = ("movies.csv", "Comedy")
SETTINGS_FILE = "thrifty.toml"
APP_NAME = "thrifty-tui"
METRICS = ("balanced_accuracy", "accuracy", "f1_macro", "roc_auc", "neg_log_loss", "r2", "rmse",
           "mae")
# thrifty.toml's [budget] keys (core.policy.budget reads the same table beside the data).
RULE_KEYS = ("seconds", "max_fits", "target_score", "min_improvement", "patience",
             "noise_floor", "price_per_cpu_hour")
COST_KEYS = ("false_positive", "false_negative", "true_positive", "true_negative",
             "per_unit_error", "positive")  # thrifty.toml's [cost] (core.learn.value)
ENV_OVERRIDES = {"THRIFTY_THEME": "theme", "THRIFTY_METRIC": "metric",
                 "THRIFTY_SCREENSHOTS": "screenshot_dir"}


class SettingsError(ValueError):
    """A thrifty.toml (or environment) value that is wrong: the message is one line."""


@dataclass(frozen=True)
class Settings:
    """What the app is opened on and how it behaves."""

    workspace: Path
    path: str | None = None
    target: str | None = None
    max_procs: int | None = None
    seed: int = 0
    budget_s: float | None = None
    # Tests and screenshots turn these off for deterministic output.
    animations: bool = True
    # `thrifty-tui label`: open on the label screen with these labels (may be empty: ask).
    labels: tuple[str, ...] | None = None
    text_column: str | None = None
    # From thrifty.toml (see the module's docstring), or given by the tests.
    theme: str | None = None
    metric: str | None = None
    screenshot_dir: Path | None = None
    rules: tuple[tuple[str, Any], ...] = ()  # [budget]: (key, value) pairs, validated
    keymap: tuple[tuple[str, str], ...] = ()  # [keymap]: (binding id, keys) pairs
    dask: str | None = None  # [executor] dask: "local:N" or "tcp://HOST:PORT" (None: local)
    dask_fallback: bool = False  # [executor] fallback = "local"
    cost: tuple[tuple[str, Any], ...] = ()  # [cost]: (key, value) pairs, validated
    sources: tuple[str, ...] = field(default=(), compare=False)  # the files read


def sample_file() -> tuple[Path, str]:
    """The bundled sample the app opens with no arguments, and its target column."""
    name, target = DEFAULT_SAMPLE
    return SAMPLE_DIR / name, target


def resolve_workspace(explicit: str | os.PathLike[str] | None = None) -> Path:
    """--workspace, else $THRIFTY_WORKSPACE, else ./thrifty-workspace.

    It lives here, not beside the SQLite store in ``core.store.workspace``, so that settings can be
    made without importing the store and the engine's events (~50 ms before the first frame).
    """
    return Path(explicit or os.environ.get("THRIFTY_WORKSPACE") or DEFAULT_WORKSPACE).expanduser()


def make_settings(workspace: str | None = None, **kwargs: Any) -> Settings:
    """Settings with the workspace resolved (flag, then $THRIFTY_WORKSPACE, then default)."""
    return Settings(workspace=resolve_workspace(workspace), **kwargs)


# -- thrifty.toml ---------------------------------------------------------------------------
def user_settings_file() -> Path:
    """The user's thrifty.toml: ``$THRIFTY_CONFIG``, else platformdirs' user config folder."""
    explicit = os.environ.get("THRIFTY_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME)) / SETTINGS_FILE


def settings_files(data_path: str | None) -> list[Path]:
    """The thrifty.toml files that apply, weakest first: the user's, then the data's folder."""
    found = [user_settings_file()]
    if data_path:
        found.append(Path(data_path).expanduser().resolve().parent / SETTINGS_FILE)
    return [p for p in dict.fromkeys(found) if p.is_file()]


def _check_app(values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The [app] table, typed; SettingsError naming the field."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{where}: [app] {key}"
        if key in ("theme", "metric", "screenshot_dir"):
            if not isinstance(value, str) or not value.strip():
                raise SettingsError(f"{name} must be a non-empty string, not {value!r}")
            if key == "metric" and value not in METRICS:
                raise SettingsError(f"{name}: unknown metric {value!r}; one of "
                                    f"{', '.join(METRICS)}")
            out[key] = Path(value).expanduser() if key == "screenshot_dir" else value
        elif key == "seed":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise SettingsError(f"{name} must be a whole number ≥ 0, not {value!r}")
            out[key] = value
        else:
            raise SettingsError(f"{name}: unknown field; known: metric, screenshot_dir, "
                                f"seed, theme")
    return out


def _check_rules(values: Mapping[str, Any], where: str) -> dict[str, Any]:
    for key, value in values.items():
        name = f"{where}: [budget] {key}"
        if key not in RULE_KEYS:
            raise SettingsError(f"{name}: unknown rule; known: {', '.join(RULE_KEYS)}")
        if key == "noise_floor":
            if not isinstance(value, bool):
                raise SettingsError(f"{name} must be true or false, not {value!r}")
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise SettingsError(f"{name} must be a number ≥ 0, not {value!r}")
        elif key in ("max_fits", "patience") and value != int(value):
            raise SettingsError(f"{name} must be a whole number, not {value!r}")
    return dict(values)


def parse_dask_address(text: str) -> str:
    """``local``, ``local:N``, ``tcp://HOST:PORT`` or ``tls://HOST:PORT``, normalized;
    ValueError with one line saying what is wrong."""
    value = text.strip()
    if value == "local" or (value.startswith("local:") and value[6:].isdigit()
                            and int(value[6:]) >= 1):
        return value
    scheme, _, rest = value.partition("://")
    host, _, port = rest.rpartition(":")
    if scheme in ("tcp", "tls") and host and port.isdigit() and 0 < int(port) < 65536:
        return value
    raise ValueError(f"{text!r} is not a Dask cluster: use local, local:N (N worker "
                     "processes) or tcp://HOST:PORT")


def _check_executor(values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The [executor] table as Settings fields; SettingsError naming the field."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{where}: [executor] {key}"
        if key == "dask":
            try:
                out["dask"] = parse_dask_address(str(value))
            except ValueError as err:
                raise SettingsError(f"{name}: {err}") from None
        elif key == "fallback":
            if value not in ("local", "none"):
                raise SettingsError(f'{name} must be "local" or "none", not {value!r}')
            out["dask_fallback"] = value == "local"
        else:
            raise SettingsError(f"{name}: unknown field; known: dask, fallback")
    return out


def _check_cost(values: Mapping[str, Any], where: str) -> dict[str, Any]:
    for key, value in values.items():
        name = f"{where}: [cost] {key}"
        if key not in COST_KEYS:
            raise SettingsError(f"{name}: unknown; known: {', '.join(COST_KEYS)}")
        if key != "positive" and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise SettingsError(f"{name} must be a number, not {value!r}")
    return {k: (str(v) if k == "positive" else float(v)) for k, v in values.items()}


def _check_keymap(values: Mapping[str, Any], where: str) -> dict[str, str]:
    for key, value in values.items():
        if not isinstance(value, str) or not value.strip():
            raise SettingsError(f"{where}: [keymap] {key} must be keys like \"ctrl+q\" or "
                                f"\"s,f5\", not {value!r}")
    return dict(values)


def read_settings_file(path: Path) -> dict[str, Any]:
    """One thrifty.toml's settings, checked; SettingsError naming the file and field."""
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise SettingsError(f"{path}: cannot be read ({err.__class__.__name__})") from None
    except tomllib.TOMLDecodeError as err:
        raise SettingsError(f"{path}: not valid TOML ({err})") from None
    out: dict[str, Any] = {}
    for section, check in (("app", _check_app), ("budget", _check_rules),
                           ("keymap", _check_keymap), ("executor", _check_executor),
                           ("cost", _check_cost)):
        value = table.get(section, {})
        if not isinstance(value, dict):
            raise SettingsError(f"{path}: [{section}] must be a table")
        if section in ("app", "executor"):
            out.update(check(value, str(path)))
        elif value:
            out[section] = check(value, str(path))
    unknown = sorted(set(table) - {"app", "budget", "keymap", "executor", "cost", "tuning",
                                   "zoo"})
    if unknown:
        raise SettingsError(f"{path}: unknown table [{unknown[0]}]; known: [app] [budget] "
                            f"[cost] [executor] [keymap]")
    return out


def with_user_settings(settings: Settings, environ: Mapping[str, str] | None = None) -> Settings:
    """``settings`` with thrifty.toml and the environment applied under what it already sets
    (a field the caller set, like the seed of ``--seed``, is kept)."""
    environ = os.environ if environ is None else environ
    merged: dict[str, Any] = {}
    rules: dict[str, Any] = {}
    keymap: dict[str, str] = {}
    cost: dict[str, Any] = {}
    sources = settings_files(settings.path)
    for path in sources:
        values = read_settings_file(path)
        rules.update(values.pop("budget", {}))
        cost.update(values.pop("cost", {}))
        keymap.update(values.pop("keymap", {}))
        merged.update(values)
    for variable, key in ENV_OVERRIDES.items():
        if environ.get(variable):
            merged.update(_check_app({key: environ[variable]}, f"${variable}"))
    defaults = {f.name: f.default for f in fields(Settings)}
    changes = {k: v for k, v in merged.items() if getattr(settings, k) == defaults[k]}
    if rules and not settings.rules:
        changes["rules"] = tuple(rules.items())
    if cost and not settings.cost:
        changes["cost"] = tuple(cost.items())
    if keymap:
        changes["keymap"] = tuple({**keymap, **dict(settings.keymap)}.items())
    return replace(settings, **changes, sources=tuple(str(p) for p in sources))


def screenshot_folder(settings: Settings) -> Path:
    """Where screenshots go: the setting (created), else ~/Downloads if it exists, else ``.``."""
    if settings.screenshot_dir is not None:
        folder = Path(settings.screenshot_dir).expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    downloads = Path.home() / "Downloads"
    return downloads if downloads.is_dir() else Path.cwd()
