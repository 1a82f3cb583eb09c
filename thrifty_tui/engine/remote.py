"""Name a child-process task by module and function, so the app's process never imports the
task's module (pandas, DuckDB, scikit-learn) just to hand it to a child."""

from __future__ import annotations

import importlib
from typing import Any


def call(module: str, function: str, *args: Any) -> Any:
    """Run ``module.function(*args)`` (in the child that receives this call)."""
    return getattr(importlib.import_module(module), function)(*args)
