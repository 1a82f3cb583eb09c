"""The trace format of recorded fits (issue 20): one gzip JSON file per data set under
benchmarks/traces/NAME.json.gz, written by benchmarks/record_suite.py.

A trace is a superset of ``core/policy/recording.Recording``'s JSON, so ``Recording.load``
reads it as it is (unknown keys are ignored) and ``policy.replay`` replays it. What a trace adds:

- top level: ``set``, ``task``, ``metric``, ``n_rows``, ``classes``, ``y`` (the training target
  in the problem's row order: class indices or floats, packed), ``holdout_rows``, ``load_start``,
  ``load_end``, ``date``, ``versions`` and ``cap_s``;
- per model: ``config`` (how the spec builds its model), ``details`` (one row per fit:
  ``[rung, fold, rows, fit_s, predict_s, peak_mb]``; ``fit_s`` + ``predict_s`` is the fit's
  seconds in ``fits``, the engine's measure, which includes scoring the test fold; ``peak_mb``
  is the child's peak resident memory so far, ru_maxrss, not the fit's own), ``failures``
  (``[rung, fold, status, error]``), ``holdout`` (the model refit on every training row, scored
  on the suite's holdout; NaN if not recorded), ``holdout_fit_s``, and ``oof``: the
  out-of-fold predictions at the last rung (every row predicted once), packed: class
  probabilities as float16 (n_rows x classes) or, for regression, predictions as float32.

Packed arrays are ``{"dtype", "shape", "data"}`` with ``data`` the base64 of the little-endian
bytes (JSON numbers would take three to five times the room).
"""

from __future__ import annotations

import base64
import gzip
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from thrifty_tui.core.policy.recording import Recording


def pack(array: Any, dtype: str) -> dict[str, Any]:
    a = np.ascontiguousarray(np.asarray(array, dtype=dtype), dtype=np.dtype(dtype).newbyteorder("<"))
    return {"dtype": dtype, "shape": list(a.shape), "data": base64.b64encode(a.tobytes()).decode()}


def unpack(packed: dict[str, Any] | None) -> np.ndarray | None:
    if not packed:
        return None
    dtype = np.dtype(packed["dtype"]).newbyteorder("<")
    raw = base64.b64decode(packed["data"])
    return np.frombuffer(raw, dtype=dtype).astype(packed["dtype"]).reshape(packed["shape"])


def save(data: dict[str, Any], path: str | Path) -> None:
    """Write a trace atomically (a killed run never leaves half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8") as fh:
        json.dump(data, fh, separators=(",", ":"))
    tmp.replace(path)


def load(path: str | Path) -> dict[str, Any]:
    """A trace as its JSON (NaN is written and read as JSON's NaN, as ``Recording.save``
    does)."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return json.load(fh)


def recording(data: dict[str, Any]) -> Recording:
    """The policy's view of a trace, for ``policy.replay.replay``."""
    return Recording.from_json(data)


def holdout_of(data: dict[str, Any], model: str) -> float:
    return next((float(m["holdout"]) for m in data["models"] if m["name"] == model), math.nan)


def oof_of(data: dict[str, Any], model: str) -> np.ndarray | None:
    """A model's out-of-fold predictions at the last rung (None when not recorded)."""
    return next((unpack(m.get("oof")) for m in data["models"] if m["name"] == model), None)
