"""Export and load a model bundle: one zip with the fitted Pipeline and a manifest.

The write is atomic (temporary file in the same folder, fsync, ``os.replace``, fsync of the
folder), so a half-written bundle never appears under the final name.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import tempfile
import time
import zipfile
import zlib
from importlib import metadata
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from thrifty_tui.core.errors import DataError, describe_error

BUNDLE_FORMAT = 1
MODEL_MEMBER = "model.joblib"
MANIFEST_MEMBER = "manifest.json"
CARD_MEMBER = "README.md"
TRACKED_PACKAGES = ("thrifty-tui", "scikit-learn", "pandas", "numpy", "joblib", "scipy")


class BundleError(DataError):
    """A bundle that cannot be trusted or read; the message says why in one line."""


def package_versions() -> dict[str, str]:
    """Versions of the packages a bundle depends on, plus Python's."""
    versions = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def bundle_path(path: str | os.PathLike[str]) -> Path:
    """The absolute path to write: ``.thrifty.zip`` added unless the user gave a .zip name.

    Absolute, so the path reported (the CLI's done line, the app's notice) still finds the
    file from another folder.
    """
    p = Path(path).expanduser().absolute()
    return p if p.suffix == ".zip" else p.with_name(p.name + ".thrifty.zip")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def model_card(manifest: dict[str, Any]) -> str:
    """A short human README for the bundle."""
    lines = [
        f"# {manifest['model']} for `{manifest['target']}`", "",
        f"Task: {manifest['task']}. Cross-validated {manifest['metric']}: "
        f"{manifest['cv_mean']:.4f} ± {manifest['cv_std']:.4f} over {len(manifest['cv_scores'])} folds.",
        f"Trained on {manifest['n_rows']} rows of `{manifest['data']['path']}` "
        f"(fingerprint {manifest['data']['fingerprint']}).", "",
        "Load it with `thrifty-tui predict THIS.zip DATA.csv`, which checks every hash first.", "",
        "## Leaderboard at export", "",
        "| model | mean | std | status |", "| --- | --- | --- | --- |",
    ]
    for row in manifest.get("leaderboard", []):
        lines.append(f"| {row['model']} | {row['mean']:.4f} | {row['std']:.4f} | {row['status']} |")
    return "\n".join(lines) + "\n"


def _umask() -> int:
    """The process umask, read without changing it where the OS allows (it is process-wide)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def write_bundle(model: Any, manifest: dict[str, Any], out_path: str | os.PathLike[str]) -> Path:
    """Write ``model`` and ``manifest`` to a zip at ``out_path``, atomically. Returns the path."""
    out = bundle_path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    joblib.dump(model, buffer, compress=3)
    members: dict[str, bytes] = {MODEL_MEMBER: buffer.getvalue()}
    full = dict(manifest)
    full.update(format=BUNDLE_FORMAT, created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                versions=package_versions(), platform=platform.platform())
    members[CARD_MEMBER] = model_card(full).encode()
    full["files"] = {name: _sha256(data) for name, data in members.items()}
    members[MANIFEST_MEMBER] = json.dumps(full, indent=2, sort_keys=True, default=str).encode()
    fd, tmp_name = tempfile.mkstemp(prefix=".partial-", suffix=".zip", dir=out.parent)
    try:
        if hasattr(os, "fchmod"):  # mkstemp makes it 0600; a bundle is shared like any file
            os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for name, data in members.items():
                    zf.writestr(name, data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, out)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    dir_fd = os.open(out.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return out


def read_manifest(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Open a bundle, check every member's SHA-256 against the manifest; BundleError if not."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise BundleError(f"no bundle at {p}")
    try:
        with zipfile.ZipFile(p) as zf:
            names = zf.namelist()
            if MANIFEST_MEMBER not in names:
                raise BundleError(f"{p.name} has no {MANIFEST_MEMBER}; not a thrifty-tui bundle")
            members = {n: zf.read(n) for n in names}
    # A damaged zip fails in many ways besides BadZipFile: zlib.error or EOFError from a
    # corrupt deflate stream, NotImplementedError from a mangled method field, OSError from a
    # bad offset. Each means the same thing to the user.
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError,
            ValueError) as err:
        raise BundleError(f"{p.name} is not a readable zip bundle ({describe_error(err)})") from err
    try:
        manifest = json.loads(members.pop(MANIFEST_MEMBER))
    except ValueError as err:  # JSONDecodeError and UnicodeDecodeError
        raise BundleError(f"{p.name}: {MANIFEST_MEMBER} is not valid JSON") from err
    expected = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(expected, dict):
        raise BundleError(f"{p.name}: {MANIFEST_MEMBER} does not list the bundle's files")
    extra = sorted(set(members) - set(expected))
    if extra:
        raise BundleError(f"{p.name} holds files its manifest does not list: {', '.join(extra)}")
    for name, digest in expected.items():
        if name not in members:
            raise BundleError(f"{p.name} is missing {name}")
        if _sha256(members[name]) != digest:
            raise BundleError(f"{p.name}: {name} does not match its SHA-256 in the manifest")
    return manifest, members


def load_bundle(path: str | os.PathLike[str]) -> tuple[Any, dict[str, Any]]:
    """The fitted Pipeline and manifest of a verified bundle."""
    manifest, members = read_manifest(path)
    model = joblib.load(io.BytesIO(members[MODEL_MEMBER]))
    return model, manifest


def check_columns(frame: pd.DataFrame, manifest: dict[str, Any]) -> pd.DataFrame:
    """The model's input columns from ``frame``, or a clear error naming what is missing."""
    needed = [c["name"] for c in manifest["columns"]]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataError(f"input lacks column(s) the model needs: {', '.join(missing[:10])}")
    return frame[needed]


def predict_frame(model: Any, frame: pd.DataFrame, manifest: dict[str, Any]) -> pd.DataFrame:
    """One row per input row, in order: ``prediction`` and, for classifiers, ``proba_<class>``."""
    X = check_columns(frame, manifest)
    out = pd.DataFrame({"prediction": model.predict(X)})
    if manifest["task"] == "classification" and hasattr(model, "predict_proba"):
        proba = model.predict_proba(X)
        for i, cls in enumerate(model.classes_):
            out[f"proba_{cls}"] = proba[:, i]
    return out


def python_version_ok(manifest: dict[str, Any]) -> bool:
    """True when the bundle was written by this Python's major.minor."""
    written = manifest.get("versions", {}).get("python", "")
    return written.split(".")[:2] == platform.python_version().split(".")[:2]


