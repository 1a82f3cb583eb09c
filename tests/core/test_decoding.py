"""Decoding that never misreads: a UTF-8 file with a few bad bytes stays UTF-8 (the bytes
replaced, the lines named), only a file that is not UTF-8 as a whole is read as Windows-1252,
NUL bytes anywhere are noted, a symlink loop is named as such."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from thrifty_tui.core.data.sniff import precheck
from thrifty_tui.core.data.tables import load_table
from thrifty_tui.core.errors import DataError

ROWS = 50


def _cafes(n: int = ROWS) -> bytes:
    return ("id,name,x\n" + "".join(f"{i},café {i % 3},{'ab'[i % 2]}\n" for i in range(n))
            ).encode()


def test_a_cut_character_at_the_end_does_not_make_the_file_cp1252(tmp_path):
    path = tmp_path / "cut.csv"
    path.write_bytes(_cafes() + "50,caf".encode() + b"\xc3,a\n")
    table = load_table(path)
    frame = table.frame
    assert set(frame["name"].iloc[:ROWS]) == {"café 0", "café 1", "café 2"}
    assert set(frame["x"]) == {"a", "b"}  # the target gains no class
    assert frame["name"].iloc[ROWS] == "caf\ufffd"
    note = next(n for n in table.notices if "UTF-8" in n)
    assert "line 52" in note and "Windows-1252" not in note


def test_a_bad_byte_after_the_first_mib_is_replaced_and_its_line_named(tmp_path):
    body = _cafes(100_000)
    cut = body.index(b"\n", (1 << 20) + 10) + 1
    line = body.count(b"\n", 0, cut) + 1
    path = tmp_path / "late.csv"
    path.write_bytes(body[:cut] + b"77,bad\xff byte,a\n" + body[cut:])
    table = load_table(path)
    assert len(table.frame) == 100_001
    assert "bad\ufffd byte" in set(table.frame["name"])
    assert table.frame["name"].str.contains("café").sum() == 100_000
    note = next(n for n in table.notices if "UTF-8" in n)
    assert f"line {line}" in note


def test_a_file_that_is_not_utf8_as_a_whole_is_read_as_cp1252(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("id,city,x\n1,Zürich,a\n2,Málaga,b\n3,Besançon,a\n".encode("cp1252"))
    table = load_table(path)
    assert list(table.frame["city"]) == ["Zürich", "Málaga", "Besançon"]
    assert any("Windows-1252" in n for n in table.notices)


def test_the_same_bad_bytes_gzipped_are_read_the_same(tmp_path):
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(gzip.compress(_cafes() + b"50,caf\xc3,a\n", mtime=0))
    table = load_table(path)
    assert set(table.frame["name"].iloc[:ROWS]) == {"café 0", "café 1", "café 2"}
    assert any("line 52" in n for n in table.notices)


@pytest.mark.parametrize("where", [100, 20_000])  # in the first 8 KB, and past it
def test_nul_bytes_anywhere_are_noted_with_their_line(tmp_path, where):
    body = _cafes(2_000)
    cut = body.index(b"\n", where) + 1
    line = body.count(b"\n", 0, cut) + 1
    path = tmp_path / "nul.csv"
    path.write_bytes(body[:cut] + b"88,nul\x00here,a\n" + body[cut:])
    table = load_table(path)
    assert len(table.frame) == 2_001
    note = next(n for n in table.notices if "NUL" in n)
    assert f"line {line}" in note


def test_a_symlink_loop_is_named_as_such(tmp_path):
    os.symlink(tmp_path / "b.csv", tmp_path / "a.csv")
    os.symlink(tmp_path / "a.csv", tmp_path / "b.csv")
    with pytest.raises(DataError, match="symbolic link loop"):
        precheck(tmp_path / "a.csv")


def test_a_dangling_symlink_says_where_it_points(tmp_path):
    os.symlink(tmp_path / "gone.csv", tmp_path / "a.csv")
    with pytest.raises(DataError, match="points to .*gone.csv.*which does not exist"):
        precheck(tmp_path / "a.csv")


def test_a_clean_file_gets_no_encoding_note(tmp_path):
    path = tmp_path / "clean.csv"
    path.write_bytes(_cafes())
    table = load_table(path)
    assert not [n for n in table.notices if "UTF-8" in n or "NUL" in n]
    assert Path(path).exists()


def test_json_lines_with_a_bad_byte_are_read_with_a_note(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes('{"a": 1, "x": "café"}\n{"a": 2, "x": "b'.encode() + b"\xff"
                     + 'ad"}\n{"a": 3, "x": "café"}\n'.encode())
    table = load_table(path)
    assert list(table.frame["x"]) == ["café", "b\ufffdad", "café"]
    assert any("line 2" in n and "UTF-8" in n for n in table.notices)
