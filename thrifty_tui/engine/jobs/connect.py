"""The ConnectCluster job: make the executor that fits run on (this machine's children or a
Dask cluster), report it, and fall back to this machine when asked to. The worker swaps its
executor for the one returned; this module never imports the worker."""

from __future__ import annotations

from typing import Any

from thrifty_tui.core.events import Notice
from thrifty_tui.core.executor_events import ExecutorChanged
from thrifty_tui.engine.context import JobContext
from thrifty_tui.engine.executors.cluster import ClusterError, DaskExecutor
from thrifty_tui.engine.executors.local import LocalExecutor
from thrifty_tui.engine.jobs.requests import ConnectCluster


def describe(executor: Any, message: str = "") -> ExecutorChanged:
    """The ExecutorChanged event of ``executor`` as it is now."""
    if isinstance(executor, DaskExecutor) and executor.remote:
        workers, cores = executor.workers_and_cores()
        return ExecutorChanged(kind="dask", address=executor.address, workers=workers,
                               cores=cores, message=message)
    local = executor.local if isinstance(executor, DaskExecutor) else executor
    return ExecutorChanged(kind="local", workers=local.max_workers, cores=local.max_workers,
                           message=message)


def connect(ctx: JobContext, job: ConnectCluster, local: LocalExecutor) -> Any:
    """The executor for ``job`` (the caller closes the one it replaces). ClusterError (one
    line) when the cluster cannot be used and no fallback was asked for."""
    if not job.address:
        ctx.emit(describe(local))
        return local

    def notify(message: str) -> None:
        ctx.emit(Notice(message=message))

    try:
        executor = DaskExecutor(
            job.address, local, fallback_local=job.fallback_local, notify=notify,
            on_lost=lambda why: ctx.emit(describe(local, message=f"{why}; finished results "
                                                  "are kept, the next fits run here")))
    except ClusterError as err:
        if not job.fallback_local:
            raise
        notify(f"{err}; fits run on this machine")
        ctx.emit(describe(local, message=str(err)))
        return local
    ctx.emit(describe(executor))
    return executor
