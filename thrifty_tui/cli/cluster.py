"""`run --dask`: where the fits run (a Dask cluster, docs/scaling.md), chosen by the flags or
by thrifty.toml's [executor] table, connected before the run starts."""

from __future__ import annotations

import argparse
import queue
from collections.abc import Callable
from typing import Any

EXTRA_HINT = "pip install 'thrifty-tui[dask]'"


def _address(text: str) -> str:
    from thrifty_tui.config import parse_dask_address

    try:
        return parse_dask_address(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_flags(parser: argparse.ArgumentParser) -> None:
    """--dask and --dask-fallback on ``run``."""
    parser.add_argument("--dask", metavar="ADDRESS", type=_address,
                        help="run the fits on a Dask cluster: local[:N] (N worker processes "
                             "on this machine) or tcp://HOST:PORT (a running scheduler); "
                             f"needs {EXTRA_HINT}")
    parser.add_argument("--dask-fallback", choices=["local"],
                        help="go on with this machine's processes if the cluster cannot be "
                             "reached or is lost mid-run")


def choice(args: argparse.Namespace) -> tuple[str, bool] | None:
    """(address, fall back to local) from the flags over thrifty.toml's [executor]; None:
    fits run on this machine."""
    from thrifty_tui.config import SettingsError, read_settings_file, settings_files
    from thrifty_tui.core.errors import DataError

    address, fallback = args.dask, args.dask_fallback == "local"
    try:
        for path in settings_files(args.path):
            values = read_settings_file(path)
            address = address if args.dask else values.get("dask", address)
            if args.dask_fallback is None:
                fallback = values.get("dask_fallback", fallback)
    except SettingsError as err:
        raise DataError(str(err)) from None
    return (address, fallback) if address else None


def connect(worker: Any, events: queue.Queue[Any], args: argparse.Namespace,
            show: Callable[[Any], None]) -> Any:
    """Hand the worker's fits to the chosen cluster before the run; the ExecutorChanged event
    (None: fits run here). DataError (exit 2) when the cluster cannot be used, with no
    fallback, or when the dask extra is not installed; the worker is shut down then."""
    from thrifty_tui.core.errors import DataError
    from thrifty_tui.core.events import JobFailed
    from thrifty_tui.core.executor_events import ExecutorChanged
    from thrifty_tui.engine.jobs import ConnectCluster

    try:
        chosen = choice(args)
        if chosen is None:
            return None
        address, fallback = chosen
        try:
            import distributed  # noqa: F401 - the extra's check
        except ImportError:
            raise DataError(f"--dask needs the dask extra: {EXTRA_HINT}") from None
        worker.submit(ConnectCluster(address, fallback_local=fallback))
        while True:
            event = events.get()
            show(event)
            if isinstance(event, JobFailed):
                raise DataError(event.message)
            if isinstance(event, ExecutorChanged):
                return event
    except BaseException:
        worker.shutdown()
        raise


def describe(event: Any, worker: Any) -> dict[str, Any]:
    """The ``executor`` of the CLI's done line: kind, address, workers, cores."""
    if event is None:
        cores = worker.executor.max_workers
        return {"kind": "local", "address": "", "workers": cores, "cores": cores}
    return {"kind": event.kind, "address": event.address, "workers": event.workers,
            "cores": event.cores}
