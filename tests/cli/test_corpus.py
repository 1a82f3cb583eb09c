"""The faults corpus through the CLI, in-process: a refused file or bundle is exit 2 and one
line on stderr, a file read with a note is exit 0 with the note; never a traceback or a
numpy warning."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest
from sklearn.linear_model import Ridge

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))

from corpus import BAD, FILES, NOTED, REFUSED, bad_bundles, forged_consistently  # noqa: E402

from thrifty_tui.cli import main  # noqa: E402


def _one_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("thrifty-tui: error: ") and "Traceback" not in stderr
    return lines[0]


def test_the_corpus_is_big_enough(good_bundle, tmp_path):
    assert len(FILES) + len(bad_bundles(good_bundle, tmp_path)) >= 40
    assert sorted(p.name for p in BAD.iterdir()) == sorted(FILES)


@pytest.mark.parametrize("name", sorted(FILES))
def test_each_bad_file_through_profile(name, capsys):
    kind, words = FILES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        code = main(["profile", str(BAD / name), "--target", "x"])
    out, err = capsys.readouterr()
    if kind == REFUSED:
        assert code == 2
        assert words in _one_line(err)
    else:
        assert kind == NOTED and code == 0, err
        assert "Traceback" not in err and not err.strip()
        assert words in out


@pytest.fixture(scope="module")
def good_bundle(tmp_path_factory) -> Path:
    from bundle_helpers import fit_sample

    from thrifty_tui.core.store.bundle import write_bundle

    fitted = fit_sample("car_prices.csv", "Price", Ridge(), rows=200)
    return write_bundle(fitted.model, fitted.manifest,
                        tmp_path_factory.mktemp("good") / "price")


def test_each_bad_bundle_through_inspect_and_predict(good_bundle, tmp_path, capsys):
    from thrifty_tui.config import SAMPLE_DIR

    assert main(["inspect", str(good_bundle)]) == 0
    capsys.readouterr()
    for name, (path, words) in bad_bundles(good_bundle, tmp_path).items():
        for argv in (["inspect", str(path)],
                     ["predict", str(path), str(SAMPLE_DIR / "car_prices.csv")]):
            code = main(argv)
            _, err = capsys.readouterr()
            assert code == 2, (name, argv[0], err)
            assert words in _one_line(err), (name, argv[0])


def test_inspect_states_what_it_checked(good_bundle, capsys):
    assert main(["inspect", str(good_bundle)]) == 0
    out = capsys.readouterr().out
    assert "manifest.json included" in out
    assert "cv_mean agrees with its folds" in out


def test_a_consistent_forgery_passes_as_the_docs_say(good_bundle, tmp_path, capsys):
    """Checksums catch corruption, not a forger who rewrites them too (docs/bundles.md)."""
    forged = forged_consistently(good_bundle, tmp_path / "forged.thrifty.zip")
    assert main(["inspect", str(forged)]) == 0
    docs = (Path(__file__).resolve().parents[2] / "docs" / "bundles.md").read_text()
    assert "forger" in docs and "checksums.sha256" in docs


def test_an_old_bundle_without_checksums_loads_with_a_note(good_bundle, tmp_path, capsys):
    from corpus import _members, _old_format, _write

    old = _write(tmp_path / "old.thrifty.zip", _old_format(_members(good_bundle)))
    assert main(["inspect", str(old)]) == 0
    out = capsys.readouterr().out
    assert "warning:" in out and "checksums.sha256" in out
