"""The mean of the leaders end to end: run --json, the bundle, predict and inspect."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pandas as pd
import pytest
from test_cli import CAR_PRICES, thrifty

from thrifty_tui.cli.commands import main
from thrifty_tui.cli.bundle import check_bundle
from thrifty_tui.core.learn.screening import refit
from thrifty_tui.core.tasks.fits import _problem, prepare_problem
from thrifty_tui.core.learn.zoo import load_zoo, spec_by_name

MEMBERS = ("extra trees", "RBF SVM", "random forest")


def _zoo_file(path) -> str:
    """The bundled zoo's entries for the baseline and three models that tie on car prices."""
    text = resources.files("thrifty_tui.data").joinpath("zoo.toml").read_text()
    wanted = ("baseline (mean)", *MEMBERS)
    blocks = [b for b in text.split("[[model]]")[1:]
              if any(f'name = "{name}"' in b for name in wanted)]
    path.write_text("".join("[[model]]" + b for b in blocks))
    return str(path)


def test_the_mean_of_the_leaders_wins_and_its_bundle_predicts_the_mean(tmp_path):
    zoo = _zoo_file(tmp_path / "zoo.toml")
    proc = thrifty("run", CAR_PRICES, "--target", "Price", "--json", "--zoo", zoo,
                   "--export", "cars", "--workspace", "ws", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    rows = {line["result"]["model"]: line["result"] for line in lines
            if line["event"] == "model"}
    name = "mean of " + " + ".join(MEMBERS)  # best first: their order on car prices
    assert name in rows, list(rows)
    mean = rows[name]
    assert mean["status"] == "done" and mean["rows"] == 804 and len(mean["fold_scores"]) == 5
    assert mean["mean"] > max(rows[m]["mean"] for m in MEMBERS)
    done = lines[-1]
    assert done["event"] == "done" and done["best"]["model"] == name
    assert done["best"]["cv_score"] == pytest.approx(mean["mean"])

    out = tmp_path / "predictions.csv"
    assert main(["predict", done["bundle"], CAR_PRICES, "-o", str(out)]) == 0
    # The members fitted on all rows here, independently: the bundle predicts their mean.
    problem_file = str(tmp_path / "problem.joblib")
    prepare_problem(CAR_PRICES, "Price", None, None, 0, problem_file)
    problem = _problem(problem_file)
    full = load_zoo("full")
    frame = pd.read_csv(CAR_PRICES)
    expected = np.mean([refit(spec_by_name(m, full), problem).predict(frame[problem.X.columns])
                        for m in MEMBERS], axis=0)
    assert np.allclose(pd.read_csv(out)["prediction"], expected, rtol=1e-9)

    report = check_bundle(done["bundle"])  # what `inspect` checks: hashes, trusted types
    assert report["ok"] and report["manifest"]["model"] == name
    assert report["manifest"]["params"]["members"] == ", ".join(MEMBERS)
    # Issue 21: the members' feature steps and lexicons are in it; the example has medians.
    import zipfile

    with zipfile.ZipFile(done["bundle"]) as bundle:
        names = bundle.namelist()
        example = json.loads(bundle.read("input_example.json"))
        card = bundle.read("README.md").decode()
    assert "features.skops" in names
    assert any(n.startswith("lexicons/extra-trees/") for n in names), names
    assert any(n.startswith("lexicons/rbf-svm/") for n in names), names
    medians = {c["name"]: c["median"] for c in report["manifest"]["columns"] if "median" in c}
    assert medians and all(example[0][name] == pytest.approx(value, rel=1e-6) or
                           example[0][name] == round(value) for name, value in medians.items())
    assert "None rows" not in card and "a all rows" not in card
