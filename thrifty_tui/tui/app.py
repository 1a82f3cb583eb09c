"""ThriftyApp: the screens, the keys, and the one worker that does all the work."""

from __future__ import annotations

import asyncio
import gc
import importlib
import os
import re
import signal
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.signal import Signal

from thrifty_tui.config import Settings
from thrifty_tui.tui.bridge import EngineEvent, make_emit
from thrifty_tui.tui.screens.load import LoadScreen
from thrifty_tui.tui.state import UiState

if TYPE_CHECKING:
    from thrifty_tui.core.events import Event
    from thrifty_tui.engine.jobs import Job
    from thrifty_tui.engine.worker import Worker

# The rules of every screen but the Load screen, read after the first frame: matching a
# start-up screen's ~100 nodes against the whole stylesheet cost ~10-15 ms of first paint.
SCREENS_CSS = Path(__file__).with_name("screens.tcss")

# Imported after the first frame, so start-up paints without them: the engine's events and
# jobs (the worker's start brings them, on the UI thread), the other screens with plotext (a
# thread imports them while the user reads the Load screen). The first frame needs none.
LATER_MODULES = ("thrifty_tui.core.events", "thrifty_tui.engine.jobs",
                 "thrifty_tui.tui.screens.help", "thrifty_tui.tui.screens.runs",
                 "thrifty_tui.tui.screens.leaderboard", "thrifty_tui.tui.screens.budget",
                 "thrifty_tui.tui.screens.label", "thrifty_tui.tui.screens.export",
                 "thrifty_tui.tui.screens.diagnostics")


def _mode(module: str, name: str) -> Callable[[], Screen]:
    """A MODES entry: imports and makes the screen when the mode is first entered, marked as
    styled.

    Textual re-parses every stylesheet of the app when it enters a mode whose screen has not
    seen the app's current CSS (a new screen counts as not having seen it). That full re-parse
    held the event loop for 100-150 ms on the first switch to each screen (the leaderboard, as
    a run starts). Once the first screen is up, the app's CSS and theme variables are in place
    and a new screen's widgets are styled as they mount, so a later screen is marked as up to
    date; a theme change still re-styles it.
    """
    def make() -> Screen:
        screen = getattr(_import_later(module), name)()
        screen.app.load_screens_css()
        if screen.app.screen_stack:  # not the first screen: that one sets the variables
            screen._css_update_count = screen.app._css_update_count  # Textual is pinned exactly
        return screen
    make.__name__ = name
    return make


_preload: threading.Thread | None = None


def _preload_later_modules() -> None:
    global _preload
    if _preload is None:
        _preload = threading.Thread(target=lambda: [importlib.import_module(m)
                                                    for m in LATER_MODULES],
                                    name="thrifty-imports", daemon=True)
        _preload.start()


def _import_later(module: str) -> object:
    """The module, after the preloading thread (two threads could see half-imported modules)."""
    if _preload is not None:
        _preload.join(timeout=30)
    return importlib.import_module(module)


def _freeze_heap(collect: bool = False) -> None:
    """Leave the objects alive now out of the garbage collector's full passes.

    A full pass walks every tracked object; with Textual's widgets and styles, the science
    stack the worker's pool imports and a data set's profile, that took 20-140 ms on a 2-core
    machine, during which the event loop stood still: the worst lag while models train.
    Frozen objects are still freed when their last reference goes; only a reference cycle
    among them waits for the next ``collect`` (once, at start) or the app's end.
    """
    if collect:
        gc.unfreeze()
        gc.collect()
    gc.freeze()


class ThriftyApp(App[None]):
    """Load data, screen models on a live leaderboard, export the best as a bundle."""

    TITLE = "thrifty-tui"
    CSS_PATH = "thrifty.tcss"  # the Load screen's; the other screens' in SCREENS_CSS
    # "load" is added in on_mount: see get_default_screen.
    MODES = {"board": _mode("thrifty_tui.tui.screens.leaderboard", "LeaderboardScreen"),
             "label": _mode("thrifty_tui.tui.screens.label", "LabelScreen"),
             "budget": _mode("thrifty_tui.tui.screens.budget", "BudgetScreen")}
    DEFAULT_MODE = "load"
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("l", "switch_mode('load')", "Load", id="load"),
        Binding("b", "switch_mode('board')", "Board", id="board"),
        Binding("s", "screen_models", "Screen", id="screen"),
        Binding("x", "cancel_run", "Cancel", id="cancel"),
        Binding("e", "export", "Export", id="export"),
        Binding("a", "switch_mode('label')", "Label", id="label"),
        Binding("d", "switch_mode('budget')", "Budget", id="budget"),
        Binding("u", "runs", "Runs", id="runs"),
        Binding("question_mark,f1", "help", "Help", id="help"),
        Binding("ctrl+s", "screenshot", "Screenshot", show=False, id="screenshot"),
    ]

    def __init__(self, settings: Settings):
        if settings.labels is not None:  # `thrifty-tui label`: start on the label screen
            self.DEFAULT_MODE = "label"
        super().__init__()
        self.settings = settings
        self.state = UiState(target=settings.target, first_wall_s=settings.budget_s,
                             first_rules=settings.rules, cost=settings.cost)
        self.engine_signal: Signal[Event] = Signal(self, "engine")
        self.worker: Worker | None = None
        self._stopped_by: str | None = None  # SIGTERM or SIGHUP, once one ends the app
        self._run_at_signal: int | None = None  # the run that was going then
        if not settings.animations:
            self.animation_level = "none"
        if settings.theme:
            self.theme = settings.theme
        if settings.keymap:
            self.set_keymap(dict(settings.keymap))
        # What the imports made (modules, classes, Textual's styles) lives as long as the app:
        # out of the collector's passes, the full pass that start-up triggers walks only what
        # is new (it took ~25 ms of the first frame's time over the whole heap).
        _freeze_heap()

    # -- life cycle ---------------------------------------------------------------------------
    def get_default_screen(self) -> Screen:
        """The Load screen, the first screen of a plain start, made as Textual's default screen.

        Made through MODES, the first screen composed and painted inside Textual's start-up
        batch, and that first frame (15-20 ms of rendering) was thrown away and painted again
        once the batch ended. As the default screen it composes after the batch and its first
        frame is the one shown. The "load" mode is added in ``on_mount`` and reuses this
        screen's stack, so ``switch_mode("load")`` comes back to it.
        """
        screen = LoadScreen()
        # Styled as it mounts, like the screens made by _mode: coming back to it with `l` must
        # not re-parse every stylesheet (Textual does when the counts differ).
        screen._css_update_count = self._css_update_count  # Textual is pinned exactly
        return screen

    def on_mount(self) -> None:
        self.add_mode("load", _mode("thrifty_tui.tui.screens.load", "LoadScreen"))
        self._catch_signals()
        # The worker and the first job (which starts child processes that import the science
        # stack) wait for the first frame, so start-up paint does not share the CPU with them.
        self.call_after_refresh(self._first_jobs)

    # SIGTERM and SIGHUP end the app as `q` does, with the shell's codes for those signals.
    EXIT_SIGNALS = ((signal.SIGTERM, 143), (signal.SIGHUP, 129))

    def _catch_signals(self) -> None:
        """End the app on SIGTERM or SIGHUP like `q`: the run is cancelled, the children
        stopped, and Textual's driver gives the terminal back (normal screen, cursor, no mouse
        reports, cooked mode). Left to Python's default, those signals killed the process
        with the terminal raw and on the alternate screen. Not in headless tests: many apps
        share one process there."""
        if self.is_headless:
            return
        loop = asyncio.get_running_loop()
        for sig, code in self.EXIT_SIGNALS:
            try:
                loop.add_signal_handler(sig, self._exit_on_signal, code)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
                pass

    def _exit_on_signal(self, code: int) -> None:
        self._stopped_by = "SIGTERM" if code == 143 else "SIGHUP"
        run = self.state.run
        self._run_at_signal = run.run_id if run is not None and self.state.finished is None \
            else None
        if self.worker is not None:
            self.worker.cancel()
        self.exit(return_code=code)

    def _start_worker(self) -> Worker:
        if self.worker is None:
            from thrifty_tui.engine.worker import Worker

            self.worker = Worker(self.settings.workspace, make_emit(self),
                                 max_procs=self.settings.max_procs).start()
        return self.worker

    def load_screens_css(self) -> None:
        """Add the other screens' rules to the stylesheet (once): after the first frame, and
        by the MODES factory before it makes any other screen (a `thrifty-tui label` start
        too); the dialogs are pushed from those screens. Nodes already styled are not
        restyled: no rule there matches the Load screen's."""
        if not self.stylesheet.has_source(os.path.abspath(SCREENS_CSS), ""):  # read()'s key
            self.stylesheet.read(SCREENS_CSS)

    def _first_jobs(self) -> None:
        from thrifty_tui.engine.jobs import ConnectCluster, Restore

        self.load_screens_css()
        self._start_worker()
        _preload_later_modules()
        _freeze_heap(collect=True)  # right after the first frame, while the heap is small
        self.submit(Restore())
        if self.settings.dask:  # thrifty.toml's [executor]; if unreachable, fits run here
            self.submit(ConnectCluster(self.settings.dask, fallback_local=True))
        if self.settings.path and self.settings.labels is None:
            self.open_path(self.settings.path)

    async def action_quit(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
        self.exit()

    def on_unmount(self) -> None:
        if self.worker is not None:
            self.worker.shutdown(timeout=10)
            if self._stopped_by is not None:
                self._mark_run_interrupted()
        gc.unfreeze()  # the app's objects may be collected again (tests run many apps)

    def _mark_run_interrupted(self) -> None:
        """Mark the run a signal stopped `interrupted` (as `run` does), not `cancelled` (`x`)."""
        if self._run_at_signal is None:
            return  # no run was going when the signal came
        from thrifty_tui.core.store.workspace import Workspace

        try:
            ws = Workspace(self.settings.workspace)
            try:
                ws.interrupt_run(self._run_at_signal, f"stopped by {self._stopped_by}")
            finally:
                ws.close()
        except Exception:  # noqa: BLE001 - at exit; the next open marks it if need be
            pass

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """ctrl+s and the palette's Screenshot: an SVG in the screenshot folder (thrifty.toml's
        screenshot_dir, else ~/Downloads when it exists, else the current folder)."""
        from thrifty_tui.config import screenshot_folder

        try:
            folder = path or str(screenshot_folder(self.settings))
        except OSError as err:
            self.notify(f"cannot use the screenshot folder: {err}", title="Screenshot",
                        severity="error")
            return None
        return super().deliver_screenshot(filename, folder, time_format)

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        self.deliver_screenshot(filename, path)

    def action_help(self) -> None:
        """The help screen of the screen shown: its keys, what they do, the CLI's commands."""
        from thrifty_tui.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_runs(self) -> None:
        """Every run of the workspace; Enter exports the highlighted run's best."""
        from thrifty_tui.tui.screens.runs import RunsScreen

        if not isinstance(self.screen, RunsScreen):
            self.push_screen(RunsScreen())

    async def on_event(self, event: Any) -> None:
        # A key still on its way up from a widget while the app closes its screens found no
        # screen and raised ScreenStackError (the key-mash test hit it): it is dropped.
        from textual import events

        if isinstance(event, events.Key) and not self._screen_stacks.get(self._current_mode):
            return
        await super().on_event(event)

    def submit(self, job: Job) -> None:
        """Hand a job to the worker (the only way screens cause work)."""
        self._start_worker().submit(job)

    # -- engine events ------------------------------------------------------------------------
    def on_engine_event(self, message: EngineEvent) -> None:
        from thrifty_tui.core.events import (BoardRestored, DatasetOpened, ExportFinished,
                                             JobFailed, Notice, RunFinished, RunStarted)
        from thrifty_tui.core.restore_events import RunsListed

        event = message.event
        # A new profile of the same file (another target) must not repeat the file's notes.
        new_file = isinstance(event, DatasetOpened) and (
            self.state.dataset is None or self.state.dataset.path != event.path)
        self.state.apply(event)
        if not self._screen_stacks.get(self._current_mode):
            return  # the app is closing its screens: nothing to draw or notify
        if isinstance(event, RunStarted | DatasetOpened):
            _freeze_heap()  # what the new screen state holds lives until the next one
        if isinstance(event, JobFailed) and event.cancelled:
            self.notify(event.message, title="Cancelled")
        elif isinstance(event, JobFailed):
            title = "Cannot do that" if event.user_error else "Internal error"
            self.notify(event.message, title=title, severity="error", timeout=8)
        elif isinstance(event, ExportFinished):
            self.notify(f"{event.path}\n{event.n_files} files, {event.n_bytes / 1024:.0f} KiB",
                        title="Bundle written", timeout=8)
        elif isinstance(event, RunFinished):
            if event.status != "done":  # the runs list (and the last good run) anew
                from thrifty_tui.engine.jobs import Restore

                self.submit(Restore())
            self.notify(f"best: {event.best_model} ({event.metric} {event.best_score:.4f})"
                        if event.best_model else event.stop_reason,
                        title=f"Screening {event.status}")
        elif isinstance(event, Notice):
            self.log(event.message)
        elif event.name == "executor":  # a Dask cluster, or back to this machine
            _import_later("thrifty_tui.tui.screens.cluster").executor_changed(self, event)
        elif isinstance(event, DatasetOpened) and new_file:
            for note in event.notices:
                self.notify(note, title="Note", severity="warning")
        if isinstance(event, RunStarted | BoardRestored | RunFinished | DatasetOpened
                      | ExportFinished | JobFailed | RunsListed):
            self.refresh_bindings()
        self.engine_signal.publish(event)

    # -- actions ------------------------------------------------------------------------------
    def open_path(self, path: str, target: str | None = None) -> None:
        """Read (or sample) and profile ``path`` for ``target`` (default: the current one)."""
        from thrifty_tui.engine.jobs import OpenDataset

        self.state.loading, self.state.load_progress = path, None
        self.submit(OpenDataset(path=path, target=target or self.state.target))
        self.refresh_bindings()

    def cancel_load(self) -> None:
        """Stop reading the file being opened (its child process is killed)."""
        if self.worker is not None and self.state.loading is not None:
            self.worker.cancel()

    def action_screen_models(self) -> None:
        dataset, target = self.state.dataset, self.state.target
        if dataset is None or target is None:
            self.notify("Open a data file and choose a target first.", severity="warning")
            return
        from thrifty_tui.engine.jobs import Screen as ScreenJob

        self.state.screen_pending = True
        self.state.budget.pending_rules = self.state.rules
        self.submit(ScreenJob(path=dataset.path, target=target, task=self.state.task,
                              metric=self._metric_for(dataset), seed=self.settings.seed,
                              budget_s=self.state.rules.wall_s, budget=self.state.rules,
                              sample_rows=self.state.sample_rows,
                              roles=tuple(sorted(self.state.roles.items()))))
        self.refresh_bindings()
        self.switch_mode("board")

    def _metric_for(self, dataset: Any) -> str | None:
        """thrifty.toml's metric when it suits the task (else the task's default)."""
        metric = self.settings.metric
        regression = ("r2", "rmse", "mae")
        task = self.state.task or getattr(dataset, "suggested_task", None)
        if metric is None or task is None:
            return metric
        return metric if (metric in regression) == (task == "regression") else None

    def action_cancel_run(self) -> None:
        if self.state.loading is not None and not self.state.run_active:
            self.cancel_load()
            return
        if self.worker is not None and self.state.run_active:
            self.worker.cancel()
            self.notify("Stopping the run…")

    def action_export(self) -> None:
        run_id = self.state.export_run_id
        if run_id is None or not self.state.can_export:
            self.notify("Nothing to export yet: screen some models first.", severity="warning")
            return
        self.export_run(run_id)

    def export_run(self, run_id: int) -> None:
        """Ask where to write the bundle of run ``run_id``'s best model, then write it."""
        state = self.state
        summary = next((r for r in state.runs if r.run_id == run_id), None)
        if state.finished is not None and state.finished.run_id == run_id and state.run:
            target, best = state.run.target, state.finished.best_model
        elif summary is not None:
            target, best = summary.target, summary.best_model
        else:
            self.notify(f"run {run_id} is not in this workspace", severity="warning")
            return
        # Letters, digits, '.', '_' and '-' only: "mean of A + B (tuned)" -> "mean-of-A-B-tuned".
        stem = re.sub(r"[^\w.-]+", "-", f"{target}-{best}").strip("-")
        default = str(Path.cwd() / f"{stem}.thrifty.zip")
        if state.finished is None or state.finished.run_id != run_id:
            self.notify(f"run {run_id}'s best, {best}: the last run that finished well",
                        title="Export")
        # The dialog submits the Export job itself and shows the worker's progress.
        export: Any = _import_later("thrifty_tui.tui.screens.export")
        self.push_screen(export.ExportDialog(default, run_id=run_id))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "switch_mode" and parameters == (self.current_mode,):
            return False  # no key to go where you are: the footer must fit 80 columns
        if action == "screen_models":
            return None if self.state.run_active or self.state.dataset is None else True
        # On the Load screen keys that cannot run now are hidden, not greyed: its own keys
        # need the room in an 80-column footer.
        unavailable = False if self.current_mode in ("load", "budget") else None
        if action == "export":
            return True if self.state.can_export else unavailable
        if action == "cancel_run":
            return True if self.state.run_active or self.state.loading is not None \
                else unavailable
        return True

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        from thrifty_tui.tui.commands import system_commands

        yield from super().get_system_commands(screen)
        yield from system_commands(self, screen)


def create_app(settings: Settings) -> ThriftyApp:
    """The one app factory, used by the CLI, the tests and the benchmarks."""
    return ThriftyApp(settings)
