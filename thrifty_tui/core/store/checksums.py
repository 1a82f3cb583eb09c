"""The checks of a bundle's members: the checksum list, the cross-checks of what its manifest
claims, and member names that would escape the folder on extraction.

The manifest lists the SHA-256 of every other member, but nothing covered the manifest
itself: one byte changed in it (cv_mean 0.2956 -> 0.9956) passed every check and was shown as
the model's score. ``checksums.sha256`` (the format ``sha256sum -c`` reads) lists every
member, the manifest included; the manifest names it, so removing it is caught too.

What this proves: the bundle is as its writer left it, against corruption and careless
edits. Not against a forger: whoever rewrites a member can rewrite both lists (see
docs/bundles.md).
"""

from __future__ import annotations

import hashlib
import math
from pathlib import PurePosixPath
from typing import Any

CHECKSUMS_MEMBER = "checksums.sha256"
MANIFEST_MEMBER = "manifest.json"


def sha256(data: bytes) -> str:
    """The hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def checksum_list(members: dict[str, bytes]) -> bytes:
    """``checksums.sha256`` for ``members`` (every member but itself), sorted by name."""
    return "".join(f"{sha256(data)}  {name}\n" for name, data in sorted(members.items())
                   if name != CHECKSUMS_MEMBER).encode()


def checksum_problem(members: dict[str, bytes], manifest: dict[str, Any]) -> str | None:
    """Why the checksum list does not vouch for ``members`` (all of them, the manifest and
    the list included), or None when it does. A bundle from before the list (its manifest
    does not name it, and it is absent) is None too: see :func:`bundle_notes`."""
    data = members.get(CHECKSUMS_MEMBER)
    if data is None:
        if manifest.get("checksums") == CHECKSUMS_MEMBER:
            return f"{CHECKSUMS_MEMBER} is missing (the manifest names it)"
        return None
    listed: dict[str, str] = {}
    try:
        for line in data.decode("utf-8").splitlines():
            digest, name = line.split("  ", 1)
            if len(digest) != 64 or name in listed:
                raise ValueError(line)
            listed[name] = digest
    except ValueError:  # UnicodeDecodeError too
        return f"{CHECKSUMS_MEMBER} is not a list of SHA-256 sums"
    expected = set(members) - {CHECKSUMS_MEMBER}
    if set(listed) != expected:
        odd = sorted(set(listed) ^ expected)
        return f"{CHECKSUMS_MEMBER} does not list the bundle's members ({', '.join(odd[:3])})"
    for name in sorted(listed, key=lambda n: n != MANIFEST_MEMBER):  # the manifest first
        if sha256(members[name]) != listed[name]:
            return f"{name} does not match its SHA-256 in {CHECKSUMS_MEMBER}"
    return None


def bundle_notes(members: dict[str, bytes]) -> list[str]:
    """Notes on a bundle that passed every check: one written before the checksum list has
    a manifest nothing checks."""
    if CHECKSUMS_MEMBER in members:
        return []
    return [f"written before bundles had {CHECKSUMS_MEMBER}: the other files match the "
            "manifest, but nothing checks manifest.json itself (re-export to cover it)"]


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def manifest_disagreements(manifest: dict[str, Any]) -> list[str]:
    """Where the manifest contradicts itself about the model's score: cv_mean against the
    mean of its fold scores, the cv section and the leaderboard row. Empty when consistent
    (or when there is nothing to compare)."""
    out: list[str] = []
    mean = _number(manifest.get("cv_mean"))
    scores = [s for s in manifest.get("cv_scores") or [] if _number(s) is not None]
    if mean is None or not scores:
        return out
    folds_mean = sum(scores) / len(scores)
    if not _close(mean, folds_mean):
        out.append(f"cv_mean {mean:.4f} is not the mean of its {len(scores)} fold scores "
                   f"({folds_mean:.4f})")
    cv = manifest.get("cv") or {}
    cv_mean = _number(cv.get("mean"))
    if cv_mean is not None and not _close(cv_mean, mean):
        out.append(f"cv_mean {mean:.4f} differs from cv.mean {cv_mean:.4f}")
    folds = [_number(f.get("score")) for f in cv.get("folds") or [] if isinstance(f, dict)]
    if folds and len(folds) == len(manifest.get("cv_scores") or []) and any(
            a is not None and b is not None and not _close(a, b)
            for a, b in zip(folds, manifest.get("cv_scores") or [], strict=True)):
        out.append("cv.folds differ from cv_scores")
    for row in manifest.get("leaderboard") or []:
        if isinstance(row, dict) and row.get("model") == manifest.get("model"):
            board = _number(row.get("mean"))
            if board is not None and not _close(board, mean):
                out.append(f"cv_mean {mean:.4f} differs from the leaderboard's "
                           f"{board:.4f} for {manifest.get('model')}")
    return out


def problem(members: dict[str, bytes], manifest: dict[str, Any]) -> str | None:
    """Why the bundle's checksums or its manifest's claims cannot be trusted, or None:
    :func:`checksum_problem`, then :func:`manifest_disagreements` (an old bundle's manifest,
    or a forger who missed a field)."""
    found = checksum_problem(members, manifest)
    if found:
        return found
    disagreements = manifest_disagreements(manifest)
    if disagreements:
        return f"the manifest contradicts itself: {disagreements[0]}; refused"
    return None


def unsafe_member_name(name: str) -> str | None:
    """Why extracting a member called ``name`` could write outside the folder, or None."""
    if not name or "\x00" in name:
        return "an empty or NUL-containing name"
    if "\\" in name:
        return "a backslash in the name"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "an absolute path"
    if ".." in PurePosixPath(name).parts:
        return "a '..' component"
    return None
