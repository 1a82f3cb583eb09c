"""Recorded fits of one data set (``benchmarks/record_fits.py``): each zoo model's measured
fold fits by rung and fold (rows, seconds, score), its fit on all rows, and the machine. What
``policy.replay`` replays; stored as gzip JSON."""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RecordedModel:
    """One model of the zoo as recorded: what the policy knows of it, and its fits."""

    name: str
    tier: int
    baseline: bool = False
    growth: float = 1.2
    memory: str = "linear"
    # (rung, fold) -> (training rows, seconds, score); a missing fold is a fit that failed
    fits: Mapping[tuple[int, int], tuple[int, float, float]] = field(default_factory=dict)
    refit_s: float = math.nan  # its fit on all rows (NaN: predicted from its fits)
    diagnose_s: float = math.nan  # its diagnostics (NaN: two of its largest fits)
    features: str = ""  # its zoo feature set (the family the drop rule reads)


@dataclass(frozen=True)
class Recording:
    """A data set's recorded fits: its rungs, folds and models (zoo order)."""

    name: str
    rungs: tuple[int, ...]
    folds_at: tuple[int, ...]
    models: tuple[RecordedModel, ...]
    prepare_s: float = 0.0  # reading and preparing the data, before the first fit
    machine: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "rungs": list(self.rungs), "folds_at": list(self.folds_at),
                "prepare_s": self.prepare_s, "machine": self.machine,
                "models": [{"name": m.name, "tier": m.tier, "baseline": m.baseline,
                            "growth": m.growth, "memory": m.memory, "refit_s": m.refit_s,
                            "diagnose_s": m.diagnose_s, "features": m.features,
                            "fits": [[r, k, *v] for (r, k), v in sorted(m.fits.items())]}
                           for m in self.models]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Recording:
        models = tuple(RecordedModel(
            name=m["name"], tier=int(m["tier"]), baseline=bool(m["baseline"]),
            growth=float(m["growth"]), memory=m["memory"], refit_s=float(m["refit_s"]),
            diagnose_s=float(m["diagnose_s"]), features=_features(m),
            fits={(int(r), int(k)): (int(rows), float(s), float(score))
                  for r, k, rows, s, score in m["fits"]}) for m in data["models"])
        return cls(name=data["name"], rungs=tuple(data["rungs"]),
                   folds_at=tuple(data["folds_at"]), models=models,
                   prepare_s=float(data.get("prepare_s", 0.0)), machine=data.get("machine", ""))

    def save(self, path: str | Path) -> None:
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            json.dump(self.to_json(), fh)

    @classmethod
    def load(cls, path: str | Path) -> Recording:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            return cls.from_json(json.load(fh))


def _features(model: Mapping[str, Any]) -> str:
    """A recorded model's feature set: its own key, else the trace's ``config`` (written as
    the repr of a string by benchmarks/record_suite.py)."""
    if "features" in model:
        return str(model["features"])
    return str(model.get("config", {}).get("features") or "").strip("'\"")
