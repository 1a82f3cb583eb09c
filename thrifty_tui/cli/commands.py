"""`thrifty-tui`: no arguments opens the app on the bundled sample; subcommands run headless."""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from typing import Any, NoReturn

from thrifty_tui.cli.faults import (
    catch_signals,
    exit_code,
    mark_run_interrupted,
    memory_cap,
    memory_failure,
    record_internal_error,
    setup_logging,
)
from thrifty_tui.cli.help import EXAMPLES, add_examples, subparser

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments: exit 2 with one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, no usage dump
        raise UsageError(message)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be above 0")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="thrifty-tui", description="Thrifty machine learning in the terminal: "
                     "no command opens the app on the bundled sample.", epilog=EXAMPLES[None],
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", metavar="DIR", help="workspace folder (default "
                        "./thrifty-workspace or $THRIFTY_WORKSPACE)")
    parser.add_argument("--debug", action="store_true",
                        help="print an internal error's traceback (always in the log file)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p_open = subparser(sub, "open", "open the app on a data file")
    p_open.add_argument("path", help="a CSV, TSV, Parquet, JSON Lines or Excel file")
    p_open.add_argument("--target", help="the column to predict (default: the last one, or "
                                         "the one the app suggests)")
    p_run = subparser(sub, "run", "screen models headless, pick the best, export it")
    p_run.add_argument("path", help="the data file (CSV, TSV, Parquet, JSON Lines, Excel)")
    p_run.add_argument("--target", required=True, metavar="COL", help="the column to predict")
    p_run.add_argument("--task", choices=["classification", "regression"],
                       help="what to learn (default: guessed from the target column)")
    p_run.add_argument("--budget", type=float, help="wall seconds; no new model starts after it")
    p_run.add_argument("--seed", type=int, default=0, metavar="N",
                       help="seed of the folds, samples and models (default 0): the same seed "
                            "gives the same run")
    p_run.add_argument("--export", metavar="BUNDLE", help="write the best model's bundle here")
    p_run.add_argument("--json", action="store_true", help="one JSON object per line on stdout")
    p_run.add_argument("--metric", help="balanced_accuracy (default), accuracy, f1_macro, roc_auc,"
                                        " neg_log_loss; r2 (default), rmse, mae")
    p_run.add_argument("--max-fit-seconds", type=_positive, metavar="S",
                       help="hard cap on one fit: a fit past it is stopped (TIMEOUT row)")
    p_run.add_argument("--max-memory-mb", type=memory_cap, metavar="MB",
                       help="memory cap per child process (OOM row past it)")
    p_run.add_argument("--zoo", metavar="TOML", help="model zoo file (default: the bundled one, "
                                                     "or thrifty-zoo.toml beside the data)")
    p_run.add_argument("--no-racing", action="store_true",
                       help="cross-validate every model on all rows (no successive halving)")
    p_run.add_argument("--sample", type=int, metavar="ROWS",
                       help="screen a seeded sample of this many rows (stratified by the target "
                            "for classification, every class kept)")
    tune = p_run.add_mutually_exclusive_group()
    tune.add_argument("--tune", dest="tune", action="store_const", const=True, default=None,
                      help="tune the leaders after screening (the default once a budget or a "
                           "done rule is set)")
    tune.add_argument("--no-tune", dest="tune", action="store_const", const=False,
                      help="screen only; do not tune the leaders afterwards")
    p_run.add_argument("--max-fits", type=_positive_int, metavar="N",
                       help="at most N fits (one model on one CV fold; the final refit aside)")
    p_run.add_argument("--target-score", type=float, metavar="X",
                       help="done once the best CV score reaches X (for rmse/mae: the error)")
    p_run.add_argument("--min-improvement", type=_positive, metavar="F",
                       help="done once the loss is a fraction F below the baseline's (0.2)")
    p_run.add_argument("--patience", type=_positive_int, metavar="N",
                       help="done after N fits without a gain of at least --patience-delta")
    p_run.add_argument("--patience-delta", type=float, metavar="D", help="δ for --patience")
    p_run.add_argument("--noise-floor", action="store_const", const=True, default=None,
                       help="done when gains fall below the fold-to-fold noise")
    p_run.add_argument("--price-per-cpu-hour", type=_positive, metavar="P",
                       help="show the cost of the compute in money at this price")
    from thrifty_tui.cli import cluster as cli_cluster

    cli_cluster.add_flags(p_run)
    from thrifty_tui.cli import value as cli_value

    p_pred = subparser(sub, "predict", "predict a file with a bundle", workspace=False)
    p_pred.add_argument("bundle", help="a NAME.thrifty.zip written by `run --export` or `e`")
    p_pred.add_argument("path", help="the rows to predict, with the bundle's input columns")
    p_pred.add_argument("-o", "--output", help="CSV to write (stdout when omitted)")
    cli_value.add_predict_flags(p_pred)
    cli_value.add_cost_flags(p_run)
    p_runs = subparser(sub, "runs", "every run of the workspace: data, target, metric, budget, "
                                    "best, CV, stop reason, cost")
    p_runs.add_argument("--json", action="store_true", help="one JSON object per run and line")
    from thrifty_tui.cli import bundle as cli_bundle
    from thrifty_tui.cli import data as cli_data

    cli_data.add_subcommands(sub)
    cli_bundle.add_subcommands(sub)
    from thrifty_tui.cli import label as cli_label

    cli_label.add_subcommands(sub)
    add_examples(parser)
    return parser


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"thrifty-tui: error: {message}", file=sys.stderr)
    return code


def _run_app(workspace: str | None, path: str | None, target: str | None) -> int:
    from thrifty_tui.cli.start import no_terminal
    from thrifty_tui.config import sample_file
    from thrifty_tui.core.errors import DataError

    why = no_terminal()  # before anything else: no escape codes into a pipe
    if why is not None:
        return _fail(why)
    from thrifty_tui.core.data.sniff import precheck as check_path

    if path is None:
        sample, sample_target = sample_file()
        if not sample.exists():
            return _fail(f"bundled sample not found at {sample}; pass a file: thrifty-tui open PATH")
        path, target = str(sample), target or sample_target
    else:
        try:
            check_path(path)
        except DataError as err:
            return _fail(str(err))
    from thrifty_tui.cli.start import app_settings
    from thrifty_tui.tui.app import create_app

    app = create_app(app_settings(workspace, path=path, target=target))
    app.run()
    # 143 or 129 when SIGTERM or SIGHUP ended it (the app exits as `q` does, see ThriftyApp).
    return app.return_code or EXIT_OK


def _format_human(event: Any) -> str | None:
    from thrifty_tui.core.events import (BudgetUpdate, ExportFinished, ModelScored, Notice,
                                         RunFinished, RunStarted, TuningStarted)

    if isinstance(event, RunStarted):
        notes = "".join(f"\n  note: {n}" for n in event.notices)
        return (f"run {event.run_id}: {event.task} of {event.target!r} on {event.n_rows} rows, "
                f"{event.n_folds}-fold CV, metric {event.metric}{notes}")
    if isinstance(event, ModelScored):
        r = event.result
        score = f"{r.mean:.4f} ± {r.std:.4f}" if r.fold_scores else "-"
        extra = f"  {r.error}" if r.error else ""
        return f"  [{event.done}/{event.total}] {r.model:<26} {score:<18} {r.fit_seconds:6.1f} s  {r.status}{extra}"
    if isinstance(event, RunFinished):
        return f"best: {event.best_model} ({event.metric} {event.best_score:.4f}) — {event.stop_reason}"
    if isinstance(event, TuningStarted):
        left = "" if event.seconds_left is None else f", {event.seconds_left:.0f} s left"
        return f"tuning {', '.join(event.leaders)}{left}"
    if isinstance(event, BudgetUpdate) and event.final:
        cost = event.cost
        price = "" if cost.money is None else f", cost {cost.money:.4f} at {cost.price_per_cpu_hour:g}/CPU-hour"
        return (f"spent: {event.elapsed_s:.1f} s wall, {event.fits} fits, {cost.cpu_s:.1f} CPU-s, "
                f"peak {cost.peak_mb:.0f} MB{price}")
    if isinstance(event, ExportFinished):
        return f"bundle: {event.path} ({event.n_files} files, {event.n_bytes} bytes)"
    if isinstance(event, Notice):
        return event.message
    if event.name == "executor":
        return f"fits run on {event.label}" + (f" ({event.message})" if event.message else "")
    return None


def _show(event: Any, as_json: bool) -> None:
    """One event on stdout: a JSON line, or its human line if it has one."""
    line = _emit_line(event.to_dict()) if as_json else _format_human(event)
    if line:
        print(line, flush=True)


def _json_default(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)


def _clean(obj: Any) -> Any:
    from thrifty_tui.core.events import json_safe

    return json_safe(obj)


def _emit_line(obj: dict[str, Any]) -> None:
    import json  # here, not at the top: `thrifty-tui` opening the app does not need it

    print(json.dumps(_clean(obj), default=_json_default), flush=True)


def _process_age() -> float:
    """Seconds since this process started (interpreter start and imports), 0 if unknown:
    a 10 s budget means 10 s of the user's time, from the command's start."""
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            start_ticks = float(fh.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as fh:
            uptime = float(fh.read().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


def _budget_flags(args: argparse.Namespace) -> Any:
    """The done rules given as flags (None where not given: thrifty.toml may set them)."""
    from thrifty_tui.core.policy.budget import Budget

    return Budget(max_fits=args.max_fits, target_score=args.target_score,
                  min_improvement=args.min_improvement, patience=args.patience,
                  patience_delta=args.patience_delta, noise_floor=args.noise_floor,
                  price_per_cpu_hour=args.price_per_cpu_hour)


def _spent(update: Any) -> dict[str, Any] | None:
    """The ``budget`` of the done line: limits, what was spent, each rule, the cost meter."""
    if update is None:
        return None
    out = update.to_dict()
    return {"wall_s": out["wall_s"], "max_fits": out["max_fits"], "elapsed_s": out["elapsed_s"],
            "fits": out["fits"], "rules": out["rules"], "trace": out["trace"],
            "baseline_score": out["baseline_score"], "cost": out["cost"]}


def _run_headless(args: argparse.Namespace, workspace: str | None) -> int:
    import queue

    from thrifty_tui.cli import cluster as cli_cluster
    from thrifty_tui.cli.value import cost_of
    from thrifty_tui.core.data.sniff import precheck as check_path
    from thrifty_tui.core.events import BudgetUpdate, ExportFinished, JobFailed, RunFinished
    from thrifty_tui.core.store.workspace import resolve_workspace
    from thrifty_tui.engine.jobs import Export, Screen
    from thrifty_tui.engine.worker import Worker

    check_path(args.path)
    started = time.monotonic()
    events: queue.Queue[Any] = queue.Queue()
    worker = Worker(resolve_workspace(workspace), events.put).start()
    executor = cli_cluster.connect(worker, events, args, lambda event: _show(event, args.json))
    worker.submit(Screen(path=args.path, target=args.target, task=args.task, seed=args.seed,
                         metric=args.metric, max_fit_seconds=args.max_fit_seconds,
                         max_memory_mb=args.max_memory_mb, zoo_path=args.zoo,
                         racing=not args.no_racing, sample_rows=args.sample,
                         budget_s=args.budget, budget=_budget_flags(args), tune=args.tune,
                         started_at=time.monotonic() - _process_age()))
    finished: RunFinished | None = None
    spent: BudgetUpdate | None = None
    bundle: str | None = None
    run_id: int | None = None
    interrupted: KeyboardInterrupt | None = None
    try:
        while True:
            event = events.get()
            run_id = getattr(event, "run_id", run_id)
            _show(event, args.json)
            if isinstance(event, JobFailed):
                return _fail(event.message, EXIT_USAGE if event.user_error else EXIT_INTERNAL)
            if isinstance(event, BudgetUpdate) and event.final:
                spent = event
            if isinstance(event, RunFinished):
                finished = event
                if event.status != "done":
                    memory = memory_failure(event.stop_reason, args.max_memory_mb)
                    return _fail(memory or f"run {event.status}: {event.stop_reason}",
                                 EXIT_USAGE if memory else EXIT_INTERNAL)
                if not args.export:
                    break
                worker.submit(Export(path=args.export, run_id=event.run_id,
                                     cost=cost_of(args), calibrate=not args.no_calibrate))
            if isinstance(event, ExportFinished):
                bundle = event.path
                break
    except KeyboardInterrupt as err:  # Ctrl+C, SIGTERM, SIGHUP (faults.Interrupted)
        worker.cancel()
        interrupted = err
        return _fail("interrupted", exit_code(err))
    finally:
        worker.shutdown()  # the children are killed as the worker ends
        if interrupted is not None and run_id is not None:
            mark_run_interrupted(workspace, run_id, interrupted)
    assert finished is not None
    if args.json:
        _emit_line({"event": "done", "run_id": finished.run_id,
                    "best": {"model": finished.best_model, "cv_score": finished.best_score,
                             "metric": finished.metric},
                    "bundle": bundle, "stop_reason": finished.stop_reason,
                    "executor": cli_cluster.describe(executor, worker),
                    "elapsed_s": round(time.monotonic() - started, 3),
                    "budget": _spent(spent)})
    return EXIT_OK


def _predict(args: argparse.Namespace) -> int:
    from thrifty_tui.cli.value import predict_command  # predict and --explain live there

    return predict_command(args)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 2 bad input or usage, 1 internal error)."""
    try:
        args = build_parser().parse_args(argv)
    except UsageError as err:
        return _fail(str(err))
    workspace = getattr(args, "workspace", None)
    from thrifty_tui.core.errors import DataError

    stop_debug_log = setup_logging(args.debug)
    restore_signals = catch_signals()
    try:
        if args.command is None:
            return _run_app(workspace, None, None)
        if args.command == "open":
            return _run_app(workspace, args.path, args.target)
        if args.command == "run":
            return _run_headless(args, workspace)
        if args.command == "predict":
            return _predict(args)
        if args.command == "runs":
            from thrifty_tui.cli.runs import list_runs

            return list_runs(workspace, args.json)
        from thrifty_tui.cli import bundle as cli_bundle
        from thrifty_tui.cli import data as cli_data

        code = cli_data.dispatch(args)
        if code is not None:
            return code
        code = cli_bundle.dispatch(args)
        if code is not None:
            return code
        from thrifty_tui.cli import label as cli_label

        code = cli_label.dispatch(args)
        if code is not None:
            return code
    except DataError as err:
        return _fail(str(err))
    except KeyboardInterrupt as err:
        return _fail("interrupted", exit_code(err))
    except BrokenPipeError:
        # `thrifty-tui predict B F | head`: the reader left early, which is not an error to
        # report; point stdout at devnull so the interpreter's final flush stays quiet too.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_INTERNAL
    except Exception as err:  # noqa: BLE001 - an internal error is one line and exit 1
        from thrifty_tui.core.errors import describe_error

        where = record_internal_error(err, args.debug)
        return _fail(f"internal error: {describe_error(err)}{where}", EXIT_INTERNAL)
    finally:
        restore_signals()
        stop_debug_log()
    return _fail(f"unknown command {args.command}")


if __name__ == "__main__":
    raise SystemExit(main())
