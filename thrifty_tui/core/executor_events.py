"""Where fits run (issue 22): the event that says it, for the app's status line and the CLI's
``--json`` stream. Registered in core.events' EVENT_NAMES like the others."""

from __future__ import annotations

from dataclasses import dataclass

from thrifty_tui.core.events import EVENT_NAMES, Event


@dataclass(frozen=True)
class ExecutorChanged(Event):
    """Fits run here from now on: this machine's child processes (``local``) or a Dask
    cluster (``dask`` at ``address``), with its workers and their cores (worker threads).
    ``message`` says why fits went back to this machine, when they did."""

    kind: str
    address: str = ""
    workers: int = 1
    cores: int = 1
    message: str = ""

    @property
    def label(self) -> str:
        """One short line for a status bar: ``local · 2 cores`` or ``dask tcp://… · 4 workers,
        8 cores``."""
        if self.kind == "local":
            return f"local · {self.cores} cores"
        return f"dask {self.address} · {self.workers} workers, {self.cores} cores"


EVENT_NAMES[ExecutorChanged] = "executor"
