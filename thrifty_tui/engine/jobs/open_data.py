"""The OpenDataset job: read (or sample) a file and profile it in a child, with progress."""

from __future__ import annotations

import json
import time
from concurrent.futures import wait
from pathlib import Path

from thrifty_tui.core.data.sniff import precheck
from thrifty_tui.core.events import DatasetOpened, JobFailed
from thrifty_tui.core.tasks import loading
from thrifty_tui.engine.context import POLL_SECONDS, JobContext
from thrifty_tui.engine.jobs.requests import OpenDataset


def open_dataset(ctx: JobContext, job: OpenDataset) -> None:
    """Read or sample the file and profile it in a child, relaying its progress a few
    times a second; cancel kills the child (a thread inside pandas cannot be stopped)."""
    from thrifty_tui.core.events import LoadProgress

    started = time.monotonic()
    precheck(job.path)  # cheap checks here, for a message without a child round trip
    ctx.emit(LoadProgress(path=job.path, phase="starting", fraction=None, elapsed_s=0.0))
    progress = ctx.ws.artifacts / f"load-{time.time_ns()}.progress"
    future = ctx.executor.submit(loading.open_for_load, job.path,
                              job.target, str(progress))
    last = 0.0
    try:
        while True:
            done, _ = wait([future], timeout=POLL_SECONDS)
            if done:
                break
            if ctx.checkpoint():
                ctx.executor.kill()
                ctx.emit(JobFailed(job="OpenDataset", cancelled=True,
                                    message=f"stopped loading {Path(job.path).name}"))
                return
            if time.monotonic() - last >= 0.25:  # a few updates a second is plenty
                last = time.monotonic()
                try:
                    phase, fraction = json.loads(progress.read_text(encoding="utf-8"))
                except (OSError, ValueError, TypeError):
                    phase, fraction = "starting", None
                ctx.emit(LoadProgress(path=job.path, phase=str(phase),
                                       fraction=None if fraction is None else float(fraction),
                                       elapsed_s=round(last - started, 1)))
        event: DatasetOpened = future.result()
    finally:
        progress.unlink(missing_ok=True)
        Path(f"{progress}.tmp").unlink(missing_ok=True)
    ctx.ws.add_dataset(event.path, event.fingerprint, event.n_rows, len(event.columns))
    ctx.emit(event)

