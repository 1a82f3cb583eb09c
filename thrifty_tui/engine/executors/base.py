"""The executor interface: submit a unit of child work, wait on it, kill it, and know how many
run at once. The policy plans for ``max_workers``; everything that assumes a local process
stays behind this interface."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol


class Executor(Protocol):
    """Runs functions in killable workers and reports each one's result through a Future.

    Results are small records (a fold's score, seconds, peak memory: the fit's measured cost);
    big inputs reach a worker once (a problem file loaded into the child's cache), not per fit.
    """

    max_workers: int

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Run ``fn(*args)`` in a worker; the Future holds its result or its exception."""
        ...

    def kill(self) -> None:
        """Stop every unit of work now (their results are lost); the next submit starts new
        workers. This is how a fit past its cap, a deadline and cancel are enforced."""
        ...

    def set_memory_cap(self, memory_cap_mb: float | None) -> None:
        """The per-worker memory cap from the next submit on (None: the default)."""
        ...

    def warm_up(self) -> None:
        """Start the workers ahead of the first submit, if that takes time."""
        ...

    @property
    def generation(self) -> object:
        """An identity of the current set of workers: it changes when they are restarted
        (after ``kill``), so a job knows to load its problem into the new ones."""
        ...

    def close(self) -> None:
        """Let the workers finish what they have, then stop them."""
        ...
