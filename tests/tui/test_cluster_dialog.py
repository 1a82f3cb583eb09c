"""The app and a Dask cluster it cannot reach (issue 22): the palette's "Connect to a Dask
cluster" asks for the address; an unreachable one gives a notification within 10 s and the
app goes on with this machine's processes."""

from __future__ import annotations

import time

from tui_helpers import SIZE, wait_for

from thrifty_tui.config import make_settings
from thrifty_tui.tui.app import create_app

UNREACHABLE = "tcp://127.0.0.1:9"  # the discard port: nothing listens on it here


async def test_the_palette_connects_and_an_unreachable_cluster_falls_back_here(tmp_path):
    app = create_app(make_settings(str(tmp_path / "ws"), max_procs=1, animations=False))
    async with app.run_test(size=SIZE) as pilot:
        app.action_command_palette()
        await pilot.pause()
        await pilot.press(*"Dask cluster")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ClusterDialog", 10)
        address = app.screen.query_one("#cluster-address")
        assert address.value == "local:2"  # the default: a LocalCluster here
        address.value = "nonsense"
        await pilot.press("enter")  # a bad address is refused in the dialog itself
        assert type(app.screen).__name__ == "ClusterDialog"
        assert "not a Dask cluster" in str(app.screen.query_one("#cluster-status").render())
        address.value = UNREACHABLE
        began = time.monotonic()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.state.executor is not None, 15)
        assert time.monotonic() - began < 10
        changed = app.state.executor
        assert changed.kind == "local" and "cannot reach the Dask scheduler" in changed.message
        notes = [n.message for n in app._notifications]
        assert any("cannot reach" in m and "fits run on local" in m for m in notes)
        assert app.worker is not None and app.worker.executor.__class__.__name__ == \
            "LocalExecutor"


async def test_thrifty_toml_executor_is_tried_at_start(tmp_path):
    settings = make_settings(str(tmp_path / "ws"), max_procs=1, animations=False,
                             dask=UNREACHABLE, dask_fallback=True)
    app = create_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.state.executor is not None, 15)
        assert app.state.executor.kind == "local"
        assert app.state.executor.message.startswith("cannot reach")


def test_cluster_dialog_snapshot(snap_compare, tmp_path):
    from tui_helpers import fixed_workspace

    app = create_app(make_settings(str(fixed_workspace(tmp_path / "ws")), max_procs=1,
                                   animations=False))

    async def ready(pilot):
        await wait_for(pilot, lambda: app.state.finished is not None or app.state.runs, 30)
        await pilot.press("b")
        from thrifty_tui.tui.screens.cluster import connect_dialog

        connect_dialog(app)
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ClusterDialog", 10)
        await pilot.pause(0.2)
        app.clear_notifications()  # toasts come and go with the wall clock
        await pilot.pause(0.05)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


async def test_the_board_status_line_says_where_fits_run(tmp_path):
    from thrifty_tui.core.events import RunStarted
    from thrifty_tui.core.executor_events import ExecutorChanged

    app = create_app(make_settings(str(tmp_path / "ws"), max_procs=1, animations=False))
    async with app.run_test(size=(120, 24)) as pilot:
        await pilot.press("b")
        await pilot.pause(0.1)
        # The events a running screening on a cluster sends, folded as the bridge does.
        for event in (ExecutorChanged(kind="dask", address="tcp://10.0.0.5:8786", workers=4,
                                      cores=8),
                      RunStarted(run_id=1, path="d.csv", target="y", task="regression",
                                 metric="r2", n_rows=100, n_folds=5, models=("a", "b"))):
            app.state.apply(event)
        app.screen._render_progress()
        await pilot.pause(0.05)
        status = str(app.screen.query_one("#run-status").render())
        assert "dask tcp://10.0.0.5:8786 · 4 workers, 8 cores" in status
        assert "x cancels" in status
