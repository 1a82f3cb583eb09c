"""Export and load a model bundle: one zip with everything needed to use and judge a model.

Inside: the fitted Pipeline in the skops format (and a joblib copy for trusted local use),
the fitted feature steps alone, their lexicons as plain files, the diagnostics as text plots
and numbers, a README model card, ``manifest.json`` and ``checksums.sha256`` (store.checksums).

The write is atomic (temporary file in the same folder, fsync, ``os.replace``, fsync of the
folder), so a half-written bundle never appears under the final name. Reading refuses, with
one line saying why, anything altered, added, escaping the folder, untrusted or written by
another major version of scikit-learn.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import stat
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from thrifty_tui.core.errors import DataError, describe_error
from thrifty_tui.core.store import checksums
from thrifty_tui.core.store.checksums import CHECKSUMS_MEMBER, unsafe_member_name

BUNDLE_FORMAT = 3  # 3: checksums.sha256 covers every member, the manifest included
MANIFEST_MEMBER = "manifest.json"
CARD_MEMBER = "README.md"
MODEL_MEMBER = "model.skops"
JOBLIB_MEMBER = "model.joblib"
FEATURES_MEMBER = "features.skops"
EXAMPLE_MEMBER = "input_example.json"
TRACKED_PACKAGES = ("thrifty-tui", "scikit-learn", "skops", "pandas", "numpy", "scipy", "joblib")
PARTIAL_SUFFIX = ".partial"
# Members already compressed by their writer are stored as they are.
_STORED = (MODEL_MEMBER, JOBLIB_MEMBER, FEATURES_MEMBER)

Progress = Callable[[str, int, int], None]
WRITE_STAGES = ("model (skops)", "model (joblib copy)", "feature steps and lexicons",
                "diagnostics", "model card and manifest", "writing the zip", "syncing to disk")


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


# -- writing --------------------------------------------------------------------------------

def build_members(model: Any, manifest: dict[str, Any], *,
                  diagnostics: dict[str, Any] | None = None,
                  progress: Progress | None = None,
                  extra: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """Every file of the bundle, by name; the manifest last, with the hashes of the others.
    ``extra`` members (the explanations' background sample) go in as they are.

    Fitted vocabularies of ``model`` get Python ints for indices (see plain_vocabularies).
    """
    import joblib

    from thrifty_tui.core.store.bundle_report import diagnostics_files, model_card
    from thrifty_tui.core.store.lexicons import (
        example_input,
        extract_all_lexicons,
        feature_steps,
        plain_vocabularies,
    )
    from thrifty_tui.core.store.trust import dump_skops, skops_types, trusted_types

    total = len(WRITE_STAGES)

    def stage(i: int) -> None:
        if progress is not None:
            progress(WRITE_STAGES[i], i, total)

    stage(0)
    plain_vocabularies(model)  # same behaviour, a much faster skops dump
    members: dict[str, bytes] = {MODEL_MEMBER: dump_skops(model)}
    stage(1)
    buffer = io.BytesIO()
    joblib.dump(model, buffer, compress=3)
    members[JOBLIB_MEMBER] = buffer.getvalue()
    stage(2)
    features = feature_steps(model)  # a mean of models: each member's, by name
    if features is not None:
        members[FEATURES_MEMBER] = dump_skops(features)
    example = example_input(model, manifest.get("columns", []))
    members[EXAMPLE_MEMBER] = json.dumps(example, indent=1, default=str).encode()
    lexicon_files, lexicon_index = extract_all_lexicons(
        model, pd.DataFrame(example, columns=[c["name"] for c in manifest.get("columns", [])])
        if example else None)
    members.update(lexicon_files)
    stage(3)
    from thrifty_tui.core.learn.value import cost_from_dict

    cost = cost_from_dict((manifest.get("decision") or {}).get("cost") or {})
    diagnostic_files, diagnostic_summary = diagnostics_files(diagnostics, manifest.get("task", ""),
                                                             cost)
    members.update(diagnostic_files)
    members.update(extra or {})
    stage(4)
    full = dict(manifest)
    full.update(
        format=BUNDLE_FORMAT, created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        versions=package_versions(), platform=platform.platform(),
        python_implementation=platform.python_implementation(),
        # For loading without thrifty-tui; thrifty-tui itself never trusts this list.
        trusted_types=(needed := skops_types(members[MODEL_MEMBER])),
        # A model from a user's own zoo may need more: thrifty-tui will refuse to load it.
        types_thrifty_tui_refuses=sorted(set(needed) - trusted_types()),
        feature_steps=lexicon_index.get("steps", []), diagnostics=diagnostic_summary,
        contents=sorted([*members, CARD_MEMBER]), checksums=CHECKSUMS_MEMBER)
    members[CARD_MEMBER] = model_card(full).encode()
    full["files"] = {name: _sha256(data) for name, data in members.items()}
    members[MANIFEST_MEMBER] = json.dumps(full, indent=2, sort_keys=True, default=str).encode()
    members[CHECKSUMS_MEMBER] = checksums.checksum_list(members)  # last: covers the manifest
    return members


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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def clear_stale_partials(out: Path) -> list[Path]:
    """Remove temporary files of earlier writes of ``out`` whose writer died (a kill, a crash)."""
    removed = []
    for path in out.parent.glob(f".{out.name}.*{PARTIAL_SUFFIX}"):
        pid_text = path.name[len(out.name) + 2:].split(".", 1)[0]
        if pid_text.isdigit() and not _pid_alive(int(pid_text)):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def write_members(members: dict[str, bytes], out: Path, progress: Progress | None = None) -> Path:
    """Write ``members`` as a zip at ``out``: all of it under that name, or nothing at all."""
    total = len(WRITE_STAGES)
    out.parent.mkdir(parents=True, exist_ok=True)
    clear_stale_partials(out)
    if progress is not None:
        progress(WRITE_STAGES[5], 5, total)
    # The writer's pid in the name lets a later write tell a dead writer's leftovers.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.{os.getpid()}.", suffix=PARTIAL_SUFFIX,
                                    dir=out.parent)
    try:
        if hasattr(os, "fchmod"):  # mkstemp makes it 0600; a bundle is shared like any file
            os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            with zipfile.ZipFile(fh, "w") as zf:
                for name, data in members.items():
                    method = zipfile.ZIP_STORED if name in _STORED else zipfile.ZIP_DEFLATED
                    zf.writestr(name, data, compress_type=method)
            if progress is not None:
                progress(WRITE_STAGES[6], 6, total)
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


def write_bundle(model: Any, manifest: dict[str, Any], out_path: str | os.PathLike[str], *,
                 diagnostics: dict[str, Any] | None = None,
                 progress: Progress | None = None, extra: dict[str, bytes] | None = None
                 ) -> Path:
    """Write the bundle of ``model`` to ``out_path`` atomically; returns the path written.

    ``diagnostics`` is the model's stored Diagnostics as a dict (None: no plots);
    ``progress(stage, step, total)`` is called as each stage starts.
    """
    out = bundle_path(out_path)
    members = build_members(model, manifest, diagnostics=diagnostics, progress=progress,
                            extra=extra)
    return write_members(members, out, progress)


# -- reading and verifying ------------------------------------------------------------------

def read_bundle(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Open a bundle and check it file by file; BundleError saying what is wrong if not.

    Checks, in order: a readable zip; no member that would escape the folder on extraction,
    no link and no duplicate name; a JSON manifest; no member it does not list, none missing;
    every member's SHA-256. Returns (manifest, members other than the manifest).
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise BundleError(f"no bundle at {p}")
    try:
        with zipfile.ZipFile(p) as zf:
            infos = zf.infolist()
            seen: set[str] = set()
            for info in infos:
                reason = unsafe_member_name(info.filename)
                if reason:
                    raise BundleError(f"{p.name}: member {info.filename!r} would escape the folder "
                                      f"on extraction ({reason}); refused")
                if stat.S_ISLNK(info.external_attr >> 16):
                    raise BundleError(f"{p.name}: member {info.filename!r} is a symbolic link; "
                                      "refused")
                if info.filename in seen:
                    raise BundleError(f"{p.name} holds two members named {info.filename!r}; "
                                      "refused")
                seen.add(info.filename)
            if MANIFEST_MEMBER not in seen:
                raise BundleError(f"{p.name} has no {MANIFEST_MEMBER}; not a thrifty-tui bundle")
            members = {info.filename: zf.read(info) for info in infos}
    # A damaged zip fails in many ways besides BadZipFile: zlib.error or EOFError from a
    # corrupt deflate stream, NotImplementedError from a mangled method field, OSError from a
    # bad offset. Each means the same thing to the user.
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError,
            ValueError) as err:
        raise BundleError(f"{p.name} is not a readable zip bundle ({describe_error(err)})") from err
    manifest_bytes = members.pop(MANIFEST_MEMBER)
    try:
        manifest = json.loads(manifest_bytes)
    except ValueError as err:  # JSONDecodeError and UnicodeDecodeError
        raise BundleError(f"{p.name}: {MANIFEST_MEMBER} is not valid JSON") from err
    expected = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(expected, dict):
        raise BundleError(f"{p.name}: {MANIFEST_MEMBER} does not list the bundle's files")
    for name in expected:
        reason = unsafe_member_name(str(name))
        if reason:
            raise BundleError(f"{p.name}: the manifest lists {name!r}, which would escape the "
                              f"folder on extraction ({reason}); refused")
    extra = sorted(set(members) - set(expected) - {CHECKSUMS_MEMBER})
    if extra:
        raise BundleError(f"{p.name} holds files its manifest does not list: {', '.join(extra)}")
    for name, digest in expected.items():
        if name not in members:
            raise BundleError(f"{p.name} is missing {name}")
        if _sha256(members[name]) != digest:
            raise BundleError(f"{p.name}: {name} does not match its SHA-256 in the manifest")
    problem = checksums.problem({**members, MANIFEST_MEMBER: manifest_bytes}, manifest)
    if problem:
        raise BundleError(f"{p.name}: {problem}")
    return manifest, members


def read_manifest(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Alias of read_bundle, kept for callers of the first bundle format."""
    return read_bundle(path)


def _major_minor(version: str) -> tuple[int, int] | None:
    parts = str(version).split(".")
    try:
        return int(parts[0]), int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    except ValueError:
        return None


def check_versions(manifest: dict[str, Any], name: str = "bundle") -> list[str]:
    """Warnings about versions that differ from this environment's.

    Raises BundleError when the bundle says it was written by another major version of
    scikit-learn (its models do not load across majors) or by a newer bundle format.
    """
    import sklearn

    fmt = manifest.get("format")
    if not isinstance(fmt, int) or fmt > BUNDLE_FORMAT:
        raise BundleError(f"{name} has bundle format {fmt!r}; this thrifty-tui reads up to "
                          f"{BUNDLE_FORMAT}: upgrade thrifty-tui")
    written = (manifest.get("versions") or {}).get("scikit-learn")
    ours, theirs = _major_minor(sklearn.__version__), _major_minor(str(written))
    if theirs is None or ours is None:
        raise BundleError(f"{name}: the manifest does not say which scikit-learn wrote it "
                          f"({written!r}); refused")
    if theirs[0] != ours[0]:
        raise BundleError(f"{name} was written with scikit-learn {written}, another major "
                          f"version than this {sklearn.__version__}; refused (re-export it with "
                          f"scikit-learn {ours[0]}.x)")
    warnings = []
    if theirs != ours:
        warnings.append(f"written with scikit-learn {written}, this is {sklearn.__version__}: "
                        "predictions may differ slightly")
    python = str((manifest.get("versions") or {}).get("python", ""))
    if python.split(".")[:2] != platform.python_version().split(".")[:2]:
        warnings.append(f"written with Python {python}, this is {platform.python_version()}")
    return warnings


@dataclass(frozen=True)
class OpenedBundle:
    """A verified bundle: the model built from its skops file, the manifest, every member's
    bytes and any version warnings."""

    model: Any
    manifest: dict[str, Any]
    members: dict[str, bytes]
    warnings: tuple[str, ...]


def open_bundle(path: str | os.PathLike[str]) -> OpenedBundle:
    """Verify a bundle (read_bundle, check_versions) and build its model from ``model.skops``.

    Only types on thrifty-tui's own allowlist (core.trust) are built, never the list the
    bundle carries; the pickle copy is never loaded here.
    """
    from thrifty_tui.core.store.trust import UntrustedTypes, load_skops

    name = Path(path).name
    manifest, members = read_bundle(path)
    warnings = check_versions(manifest, name) + checksums.bundle_notes(members)
    if MODEL_MEMBER not in members:
        raise BundleError(f"{name} has no {MODEL_MEMBER} (an old, pickle-only bundle?); "
                          "re-export it with this thrifty-tui")
    try:
        model = load_skops(members[MODEL_MEMBER])
    except UntrustedTypes as err:
        raise BundleError(f"{name}: {MODEL_MEMBER} holds {err} that thrifty-tui does not "
                          "trust; refused without loading it") from err
    except Exception as err:  # whatever skops raises, the file is unusable
        raise BundleError(f"{name}: {MODEL_MEMBER} cannot be loaded "
                          f"({describe_error(err)})") from err
    return OpenedBundle(model, manifest, members, tuple(warnings))


def load_bundle(path: str | os.PathLike[str]) -> tuple[Any, dict[str, Any]]:
    """The fitted Pipeline and manifest of a verified bundle (see open_bundle)."""
    opened = open_bundle(path)
    return opened.model, opened.manifest


# -- input data against the schema ----------------------------------------------------------
