"""Acceptance 2: what was tampered with is refused, each with its own message, nothing loaded.

The attacker here is careful: where it helps, the manifest's hashes are recomputed for the
altered files, so the checks beyond hashes (names, types, versions) have to catch it.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest
import skops.io as sio
from bundle_helpers import edit_manifest, fit_sample, rewrite
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline

from thrifty_tui.core.store import trust
from thrifty_tui.core.store.bundle import (
    MODEL_MEMBER,
    BundleError,
    load_bundle,
    read_bundle,
    unsafe_member_name,
    write_bundle,
)

MARKER = Path(os.environ.get("TMPDIR", "/tmp")) / f"thrifty-untrusted-ran-{os.getpid()}"


class Payload(BaseEstimator, TransformerMixin):
    """Stands for code an attacker slips in: building it leaves a marker file."""

    def __setstate__(self, state):
        MARKER.write_text("built")
        self.__dict__.update(state)

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    fitted = fit_sample("car_prices.csv", "Price", Ridge(), rows=300)
    return fitted, write_bundle(fitted.model, fitted.manifest,
                                tmp_path_factory.mktemp("good") / "price")


@pytest.fixture
def spy(monkeypatch):
    """Counts calls that would build the model: a refused bundle never gets that far."""
    calls: list[bytes] = []
    real = trust.load_skops

    def counting(data: bytes):
        calls.append(data)
        return real(data)

    monkeypatch.setattr(trust, "load_skops", counting)
    return calls


def _flip_one_byte(members):
    data = bytearray(members[MODEL_MEMBER])
    data[len(data) // 2] ^= 0x01
    return {**members, MODEL_MEMBER: bytes(data)}


def _evil_model(fitted) -> bytes:
    steps = [("payload", Payload()), *fitted.model.steps]
    return sio.dumps(Pipeline(steps))


REFUSALS = {
    "tampered": ("does not match its SHA-256 in the manifest",
                 lambda g, dst: rewrite(g[1], dst, _flip_one_byte)),
    "added": ("holds files its manifest does not list: extra.py",
              lambda g, dst: rewrite(g[1], dst, lambda m: {**m, "extra.py": b"import os"})),
    "untrusted type": (("holds untrusted type(s) test_bundle_refusals.Payload that "
                        "thrifty-tui does not trust; refused without loading it"),
                       lambda g, dst: rewrite(g[1], dst, lambda m: {
                           **m, MODEL_MEMBER: _evil_model(g[0])}, rehash=True)),
    "zip slip": ("member '../../evil.sh' would escape the folder on extraction",
                 lambda g, dst: rewrite(g[1], dst, lambda m: {**m, "../../evil.sh": b"rm"},
                                        rehash=True)),
    "sklearn major": ("was written with scikit-learn 2.0.1, another major version",
                      lambda g, dst: edit_manifest(g[1], dst, lambda m: m["versions"].update(
                          {"scikit-learn": "2.0.1"}))),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_each_tampering_is_refused_with_its_own_message(good, tmp_path, spy, case):
    message, make = REFUSALS[case]
    bad = make(good, tmp_path / f"{case.replace(' ', '-')}.zip")
    MARKER.unlink(missing_ok=True)
    with pytest.raises(BundleError) as caught:
        load_bundle(bad)
    text = str(caught.value)
    assert message in text and "\n" not in text
    assert not MARKER.exists()  # the payload was never built
    # Only the untrusted-type check reaches the skops file at all, and it builds nothing.
    assert len(spy) == (1 if case == "untrusted type" else 0)


def test_the_messages_are_all_different(good, tmp_path):
    messages = set()
    for case, (_, make) in REFUSALS.items():
        with pytest.raises(BundleError) as caught:
            load_bundle(make(good, tmp_path / f"{case.replace(' ', '-')}.zip"))
        messages.add(str(caught.value).split(":", 1)[-1])
    assert len(messages) == len(REFUSALS)


def test_the_bundles_own_trusted_list_is_never_used(good, tmp_path):
    # The manifest says Payload is fine; thrifty-tui's allowlist decides, not the bundle.
    def change(members):
        members = {**members, MODEL_MEMBER: _evil_model(good[0])}
        manifest = json.loads(members["manifest.json"])
        manifest["trusted_types"].append("test_bundle_refusals.Payload")
        members["manifest.json"] = json.dumps(manifest).encode()
        return members

    bad = rewrite(good[1], tmp_path / "claims-trust.zip", change, rehash=True)
    with pytest.raises(BundleError, match="untrusted type"):
        load_bundle(bad)
    assert "test_bundle_refusals.Payload" in trust.untrusted(_evil_model(good[0]))


@pytest.mark.parametrize("name", ["/etc/cron.d/evil", "a/../../b", "..", "C:/x", "a\\..\\b",
                                  ""])
def test_member_names_that_escape_are_caught(name):
    assert unsafe_member_name(name)


@pytest.mark.parametrize("name", ["model.skops", "lexicons/vocabulary-text.tsv", "a..b/c"])
def test_ordinary_member_names_pass(name):
    assert unsafe_member_name(name) is None


def test_a_manifest_listing_an_escaping_name_is_refused(good, tmp_path):
    bad = edit_manifest(good[1], tmp_path / "listed.zip",
                        lambda m: m["files"].update({"/etc/passwd": "0" * 64}))
    with pytest.raises(BundleError, match="the manifest lists '/etc/passwd', which would escape"):
        read_bundle(bad)


def test_a_symlink_member_and_a_duplicate_name_are_refused(good, tmp_path):
    link = tmp_path / "link.zip"
    rewrite(good[1], link, lambda m: m)
    with zipfile.ZipFile(link, "a") as zf:
        info = zipfile.ZipInfo("lexicons/link")
        info.external_attr = (0o120777 << 16)  # S_IFLNK
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(BundleError, match="'lexicons/link' is a symbolic link"):
        read_bundle(link)
    dup = tmp_path / "dup.zip"
    rewrite(good[1], dup, lambda m: m)
    with pytest.warns(UserWarning), zipfile.ZipFile(dup, "a") as zf:
        zf.writestr("README.md", "# another card")
    with pytest.raises(BundleError, match="two members named 'README.md'"):
        read_bundle(dup)


def test_a_newer_bundle_format_and_an_unknown_sklearn_are_refused(good, tmp_path):
    newer = edit_manifest(good[1], tmp_path / "newer.zip", lambda m: m.update(format=99))
    with pytest.raises(BundleError, match="bundle format 99; this thrifty-tui reads up to 2"):
        load_bundle(newer)
    unknown = edit_manifest(good[1], tmp_path / "unknown.zip",
                            lambda m: m["versions"].pop("scikit-learn"))
    with pytest.raises(BundleError, match="does not say which scikit-learn wrote it"):
        load_bundle(unknown)


def test_another_minor_version_loads_with_a_warning(good, tmp_path):
    import sklearn

    major = sklearn.__version__.split(".")[0]
    other = edit_manifest(good[1], tmp_path / "minor.zip", lambda m: m["versions"].update(
        {"scikit-learn": f"{major}.0.0", "python": "3.99.0"}))
    from thrifty_tui.core.store.bundle import open_bundle

    opened = open_bundle(other)
    assert any(f"written with scikit-learn {major}.0.0" in w for w in opened.warnings)
    assert any("Python 3.99.0" in w for w in opened.warnings)


def test_an_old_pickle_only_bundle_is_refused(good, tmp_path):
    def old_format(members):
        members = {k: v for k, v in members.items() if k != MODEL_MEMBER}
        manifest = json.loads(members["manifest.json"])
        manifest["format"] = 1
        members["manifest.json"] = json.dumps(manifest).encode()
        return members

    old = rewrite(good[1], tmp_path / "old.zip", old_format, rehash=True)
    with pytest.raises(BundleError, match="has no model.skops .an old, pickle-only bundle"):
        load_bundle(old)
