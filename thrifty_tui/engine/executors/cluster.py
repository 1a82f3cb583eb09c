"""The Dask executor: fits run on a Dask cluster's workers, the rest stays on this machine.

Only the fits of screening and tuning go out (``REMOTE``: one fold of one model, and the
warm-up that loads the problem); preparing the problem (and any sample), diagnostics, the
final fit and the bundle run in this machine's children (the ``LocalExecutor`` it wraps).
The prepared problem is scattered to every worker once per job (a broadcast), each fit then
names it; a fit returns its small record, and its out-of-fold predictions come back as bytes
that are written here. A fit is killed through ``cluster_side.kill_fits``: caps, deadlines
and cancel hold as they do locally. Every method is called from the worker thread, except the
result callbacks, which only complete futures and write a fit's out-of-fold files.
"""

from __future__ import annotations

import logging
import os
import pickle
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, Future
from pathlib import Path
from typing import Any

from thrifty_tui.core.errors import describe_error
from thrifty_tui.engine.executors import cluster_side
from thrifty_tui.engine.executors.cluster_checks import ClusterError, listening, version_problem
from thrifty_tui.engine.executors.local import LocalExecutor

# The functions sent to the cluster (named, so this process never imports core.tasks to know
# them), with the index of their output-file argument after the problem file.
REMOTE: dict[tuple[str, str], int | None] = {
    ("thrifty_tui.core.tasks.fits", "evaluate_fold_task"): 3,
    ("thrifty_tui.core.tasks.fits", "warm_up"): None,
}
CONNECT_TIMEOUT_S = 5.0
KILL_TIMEOUT_S = 1.5  # the kill's round trip; cancel must stop every fit within 2 s
INFO_EVERY_S = 1.0
EXTRA_HINT = "pip install 'thrifty-tui[dask]'"


def _saturation(dask_scheduler: Any = None) -> float | None:
    """The scheduler's worker saturation (run on the scheduler)."""
    value = getattr(dask_scheduler, "WORKER_SATURATION", None)
    return float(value) if isinstance(value, int | float) else None


def _chain(source: Future, target: Future) -> None:
    """Complete ``target`` as ``source`` completes (a fit moved here from a lost cluster)."""
    def copy(done: Future) -> None:
        if target.done():
            return
        error = done.exception()
        if error is not None:
            target.set_exception(error)
        else:
            target.set_result(done.result())

    source.add_done_callback(copy)


def _fits_module_name(fn: Callable[..., Any]) -> tuple[str, str]:
    return getattr(fn, "__module__", ""), getattr(fn, "__qualname__", "")


class DaskExecutor:
    """The ``Executor`` of engine/executors/base.py on a Dask cluster: ``local:N`` starts a
    LocalCluster of N single-threaded worker processes, ``tcp://HOST:PORT`` joins a running
    scheduler. ``max_workers`` is the cluster's worker threads, read as workers come and go."""

    kind = "dask"

    def __init__(self, address: str, local: LocalExecutor, *, fallback_local: bool = False,
                 notify: Callable[[str], None] | None = None,
                 on_lost: Callable[[str], None] | None = None,
                 connect_timeout: float = CONNECT_TIMEOUT_S):
        self.address = address
        self.local = local
        self.fallback_local = fallback_local
        self.notify = notify or (lambda message: None)  # a notice for the user
        self.on_lost = on_lost or self.notify  # the cluster is gone; fits go on here
        self.lost: str | None = None  # why the cluster can no longer be used
        self.bytes_sent = 0  # problem broadcasts and fit arguments
        self.bytes_received = 0  # fit records and their out-of-fold files
        self.broadcasts = 0  # problems scattered (one per job)
        self.problem_bytes = 0  # the size of the last one
        self.fits_sent = 0  # tasks sent to the cluster
        self._cluster: Any = None
        self._client: Any = None
        self._lock = threading.Lock()
        # Each fit on the cluster: its Future here, and what to run here if the cluster is lost.
        self._in_flight: dict[Any, tuple[Future, Callable[..., Any], tuple[Any, ...]]] = {}
        self._scattered: tuple[str, Any] | None = None
        self._generation = object()
        self._memory_cap_mb: float | None = None
        self._info: tuple[int, int] = (1, 1)
        self._info_at = -INFO_EVERY_S
        self._connect(connect_timeout)

    # -- connecting ---------------------------------------------------------------------------
    def _connect(self, timeout: float) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ClusterError(f"running fits on a Dask cluster needs the dask extra: "
                               f"{EXTRA_HINT}") from None
        try:
            if self.address.startswith("local"):
                _, _, count = self.address.partition(":")
                n = int(count) if count else max(1, os.cpu_count() or 1)
                import dask

                # A task goes to a worker only when one of its threads is free: a fit queued
                # behind another on a busy worker would be charged its wait by the time cap.
                with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
                    self._cluster = LocalCluster(n_workers=n, threads_per_worker=1,
                                                 processes=True, dashboard_address=None,
                                                 silence_logs=logging.CRITICAL)
                self._client = Client(self._cluster, timeout=timeout, set_as_default=False)
            else:
                listening(self.address, timeout)
                logging.getLogger("distributed").setLevel(logging.CRITICAL)
                self._client = Client(self.address, timeout=timeout, set_as_default=False)
            self._client.wait_for_workers(1, timeout=timeout)
        except (OSError, TimeoutError):
            workerless = self._client is not None
            self.leave()
            if workerless:
                raise ClusterError(f"the Dask scheduler at {self.address} has no workers (none "
                                   f"joined within {timeout:g} s): start some with "
                                   f"`dask worker {self.address}`") from None
            raise ClusterError(f"cannot reach the Dask scheduler at {self.address} (no answer "
                               f"within {timeout:g} s): is it running, and is the address "
                               "right?") from None
        self._check_versions()

    def _check_versions(self) -> None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                refusal, warning = version_problem(self._client)
                theirs = self._client.run(cluster_side.worker_versions, on_error="return")
        except Exception as err:  # noqa: BLE001 - any failure here means: not usable
            self.leave()
            raise ClusterError(f"the Dask cluster at {self.address} did not answer the "
                               f"version check: {describe_error(err)}") from None
        if refusal:
            self.leave()
            raise ClusterError(f"client and cluster versions differ: {refusal}; install the "
                               "same versions on both")
        mine = cluster_side.worker_versions()
        for worker, versions in theirs.items():
            if versions != mine:
                self.leave()
                got = (f"has {versions}" if isinstance(versions, dict)
                       else f"cannot run thrifty-tui ({describe_error(versions)})")
                raise ClusterError(
                    f"the Dask worker {worker} {got}; this machine has {mine}: "
                    f"pip install 'thrifty-tui[dask]=={mine['thrifty-tui']}' "
                    f"scikit-learn=={mine['scikit-learn']} on every worker")
        if warning:
            self.notify(f"Dask versions differ ({warning}); fits go on")
        saturation = self._client.run_on_scheduler(_saturation)
        if saturation is not None and saturation > 1.0:
            self.notify(f"the Dask scheduler's worker-saturation is {saturation:g}: a fit may "
                        "wait behind another on a busy worker and its time cap counts that "
                        "wait; start the scheduler with DASK_DISTRIBUTED__SCHEDULER__WORKER_"
                        "SATURATION=1.0 (docs/scaling.md)")
        # The workers' children start (and import scikit-learn) while the run prepares here.
        self._client.run(cluster_side.start_children, self._log_path(), on_error="ignore")

    # -- what the policy and the app read -----------------------------------------------------
    @property
    def client(self) -> Any:
        """The ``distributed.Client`` (None once left): for tests and benchmarks."""
        return self._client

    @property
    def remote(self) -> bool:
        """Whether fits go to the cluster now (False once it is lost)."""
        return self.lost is None and self._client is not None

    def workers_and_cores(self) -> tuple[int, int]:
        """(workers, worker threads) of the cluster, re-read at most once a second."""
        if not self.remote:
            return 1, self.local.max_workers
        now = time.monotonic()
        if now - self._info_at >= INFO_EVERY_S:
            self._info_at = now
            try:
                workers = self._client.scheduler_info(n_workers=-1)["workers"]
            except TypeError:  # an older distributed: no n_workers
                workers = self._client.scheduler_info()["workers"]
            except Exception:  # noqa: BLE001 - keep the last figures
                return self._info
            self._info = (len(workers), sum(int(w.get("nthreads", 1)) for w in workers.values()))
        return self._info

    @property
    def max_workers(self) -> int:  # type: ignore[override]
        """Fits that run at once: the cluster's worker threads (this machine's once lost)."""
        if not self.remote:
            return self.local.max_workers
        return max(1, self.workers_and_cores()[1])

    @property
    def generation(self) -> object:
        return self._generation if self.remote else self.local.generation

    # -- the Executor protocol ----------------------------------------------------------------
    def set_memory_cap(self, memory_cap_mb: float | None) -> None:
        self.local.set_memory_cap(memory_cap_mb)
        self._memory_cap_mb = memory_cap_mb

    def warm_up(self) -> None:
        self.local.warm_up()

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """A fit goes to the cluster, anything else to this machine's children."""
        out_index = REMOTE.get(_fits_module_name(fn), -1)
        if out_index == -1 or not self._usable():
            return self.local.submit(fn, *args)
        return self._submit_remote(fn, args, out_index)

    def _usable(self) -> bool:
        """Whether the cluster takes fits; once it is lost: one notice, then this machine's
        children (``--dask-fallback local``) or a ClusterError ending the job."""
        if self.remote and self._client.status not in ("running", "connecting", "newly-created"):
            self._lose(f"the Dask cluster at {self.address} is gone (the client's connection "
                       f"is {self._client.status})")
        if self.remote:
            return True
        if self._client is None:
            return False
        if not self.fallback_local:
            raise ClusterError(f"{self.lost}; finished results are kept; run again with "
                               "--dask-fallback local to go on on this machine")
        return False

    def _lose(self, why: str, also: tuple[Any, ...] = ()) -> None:
        """The cluster is gone: its fits in flight run again here (``--dask-fallback local``)
        or fail with ``why`` (the job then stops at its next submit, with that message)."""
        with self._lock:
            first = self.lost is None
            self.lost = self.lost or why
            pending = [*self._in_flight.values(), *also]
            self._in_flight.clear()
        for result, fn, args in pending:
            if result.done():
                continue
            if not self.fallback_local:
                result.set_exception(BrokenExecutor(self.lost))
                continue
            try:
                _chain(self.local.submit(fn, *args), result)
            except Exception as err:  # noqa: BLE001 - the run's loop sees it as a dead pool
                result.set_exception(BrokenExecutor(describe_error(err)))
        if first and self.fallback_local:
            self.on_lost(self.lost)

    def _problem_data(self, problem_file: str) -> Any:
        """The job's problem on every worker, scattered once per problem file."""
        if self._scattered is not None and self._scattered[0] == problem_file:
            return self._scattered[1]
        if self._scattered is not None:
            self._scattered[1].release()
        blob = Path(problem_file).read_bytes()
        future = self._client.scatter(blob, broadcast=True, hash=False)
        self.bytes_sent += len(blob) * self.workers_and_cores()[0]
        self.broadcasts += 1
        self.problem_bytes = len(blob)
        self._scattered = (problem_file, future)
        return future

    def _log_path(self) -> str | None:
        """A LocalCluster's workers share this machine: their children log where ours do (a
        warning printed on the terminal would be drawn over the app)."""
        return self.local.log_path if self.address.startswith("local") else None

    def _submit_remote(self, fn: Callable[..., Any], args: tuple[Any, ...],
                       out_index: int | None) -> Future:
        problem_file, rest = args[0], tuple(args[1:])
        data = self._problem_data(problem_file)
        out_file = rest[out_index] if out_index is not None and rest[out_index] else None
        self.bytes_sent += len(pickle.dumps(rest, protocol=pickle.HIGHEST_PROTOCOL))
        self.fits_sent += 1
        task = self._client.submit(cluster_side.run_fit, fn, data, Path(problem_file).stem,
                                   rest, out_index, self._memory_cap_mb, self._log_path(),
                                   pure=False)
        result: Future = Future()
        result.set_running_or_notify_cancel()
        with self._lock:
            self._in_flight[task] = (result, fn, args)
        task.add_done_callback(lambda done: self._deliver(done, out_file))
        return result

    def _deliver(self, task: Any, out_file: str | None) -> None:
        """On Dask's callback thread: complete the Future of the finished ``task``."""
        with self._lock:
            flight = self._in_flight.pop(task, None)
        if flight is None or flight[0].done():
            return  # killed, or the cluster was lost: already answered
        result = flight[0]
        try:
            if task.status == "finished":
                value, files = task.result()
                self.bytes_received += len(pickle.dumps(value)) + sum(map(len, files.values()))
                if out_file is not None:
                    for name, blob in files.items():
                        path = Path(out_file).parent / name
                        tmp = path.with_name(path.name + ".part")
                        tmp.write_bytes(blob)
                        os.replace(tmp, path)
                result.set_result(value)
                return
            running = self._client is not None and self._client.status == "running"
            error = task.exception() if task.status == "error" and running else None
        except Exception:  # noqa: BLE001 - the cluster went away as it answered
            error = None
        from distributed import KilledWorker

        if isinstance(error, cluster_side.FitKilled):
            result.set_exception(BrokenExecutor("the fit was stopped"))
        elif error is None:  # cancelled by no kill of ours, or no answer: the cluster is gone
            self._lose(f"the Dask cluster at {self.address} is gone (lost a fit: "
                       f"{task.status})", also=(flight,))
        elif isinstance(error, KilledWorker):
            result.set_exception(BrokenExecutor(
                "its Dask workers died while running it (out of memory or a crash)"))
        else:
            result.set_exception(error)

    def kill(self) -> None:
        """Stop every fit on the cluster and every child here; queued fits are cancelled."""
        self._kill_cluster()
        self.local.kill()

    def _kill_cluster(self) -> None:
        self._generation = object()
        with self._lock:
            pending = dict(self._in_flight)
            self._in_flight.clear()
        if self.remote:
            killer = threading.Thread(target=self._kill_remote,
                                      args=(self._client, list(pending)),
                                      name="thrifty-dask-kill", daemon=True)
            killer.start()
            killer.join(KILL_TIMEOUT_S)
        for future, _, _ in pending.values():
            if not future.done():
                future.set_exception(BrokenExecutor("the fit was stopped"))

    @staticmethod
    def _kill_remote(client: Any, tasks: list[Any]) -> None:
        try:
            if tasks:
                client.cancel(tasks)
            client.run(cluster_side.kill_fits, on_error="ignore")
        except Exception:  # noqa: BLE001 - a cluster that cannot be reached runs no fit of ours
            pass

    def close(self) -> None:
        """Stop the fits, leave the cluster (a LocalCluster stops with it), close the pool."""
        self.leave()
        self.local.close()

    def leave(self) -> None:
        """Stop the fits and leave the cluster (a LocalCluster stops with it); this machine's
        children are not this executor's to close."""
        if self._client is not None and self.lost is None:
            self._kill_cluster()
        for thing in (self._client, self._cluster):
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # noqa: BLE001 - closing what is already gone
                    pass
        self._client = self._cluster = None
