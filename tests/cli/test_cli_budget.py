"""`thrifty-tui run` with done rules: flags, thrifty.toml beside the data, the done line."""

from __future__ import annotations

import json
import shutil

import pytest
from test_cli import CAR_PRICES, thrifty


def _lines(proc) -> list[dict]:
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_max_fits_flag_stops_the_run_and_the_done_line_says_what_was_spent(tmp_path):
    proc = thrifty("run", CAR_PRICES, "--target", "Price", "--json", "--zoo", "quick",
                   "--max-fits", "12", "--price-per-cpu-hour", "0.05", "--workspace", "ws",
                   cwd=tmp_path)
    lines = _lines(proc)
    done = lines[-1]
    assert done["event"] == "done"
    assert done["stop_reason"].startswith("maximum of 12 fits reached — best ")
    budget = done["budget"]
    assert budget["max_fits"] == 12 and budget["fits"] == 12
    assert {r["rule"]: r["state"] for r in budget["rules"]}["max_fits"] == "met"
    cost = budget["cost"]
    assert cost["cpu_s"] > 0
    assert cost["money"] == pytest.approx(cost["cpu_s"] / 3600 * 0.05, rel=0.01)
    assert [p[1] for p in budget["trace"]] == sorted(p[1] for p in budget["trace"])
    updates = [line for line in lines if line["event"] == "budget"]
    assert updates and updates[-1]["final"] and updates[-1]["stop_reason"] == done["stop_reason"]


def test_thrifty_toml_beside_the_data_sets_the_rules_and_flags_override_it(tmp_path):
    data = tmp_path / "cars.csv"
    shutil.copy(CAR_PRICES, data)
    (tmp_path / "thrifty.toml").write_text("[budget]\ntarget_score = 0.5\nmax_fits = 100\n")
    done = _lines(thrifty("run", str(data), "--target", "Price", "--json", "--zoo", "quick",
                          "--workspace", "ws", cwd=tmp_path))[-1]
    assert done["stop_reason"].startswith("target 0.500 reached — ")
    assert done["budget"]["max_fits"] == 100
    done = _lines(thrifty("run", str(data), "--target", "Price", "--json", "--zoo", "quick",
                          "--target-score", "0.99", "--max-fits", "7", "--no-tune",
                          "--workspace", "ws", cwd=tmp_path))[-1]
    assert done["stop_reason"].startswith("maximum of 7 fits reached — ")


def test_a_bad_rule_flag_is_one_usage_line(tmp_path):
    proc = thrifty("run", CAR_PRICES, "--target", "Price", "--max-fits", "0", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("thrifty-tui: error: argument --max-fits: '0' must be at "
                                   "least 1")
