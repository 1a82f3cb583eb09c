"""Downsampling: exact size, seeded, stratified within rounding, rare classes kept, streamed."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from thrifty_tui.core.data.tables import DataError, load_table
from thrifty_tui.core.data.sampling import (
    ScanCancelled,
    ScanControl,
    allocate,
    random_sample,
    row_keys,
    sample_file,
    stratified_sample,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
from helpers import BAD, data_cli, one_error_line

FAST = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def labelled_frames(draw):
    """A frame with a class column (some classes tiny, maybe missing labels) and a sample size."""
    sizes = draw(st.lists(st.integers(1, 60), min_size=1, max_size=6))
    labels = np.repeat(np.array([f"c{i}" for i in range(len(sizes))], dtype=object), sizes)
    order = np.random.default_rng(draw(st.integers(0, 1000))).permutation(len(labels))
    labels = labels[order]
    if draw(st.booleans()):
        labels[:: max(2, len(labels) // 3)] = None  # missing labels are a class of their own
    frame = pd.DataFrame({"y": labels, "v": np.arange(len(labels)) * 1.5},
                         index=pd.RangeIndex(100, 100 + len(labels)))
    n = draw(st.integers(1, len(frame) + 5))
    m = draw(st.integers(0, 8))
    return frame, n, m


def _feasible(frame: pd.DataFrame, n: int, m: int) -> bool:
    counts = frame["y"].value_counts(dropna=False)
    return n >= len(frame) or int(np.minimum(counts, m).sum()) <= n


@FAST
@given(st.integers(0, 300), st.integers(1, 400), st.integers(0, 2**63 - 1))
def test_random_sample_exact_reproducible_without_duplicates(n_rows, n, seed):
    frame = pd.DataFrame({"a": np.arange(n_rows)})
    sample = random_sample(frame, n, seed)
    assert len(sample) == min(n, n_rows)
    assert sample.index.is_unique
    assert sample.equals(random_sample(frame, n, seed))
    assert sample.index.is_monotonic_increasing  # original order kept


@FAST
@given(labelled_frames(), st.integers(0, 2**32))
def test_stratified_sample_properties(case, seed):
    frame, n, m = case
    if not _feasible(frame, n, m):
        with pytest.raises(DataError, match="cannot keep"):
            stratified_sample(frame, n, "y", seed, min_per_class=m)
        return
    sample = stratified_sample(frame, n, "y", seed, min_per_class=m)
    # exact size, no row twice, reproducible
    assert len(sample) == min(n, len(frame))
    assert sample.index.is_unique and sample.index.isin(frame.index).all()
    assert sample.equals(stratified_sample(frame, n, "y", seed, min_per_class=m))
    source = frame["y"].value_counts(dropna=False)
    got = sample["y"].value_counts(dropna=False).reindex(source.index, fill_value=0)
    # every class keeps its minimum, or all its rows if it has fewer
    assert (got >= np.minimum(source, m)).all()
    assert (got <= source).all()
    # when no class is held at its minimum or its size, shares follow the source within rounding
    share = n * source / len(frame)
    if n < len(frame) and (share >= np.minimum(source, m)).all():
        assert (np.abs(got - share) < 1).all()


@FAST
@given(st.dictionaries(st.text(min_size=1, max_size=3), st.integers(1, 10_000), min_size=1,
                       max_size=12), st.integers(1, 20_000), st.integers(0, 50))
def test_allocate_is_exact_bounded_and_proportional(counts, n, m):
    floors = sum(min(k, m) for k in counts.values())
    total = sum(counts.values())
    if n < total and floors > n:
        with pytest.raises(DataError):
            allocate(counts, n, m)
        return
    take = allocate(counts, n, m)
    assert sum(take.values()) == min(n, total)
    for label, k in counts.items():
        assert min(k, m) <= take[label] <= k
    free = [c for c in counts if min(counts[c], m) < take[c] < counts[c]]
    if len(free) > 1:  # classes not held at a bound share the rest in proportion
        rates = [take[c] / counts[c] for c in free]
        spread = max(rates) - min(rates)
        assert spread <= max(1 / counts[c] for c in free) * 2 + 1e-9


def test_allocate_known_case():
    assert allocate({"a": 990, "b": 10}, 100, 5) == {"a": 95, "b": 5}
    assert allocate({"a": 990, "b": 10}, 100, 0) == {"a": 99, "b": 1}
    assert allocate({"a": 3, "b": 2}, 10, 5) == {"a": 3, "b": 2}
    with pytest.raises(DataError, match="at least 30 rows"):
        allocate({c: 100 for c in "abc"}, 20, 10)


def test_keys_are_duckdbs_hash_of_the_row_number():
    import duckdb

    expected = duckdb.sql("SELECT hash(row_number() OVER (), 7::BIGINT) AS k "
                          "FROM range(50)").fetchnumpy()["k"]
    assert np.array_equal(row_keys(50, 7), expected)


def test_keys_do_not_depend_on_the_row_count():
    assert np.array_equal(row_keys(10, 7), row_keys(1000, 7)[:10])
    assert not np.array_equal(row_keys(10, 7), row_keys(10, 8))
    keys = row_keys(100_000, 3)
    assert abs(float(np.mean(keys < np.uint64(2**62))) - 0.25) < 0.01


def test_bad_requests():
    frame = pd.DataFrame({"y": ["a", "b"] * 5})
    for bad in (0, -1, 2.5, True):
        with pytest.raises(DataError, match="sample size"):
            random_sample(frame, bad)
    with pytest.raises(DataError, match="seed"):
        random_sample(frame, 3, seed=-1)
    with pytest.raises(DataError, match="no column named 'z'"):
        stratified_sample(frame, 3, "z")


# -- streaming from files -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def big_csv(tmp_path_factory) -> Path:
    """60,000 rows: a 1 % class, a 4-row class, some missing labels, mixed types."""
    rng = np.random.default_rng(0)
    n = 60_000
    label = rng.choice(["common", "other", "rare"], size=n, p=[0.79, 0.20, 0.01]).astype(object)
    label[rng.choice(n, 4, replace=False)] = "tiny"
    label[rng.choice(n, 300, replace=False)] = None
    frame = pd.DataFrame({
        "id": np.arange(n), "x": rng.normal(size=n).round(4),
        "city": rng.choice(["Paris", "Lagos", "Lima, Peru"], size=n),
        "when": pd.date_range("2020-01-01", periods=n, freq="h").strftime("%Y-%m-%d %H:%M"),
        "flag": rng.random(n) < 0.5, "label": label,
    })
    path = tmp_path_factory.mktemp("big") / "big.csv"
    frame.to_csv(path, index=False)
    return path


def test_sample_file_stratified_is_exact_and_keeps_rare_classes(big_csv):
    frame, record = sample_file(big_csv, 2_000, stratify="label", seed=5, min_per_class=10)
    assert len(frame) == 2_000 and record.rows == 2_000
    assert frame["id"].is_unique
    assert record.source_rows == 60_000 and record.method == "stratified"
    assert record.engine == "duckdb stream"
    assert record.passes == 2  # the 4-row class is too rare for the first pass's key limit
    source = pd.read_csv(big_csv)
    counts = source["label"].fillna("").value_counts()
    got = frame["label"].fillna("").value_counts()
    assert got["tiny"] == 4  # fewer rows than the minimum: all of them
    assert got["rare"] >= 10
    assert got.to_dict() == allocate(counts.to_dict(), 2_000, 10)
    for label in ("common", "other", "rare", ""):  # "tiny" takes 4 rows instead of 0.13
        assert abs(got[label] - 1_996 * counts[label] / 59_996) < 1, label
    assert {c[0]: (c[1], c[2]) for c in record.classes}["tiny"] == (4, 4)
    # the very rows (order, index, types) of the in-memory sample of the loaded file
    loaded = load_table(big_csv).frame
    pd.testing.assert_frame_equal(frame, stratified_sample(loaded, 2_000, "label", seed=5,
                                                           min_per_class=10))


def test_sample_file_is_reproducible_and_seeded(big_csv):
    a, _ = sample_file(big_csv, 500, stratify="label", seed=1)
    b, _ = sample_file(big_csv, 500, stratify="label", seed=1)
    c, _ = sample_file(big_csv, 500, stratify="label", seed=2)
    pd.testing.assert_frame_equal(a, b)
    assert set(a["id"]) != set(c["id"])


def test_sample_file_random_gzip_and_parquet(big_csv, tmp_path):
    frame, record = sample_file(big_csv, 1_234, seed=3)
    assert len(frame) == 1_234 and record.method == "random" and record.classes == ()
    source = pd.read_csv(big_csv)
    pd.testing.assert_frame_equal(frame, random_sample(load_table(big_csv).frame, 1_234, 3))
    gz = tmp_path / "big.csv.gz"
    source.to_csv(gz, index=False)
    assert sample_file(gz, 1_234, seed=3)[0]["id"].tolist() == frame["id"].tolist()
    parquet = tmp_path / "big.parquet"
    source.to_parquet(parquet)
    pq_frame, pq_record = sample_file(parquet, 300, stratify="label", seed=3)
    assert len(pq_frame) == 300 and pq_record.engine == "duckdb stream"
    assert pq_frame["when"].dtype == source["when"].dtype


def test_sample_file_more_rows_than_the_file(big_csv):
    frame, record = sample_file(BAD / "ragged_some.csv", 1_000, stratify="x")
    assert len(frame) == 37 and record.rows == 37 and record.rejected_rows == 3
    assert any("lines 6, 10, 21" in n.replace("line(s)", "lines") for n in record.notices)


def test_sample_file_other_formats_in_memory(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps({"i": i, "y": "ab"[i % 2]}) + "\n" for i in range(50)))
    frame, record = sample_file(path, 10, stratify="y", seed=0, min_per_class=2)
    assert len(frame) == 10 and record.engine == "in memory"
    assert sorted(frame["y"].value_counts().tolist()) == [5, 5]


def test_sample_file_errors(big_csv):
    with pytest.raises(DataError, match="no column named 'nope'"):
        sample_file(big_csv, 10, stratify="nope")
    with pytest.raises(DataError, match="distinct values"):
        sample_file(big_csv, 10, stratify="id")
    with pytest.raises(DataError, match="cannot keep"):
        sample_file(big_csv, 10, stratify="label", min_per_class=5)
    with pytest.raises(DataError, match="is empty"):
        sample_file(BAD / "empty.csv", 10)


def test_a_cancelled_scan_stops(big_csv):
    control = ScanControl()
    control.cancel()
    with pytest.raises(ScanCancelled):
        sample_file(big_csv, 10, control=control)


def test_record_is_plain_data(big_csv):
    _, record = sample_file(big_csv, 100, stratify="label", seed=9)
    d = json.loads(json.dumps(record.to_dict()))
    assert d["seed"] == 9 and d["method"] == "stratified" and d["size_bytes"] > 0
    assert len(d["sha256"]) == 64 and d["hashed"] == "content"
    assert sum(c["sample"] for c in d["classes"]) == 100
    assert math.isclose(d["mtime"], big_csv.stat().st_mtime)


# -- CLI ------------------------------------------------------------------------------------------

@pytest.fixture
def workspace_env(tmp_path, monkeypatch):
    """$THRIFTY_WORKSPACE in tmp_path: `sample` records there, not in the folder tests run in."""
    root = tmp_path / "env-ws"
    monkeypatch.setenv("THRIFTY_WORKSPACE", str(root))
    return root


def _samples(root: Path) -> list[dict]:
    from thrifty_tui.core.store.workspace import Workspace

    ws = Workspace(root)
    try:
        return ws.samples()
    finally:
        ws.close()


def test_cli_sample_writes_csv_and_parquet(big_csv, tmp_path, capsys, workspace_env):
    out = tmp_path / "s.csv"
    assert data_cli(["sample", str(big_csv), "--rows", "300", "--stratify", "label",
                     "--seed", "4", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "sampled 300 of 60,000 rows" in text and "tiny: 4 of 4" in text
    assert len(pd.read_csv(out)) == 300
    pq = tmp_path / "s.parquet"
    assert data_cli(["sample", str(big_csv), "--rows", "50", "-o", str(pq), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["rows"] == 50 and record["output"] == str(pq)
    assert len(pd.read_parquet(pq)) == 50


def test_cli_defaults_match_the_core_and_the_parser_stays_light():
    import subprocess

    from thrifty_tui.cli import data as cli_data
    from thrifty_tui.core.data import profile
    from thrifty_tui.core.data import sampling

    assert cli_data.DEFAULT_MIN_PER_CLASS == sampling.DEFAULT_MIN_PER_CLASS
    assert cli_data.DEFAULT_SAMPLE_ROWS == profile.DEFAULT_SAMPLE_ROWS
    code = ("import argparse, sys; from thrifty_tui.cli import data as cli_data; "
            "p = argparse.ArgumentParser(); cli_data.add_subcommands(p.add_subparsers()); "
            "print([m for m in ('pandas', 'numpy', 'duckdb') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=BAD.parents[2])
    assert out.stdout.strip() == "[]"


def test_cli_sample_errors_are_one_line(big_csv, tmp_path, capsys, workspace_env):
    assert data_cli(["sample", str(big_csv), "--rows", "10", "--stratify", "nope",
                     "-o", str(tmp_path / "o.csv")]) == 2
    assert "no column named 'nope'" in one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "o.csv").exists()
    assert data_cli(["sample", str(big_csv), "--rows", "ten", "-o", "o.csv"]) == 2
    assert "whole number" in one_error_line(capsys.readouterr().err)
    assert not workspace_env.exists() or _samples(workspace_env) == []  # nothing recorded
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    assert data_cli(["sample", str(big_csv), "--rows", "10", "-o", str(tmp_path / "o.csv"),
                     "--workspace", str(blocked / "ws")]) == 2
    assert "cannot open the workspace" in one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "o.csv").exists()


def test_cli_sample_is_recorded_in_the_workspace_run_would_use(big_csv, tmp_path, capsys,
                                                              monkeypatch, workspace_env):
    """--workspace, else $THRIFTY_WORKSPACE, else ./thrifty-workspace: as `run --sample`."""
    out = tmp_path / "s.csv"
    assert data_cli(["sample", str(big_csv), "--rows", "300", "--stratify", "label",
                     "--seed", "4", "-o", str(out), "--workspace", str(tmp_path / "ws")]) == 0
    assert "recorded as sample 1 in " in capsys.readouterr().out
    (sample,) = _samples(tmp_path / "ws")
    source = big_csv.stat()
    assert (sample["method"], sample["rows"], sample["seed"]) == ("stratified", 300, 4)
    assert sample["source"] == str(big_csv.resolve()) and sample["size_bytes"] == source.st_size
    assert math.isclose(sample["mtime"], source.st_mtime) and sample["hashed"] == "content"
    assert len(sample["sha256"]) == 64 and sample["run_id"] is None
    assert sample["extra"]["output"] == str(out) and sample["extra"]["stratify"] == "label"
    assert sample["extra"]["source_rows"] == 60_000
    assert not workspace_env.exists()  # --workspace wins over the environment

    # Again without --workspace: recorded in $THRIFTY_WORKSPACE, same source fingerprint.
    assert data_cli(["sample", str(big_csv), "--rows", "50", "-o", str(tmp_path / "p.parquet"),
                     "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    (env_sample,) = _samples(workspace_env)
    assert printed["sample_id"] == env_sample["id"] and printed["workspace"] == str(workspace_env)
    assert (env_sample["method"], env_sample["rows"], env_sample["seed"]) == ("random", 50, 0)
    assert env_sample["sha256"] == sample["sha256"]

    monkeypatch.delenv("THRIFTY_WORKSPACE")
    monkeypatch.chdir(tmp_path)
    assert data_cli(["sample", str(big_csv), "--rows", "20", "--seed", "9", "-o", "d.csv"]) == 0
    (default_sample,) = _samples(tmp_path / "thrifty-workspace")
    assert (default_sample["rows"], default_sample["seed"]) == (20, 9)
    assert default_sample["extra"]["output"] == str(tmp_path / "d.csv")
