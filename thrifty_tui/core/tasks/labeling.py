"""Labeling's work in a child process: the pool of items to label and the model that ranks
them (core/tasks/active.py). This module is light: the worker names these functions without
importing pandas or scikit-learn, which active.py imports when a child calls them."""

from __future__ import annotations

from typing import Any


def load_pool(path: str, text_column: str | None, seed: int, cap: int) -> Any:
    """``active.load_pool`` in the child: the items of ``path`` to label, in queue order."""
    from thrifty_tui.core.tasks import active

    return active.load_pool(path, text_column, seed, cap)


def refit_rank(spec: dict[str, Any]) -> Any:
    """``active.refit_rank`` in the child: refit the labeling model and rank the queue."""
    from thrifty_tui.core.tasks import active

    return active.refit_rank(spec)
