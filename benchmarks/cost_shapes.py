"""The shapes of the traced sets (issue 20's cost model): rows, numeric columns, one-hot width,
text width, tree width, classes; written to benchmarks/cost_shapes.json for
benchmarks/cost_model.py and the replay. Fits only the feature steps (niced: a few seconds)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks import suite, traces  # noqa: E402
from benchmarks.replay_suite import trace_files  # noqa: E402

OUT = REPO / "benchmarks" / "cost_shapes.json"
SPLITS = Path("/work/main/benchmarks/_data/suite")


def shape_of(name: str, target: str, n_classes: int, task: str) -> dict:
    import pandas as pd

    from thrifty_tui.core.data.schema import infer_schema
    from thrifty_tui.core.learn import features as F
    from thrifty_tui.core.data.schema import Role

    frame = pd.read_csv(SPLITS / name / "TRAIN.csv")
    schema = infer_schema(frame, target)
    X = frame.drop(columns=[target])
    lin = F.linear_features(schema).fit(X)
    widths = {"num": 0, "onehot": 0, "text": 0}
    lin.transform(X.head(5))
    for part, where in lin.output_indices_.items():
        key = "onehot" if part == "cat" else "text" if part.startswith("text:") else "num"
        widths[key] += where.stop - where.start
    numeric = len(F.columns_with(schema, Role.NUMERIC)) + len(F.DATE_PARTS) * len(
        F.columns_with(schema, Role.DATETIME))
    tree = numeric + len(F.tree_categories(schema)) + F.TEXT_COMPONENTS * len(F.tree_texts(schema))
    from thrifty_tui.core.policy.costs import shape_of

    guess = shape_of(schema, n_classes if task == "classification" else 1)
    print("  guessed from the schema:", guess, flush=True)
    return {"numeric": numeric, "onehot": widths["onehot"], "text": widths["text"],
            "tree": tree, "classes": n_classes if task == "classification" else 1, "task": task}


def main() -> None:
    sets = {s.name: s for s in suite.suite_sets()}
    shapes = {}
    for path in trace_files():
        data = traces.load(path)
        ds = sets[data["set"]]
        shapes[data["set"]] = shape_of(ds.name, ds.target, len(data.get("classes") or []),
                                       data["task"])
        print(data["set"], shapes[data["set"]], flush=True)
    OUT.write_text(json.dumps(shapes, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
