"""`run --dask` (issue 22): bad and unreachable addresses, the extra, thrifty.toml's
[executor]. Each is one clear line and exit 2, quickly."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from thrifty_tui.cli import main
from thrifty_tui.config import SAMPLE_DIR, SettingsError, parse_dask_address, read_settings_file

CARS = str(SAMPLE_DIR / "car_prices.csv")


def test_an_unreachable_scheduler_is_one_line_and_exit_2_within_10_s(tmp_path, capsys):
    began = time.monotonic()
    code = main(["--workspace", str(tmp_path / "ws"), "run", CARS, "--target", "Price",
                 "--dask", "tcp://127.0.0.1:9"])
    assert time.monotonic() - began < 10
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err[0]


def test_a_bad_address_is_a_usage_error(capsys):
    assert main(["run", CARS, "--target", "Price", "--dask", "localhost"]) == 2
    assert "is not a Dask cluster" in capsys.readouterr().err


def test_without_the_extra_dask_names_it(tmp_path):
    # A process where `distributed` cannot be imported, as without the extra.
    code = ("import sys; sys.modules['distributed'] = None\n"
            "from thrifty_tui.cli import main\n"
            f"sys.exit(main(['--workspace', {str(tmp_path / 'ws')!r}, 'run', {CARS!r}, "
            "'--target', 'Price', '--dask', 'local:2']))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    assert "pip install 'thrifty-tui[dask]'" in done.stderr


def test_addresses_and_the_executor_table(tmp_path):
    assert parse_dask_address("local") == "local"
    assert parse_dask_address(" local:3 ") == "local:3"
    assert parse_dask_address("tcp://10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    for bad in ("local:0", "tcp://host", "http://host:80", "host:8786", ""):
        with pytest.raises(ValueError):
            parse_dask_address(bad)
    toml = tmp_path / "thrifty.toml"
    toml.write_text('[executor]\ndask = "local:2"\nfallback = "local"\n')
    assert read_settings_file(toml) == {"dask": "local:2", "dask_fallback": True}
    toml.write_text('[executor]\ndask = "nowhere"\n')
    with pytest.raises(SettingsError, match=r"\[executor\] dask"):
        read_settings_file(toml)


def test_thrifty_toml_executor_beside_the_data_is_used(tmp_path, capsys):
    data = tmp_path / "cars.csv"
    data.write_bytes(open(CARS, "rb").read())
    (tmp_path / "thrifty.toml").write_text('[executor]\ndask = "tcp://127.0.0.1:9"\n')
    code = main(["--workspace", str(tmp_path / "ws"), "run", str(data), "--target", "Price"])
    assert code == 2
    assert "tcp://127.0.0.1:9" in capsys.readouterr().err


def test_the_fallback_goes_on_here_and_the_json_stream_says_where(tmp_path, capsys):
    import json

    zoo = tmp_path / "zoo.toml"
    zoo.write_text('[[model]]\nname = "mean"\ntier = 0\ntasks = ["regression"]\n'
                   'estimator = "sklearn.dummy:DummyRegressor"\nfeatures = "none"\n'
                   'baseline = true\n')
    code = main(["--workspace", str(tmp_path / "ws"), "run", CARS, "--target", "Price",
                 "--zoo", str(zoo), "--no-tune", "--json", "--dask", "tcp://127.0.0.1:9",
                 "--dask-fallback", "local"])
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    executor = [line for line in lines if line["event"] == "executor"]
    assert len(executor) == 1 and executor[0]["kind"] == "local"
    assert executor[0]["message"].startswith("cannot reach the Dask scheduler")
    assert lines[-1]["event"] == "done" and lines[-1]["best"]["model"] == "mean"
    assert lines[-1]["executor"]["kind"] == "local" and lines[-1]["executor"]["cores"] >= 1


def test_a_version_mismatch_is_named_in_one_line():
    from thrifty_tui.engine.executors.cluster_checks import version_problem

    class Versions:  # what Client.get_versions answers, with a worker on another distributed
        def get_versions(self):
            mine = {"packages": {"python": "3.11.7", "distributed": "2026.11.0"}}
            other = {"packages": {"python": "3.11.7", "distributed": "2024.1.0"}}
            return {"scheduler": mine, "workers": {"tcp://w:1": other}, "client": mine}

    refusal, warning = version_problem(Versions())
    text = refusal or warning
    assert text is not None and "\n" not in text
    assert "distributed 2026.11.0 here" in text and "2024.1.0 on the workers" in text
