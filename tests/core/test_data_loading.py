"""Loading every supported format, and one clear message for each kind of bad input."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from thrifty_tui.core.data import csvscan
from thrifty_tui.core.data.tables import DataError, LoadedTable, load_table, source_fingerprint
from thrifty_tui.core.learn.screening import make_problem
from thrifty_tui.core.data.sniff import precheck

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
from helpers import BAD, SHARED, data_cli, one_error_line, thrifty

GOOD = "id,value,group,x\n" + "".join(f"{i},{i / 2},{'ab'[i % 2]},{'yn'[i % 3 > 0]}\n"
                                      for i in range(30))


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# -- formats ------------------------------------------------------------------------------------

@pytest.mark.parametrize("delimiter,suffix,name", [
    (",", ".csv", None), (";", ".csv", "semicolon"), ("\t", ".tsv", "tab"), ("|", ".psv", "pipe"),
    ("\t", ".txt", "tab"), (";", ".txt", "semicolon"),
])
def test_delimiters_are_sniffed(tmp_path, delimiter, suffix, name):
    path = _write(tmp_path / f"data{suffix}", GOOD.replace(",", delimiter))
    table = load_table(path)
    assert table.delimiter == delimiter
    assert list(table.frame.columns) == ["id", "value", "group", "x"]
    assert table.frame["value"].dtype == np.float64 and table.frame["id"].dtype == np.int64
    assert len(table.frame) == 30 and table.rejected_rows == 0
    assert any(name in n for n in table.notices) if name else table.notices == ()


def test_quoted_delimiters_and_newlines_stay_in_their_field(tmp_path):
    path = _write(tmp_path / "q.csv", 'a;b;c\n1;"x; y";"two\nlines"\n2;"say ""hi""";z\n')
    frame = load_table(path).frame
    assert frame["b"].tolist() == ["x; y", 'say "hi"']
    assert frame["c"].tolist() == ["two\nlines", "z"]


def test_semicolon_files_with_decimal_commas(tmp_path):
    path = _write(tmp_path / "eu.csv", "name;price;qty\nÄpfel;1,25;3\nBirnen;1.234,5;4\n")
    table = load_table(path)
    assert table.frame["price"].tolist() == [1.25, 1234.5]
    assert any("decimal commas" in n for n in table.notices)


FORMATTED = ("item,price,share,count,code,note\n"
             + "".join(f'{i},"${1000 + 250 * i:,.2f}",{i * 2.5}%,"{1000 * i:,}",{i:05d},'
                       f'{"about 5" if i == 3 else f"{chr(34)}{2000 * i:,}{chr(34)}"}\n'
                       for i in range(1, 9)))


def test_currency_percent_and_thousands_are_numbers(tmp_path):
    table = load_table(_write(tmp_path / "money.csv", FORMATTED))
    frame = table.frame
    assert frame["price"].tolist() == [1000.0 + 250 * i for i in range(1, 9)]
    assert frame["share"].tolist() == [2.5 * i for i in range(1, 9)]
    assert frame["count"].tolist() == [1000.0 * i for i in range(1, 9)]
    assert frame["note"].tolist()[2] == "about 5"  # not every value a number: left as text
    assert any("read in price, share, count" in n for n in table.notices)
    # The streamed sample (big files) reads them the same way.
    from thrifty_tui.core.data.sampling import sample_file

    sample, record = sample_file(tmp_path / "money.csv", 8)
    assert sample.sort_index()["price"].tolist() == frame["price"].tolist()
    assert any("read in price, share, count" in n for n in record.notices)


def test_utf8_bom_cp1252_and_utf16(tmp_path):
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + "city,x\nZürich,1\n".encode())
    assert list(load_table(bom).frame.columns) == ["city", "x"]
    legacy = _write(tmp_path / "legacy.csv", "city,x\nMálaga,1\n€uro,2\n", "cp1252")
    table = load_table(legacy)
    assert table.frame["city"].tolist() == ["Málaga", "€uro"]
    assert table.encoding == "cp1252"
    assert any("Windows-1252" in n for n in table.notices)
    wide = _write(tmp_path / "wide.csv", "city,x\nMálaga,1\n", "utf-16")
    assert load_table(wide).frame["city"].tolist() == ["Málaga"]


def test_a_late_non_utf8_byte_switches_the_whole_file_to_cp1252(tmp_path):
    text = "city,x\n" + "Paris,1\n" * 300_000 + "Málaga,2\n"  # past the 1 MiB sniffed head
    table = load_table(_write(tmp_path / "late.csv", text, "cp1252"))
    assert table.frame["city"].iloc[-1] == "Málaga"
    assert table.encoding == "cp1252" and table.rejected_rows == 0


def test_mixed_and_old_mac_line_ends(tmp_path):
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(b'a,b\n1,"x"\r\n2,y\n3,"z"\r\n')
    assert load_table(mixed).frame["b"].tolist() == ["x", "y", "z"]
    mac = tmp_path / "mac.csv"
    mac.write_bytes(b"a,b\r1,x\r2,y\r")
    assert load_table(mac).frame["a"].tolist() == [1, 2]


@pytest.mark.parametrize("suffix,compress", [
    (".csv.gz", gzip.compress), (".csv.bz2", bz2.compress), (".tsv.xz", lzma.compress),
])
def test_compressed_files(tmp_path, suffix, compress):
    text = GOOD.replace(",", "\t") if ".tsv" in suffix else GOOD
    path = tmp_path / f"data{suffix}"
    path.write_bytes(compress(text.encode()))
    assert load_table(path).frame.shape == (30, 4)


def test_zip_with_one_member_and_with_several(tmp_path):
    one = tmp_path / "one.zip"
    with zipfile.ZipFile(one, "w") as zf:
        zf.writestr("inner/data.csv", GOOD)
        zf.writestr("__MACOSX/._data.csv", "junk")
    assert load_table(one).frame.shape == (30, 4)
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as zf:
        zf.writestr("a.csv", GOOD)
        zf.writestr("b.csv", GOOD)
    with pytest.raises(DataError, match="holds 2 files"):
        load_table(two)


def test_a_gzip_file_named_csv_is_read_with_a_notice(tmp_path):
    path = tmp_path / "sneaky.csv"
    path.write_bytes(gzip.compress(GOOD.encode()))
    table = load_table(path)
    assert table.frame.shape == (30, 4) and "gzip" in table.notices[0]


def test_parquet_and_max_rows(tmp_path):
    frame = pd.DataFrame({"a": range(100), "b": [f"s{i}" for i in range(100)],
                          "t": pd.date_range("2024-01-01", periods=100)})
    path = tmp_path / "data.parquet"
    frame.to_parquet(path)
    table = load_table(path)
    assert table.format == "parquet"
    pd.testing.assert_frame_equal(table.frame, frame)
    assert len(load_table(path, max_rows=7).frame) == 7
    (tmp_path / "fake.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(DataError, match="not a readable Parquet file"):
        load_table(tmp_path / "fake.parquet")


def test_json_lines_and_json_arrays(tmp_path):
    lines = _write(tmp_path / "d.jsonl", '{"a": 1, "b": {"c": "x"}}\n\n{"a": 2, "tags": [1]}\n')
    frame = load_table(lines).frame
    assert frame["a"].tolist() == [1, 2] and frame["b.c"].iloc[0] == "x"
    assert frame["tags"].iloc[1] == "[1]"
    array = _write(tmp_path / "d.json", '[{"a": 1}, {"a": 2}, 3]')
    table = load_table(array)
    assert table.frame["a"].tolist() == [1, 2] and table.rejected_lines == (3,)


def test_xlsx_when_openpyxl_is_installed(tmp_path):
    pytest.importorskip("openpyxl")
    frame = pd.DataFrame({"a": [1, 2, 3], "label": ["x", "y", "x"]})
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path) as writer:
        frame.to_excel(writer, sheet_name="data", index=False)
        frame.to_excel(writer, sheet_name="other", index=False)
    table = load_table(path)
    pd.testing.assert_frame_equal(table.frame, frame, check_dtype=False)
    assert "first of 2 sheets" in table.notices[0]


def test_xlsx_without_openpyxl_says_what_to_install(tmp_path, monkeypatch):
    path = tmp_path / "book.xlsx"
    path.write_bytes(b"PK\x03\x04 whatever")
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # import fails as if not installed
    with pytest.raises(DataError, match="needs the openpyxl package"):
        load_table(path)


def test_pandas_index_column_is_dropped(tmp_path):
    path = tmp_path / "indexed.csv"
    pd.DataFrame({"a": [5, 6, 7]}).to_csv(path)  # writes ",a" then "0,5" …
    table = load_table(path)
    assert list(table.frame.columns) == ["a"] and "row index" in table.notices[0]


def test_max_rows_reads_the_head(tmp_path):
    path = _write(tmp_path / "d.csv", GOOD)
    assert load_table(path, max_rows=5).frame["id"].tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("name", ["ggplot2movies_movies", "stevedata_gss_wages",
                                  "modeldata_car_prices", "openintro_seattlepets"])
def test_real_files_load_as_pandas_reads_them(name):
    path = SHARED / f"{name}.csv.gz"
    if not path.exists():
        pytest.skip("shared data not available")
    table = load_table(path)
    pd.testing.assert_frame_equal(table.frame, pd.read_csv(path, low_memory=False))
    assert table.rejected_rows == 0 and table.notices == ()


def test_the_sampler_types_text_columns_like_pandas():
    # sample_file types DuckDB's text columns itself: it must agree with pandas.read_csv.
    path = SHARED / "ggplot2movies_movies.csv.gz"
    if not path.exists():
        pytest.skip("shared data not available")
    plan = csvscan.plan_csv(path, "gzip", ".csv")
    try:
        table, _, plan = csvscan.run_scan(plan, "SELECT * FROM {src} LIMIT 3000")
    finally:
        plan.close()
    typed = csvscan.typed_frame(table, plan.names)
    pd.testing.assert_frame_equal(typed, pd.read_csv(path, nrows=3000))
    extra = pd.DataFrame({"b": ["True", "false", None], "n": [" 5", "+6", None]})
    import pyarrow as pa

    typed = csvscan.typed_frame(pa.Table.from_pandas(extra.astype(object)), ("b", "n"))
    assert typed["b"].tolist() == [True, False, None] or typed["b"].isna().iloc[2]
    assert typed["n"].tolist()[:2] == [5.0, 6.0]


def test_source_fingerprint_hashes_content_or_blocks(tmp_path):
    path = _write(tmp_path / "d.csv", GOOD)
    a = source_fingerprint(path)
    assert a.hashed == "content" and a.size == path.stat().st_size
    _write(path, GOOD.replace("y", "Y"))
    assert source_fingerprint(path).sha256 != a.sha256
    big = source_fingerprint(path, whole_below=10, blocks=4, block=16)
    assert big.hashed.startswith("4 blocks")


# -- bad input ----------------------------------------------------------------------------------

FATAL = {  # fixture -> words of its one-line message (load_table and CLI alike)
    "empty.csv": "is empty",
    "blank_lines.csv": "is empty",
    "header_only.csv": "has a header but no rows",
    "binary.csv": "binary file",
    "table.xyz": "unsupported file type .xyz",
    "ragged_all.csv": "no row of ragged_all.csv matches its header's 3 fields",
    "wrong_encoding.csv": "neither UTF-8 nor Windows-1252",
    "utf16_no_bom.csv": "UTF-16 text without a byte-order mark",
    "duplicate_names.csv": "column name 'id' is used twice (columns 1 and 3)",
    "empty_name.csv": "column 2 has no name",
    "too_many_columns.csv.gz": "has 25,000 columns; thrifty-tui reads at most 20,000",
    "a_directory.csv": "is a directory",
}
TARGET_FATAL = {  # loaded fine; the target makes the problem unusable
    "one_class.csv": "target 'x' has only one class",
    "all_missing_target.csv": "target 'x' has no values",
}


def test_fixtures_match_their_generator():
    sys.path.insert(0, str(BAD.parent))
    from make_fixtures import fixtures

    for name, content in fixtures().items():
        assert (BAD / name).read_bytes() == content, f"run tests/fixtures/make_fixtures.py ({name})"


@pytest.mark.parametrize("name", sorted(FATAL))
def test_bad_input_gives_one_clear_data_error(name):
    with pytest.raises(DataError) as info:
        load_table(BAD / name)
    message = str(info.value)
    assert FATAL[name] in message
    assert "\n" not in message and len(message) < 300


@pytest.mark.parametrize("name", sorted(set(FATAL) - {"ragged_all.csv"}))
def test_precheck_refuses_them_from_the_first_bytes(name):
    with pytest.raises(DataError) as info:
        precheck(BAD / name)
    assert FATAL[name] in str(info.value)


def test_precheck_passes_good_files_and_stays_light(tmp_path):
    for name in ("ragged_some.csv", "latin1.csv", "many_columns.csv", "huge_field.csv.gz",
                 "bad_lines.jsonl", "ragged_all.csv"):
        assert precheck(BAD / name) == BAD / name
    code = ("import sys; from thrifty_tui.core.data.sniff import precheck; "
            f"precheck({str(BAD / 'ragged_some.csv')!r}); "
            "print([m for m in ('pandas', 'numpy', 'duckdb') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=BAD.parents[2])
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name", sorted(TARGET_FATAL))
def test_target_problems_are_data_errors(name):
    frame = load_table(BAD / name).frame
    with pytest.raises(DataError, match=TARGET_FATAL[name]):
        make_problem(frame, "x")


def test_ragged_rows_are_reported_with_their_lines_not_padded():
    table = load_table(BAD / "ragged_some.csv")
    assert table.rejected_rows == 3 and table.rejected_lines == (6, 10, 21)
    assert len(table.frame) == 37 and not table.frame.isna().any().any()
    assert "lines 6, 10, 21" in table.notices[-1].replace("line(s)", "lines")
    assert "too many fields" in table.notices[-1] and "too few fields" in table.notices[-1]


def test_thousands_of_columns_and_huge_fields_load():
    wide = load_table(BAD / "many_columns.csv")
    assert wide.frame.shape == (12, 3001)
    huge = load_table(BAD / "huge_field.csv.gz")
    assert huge.frame["text"].str.len().max() > 5_000_000
    over = load_table(BAD / "huge_line.csv.gz")  # one row over 16 MB: set aside, reported
    assert over.frame["id"].tolist() == [0, 2] and over.rejected_lines == (3,)


def test_other_fixtures_load_with_notices():
    assert load_table(BAD / "latin1.csv").frame["city"].tolist()[-1] == "€uro"
    assert load_table(BAD / "with_bom.csv").frame.columns[0] == "id"
    jsonl = load_table(BAD / "bad_lines.jsonl")
    assert jsonl.rejected_lines == (2, 3) and jsonl.frame["id"].tolist() == [1, 3]


def test_no_read_permission(tmp_path, monkeypatch):
    path = _write(tmp_path / "secret.csv", GOOD)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p) == str(path)
                        else real_access(p, mode, **kw))
    with pytest.raises(DataError, match="permission denied"):
        load_table(path)


def test_loaded_table_keeps_its_first_fields():
    table = LoadedTable(frame=pd.DataFrame({"a": [1]}), source="s", fingerprint="f")
    assert table.notices == () and table.rejected_rows == 0 and table.rejected_lines == ()


# -- the same bad input through the CLI ---------------------------------------------------------

DENY = """
import builtins, os
_access, _open = os.access, builtins.open
def _denied(p):
    return str(p).endswith("secret.csv")
os.access = lambda p, mode, **kw: False if _denied(p) else _access(p, mode, **kw)
def _guarded(p, *a, **kw):
    if _denied(p):
        raise PermissionError(13, "Permission denied", str(p))
    return _open(p, *a, **kw)
builtins.open = _guarded
"""


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory):
    """``thrifty-tui run FIXTURE --target x`` for every fatal fixture, a few at a time."""
    folder = tmp_path_factory.mktemp("cli")
    secret = folder / "secret.csv"
    secret.write_text(GOOD)
    jobs = {name: ((str(BAD / name), "--target", "x", "--workspace", "ws"), "")
            for name in {**FATAL, **TARGET_FATAL}}
    if os.geteuid() == 0:  # root reads anything: deny this one file inside the process
        jobs["secret.csv"] = ((str(secret), "--target", "x", "--workspace", "ws"), DENY)
    else:
        secret.chmod(0)
        jobs["secret.csv"] = ((str(secret), "--target", "x", "--workspace", "ws"), "")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(thrifty, "run", *args, cwd=folder, prelude=prelude)
                   for name, (args, prelude) in jobs.items()}
        return {name: f.result() for name, f in futures.items()}


@pytest.mark.parametrize("name", sorted({**FATAL, **TARGET_FATAL, "secret.csv": ""}))
def test_cli_run_exits_2_with_one_line(cli_runs, name):
    proc = cli_runs[name]
    assert proc.returncode == 2, proc.stderr
    line = one_error_line(proc.stderr)
    expected = {**FATAL, **TARGET_FATAL, "secret.csv": "permission denied"}[name]
    assert expected in line
    assert proc.stdout == ""


@pytest.mark.parametrize("name,note", [
    ("ragged_some.csv", "skipped 3 malformed row(s)"),
    ("latin1.csv", "Windows-1252"),
    ("huge_line.csv.gz", "a row over 16 MB"),
    ("many_columns.csv", "3001 columns"),
    ("huge_field.csv.gz", "3 columns"),
])
def test_cli_profile_reads_the_files_that_work(capsys, name, note):
    assert data_cli(["profile", str(BAD / name), "--target", "x"]) == 0
    out = capsys.readouterr()
    assert note in out.out and out.err == ""


@pytest.mark.parametrize("name", sorted(FATAL))
def test_cli_profile_bad_input(capsys, name):
    assert data_cli(["profile", str(BAD / name)]) == 2
    assert FATAL[name] in one_error_line(capsys.readouterr().err)


def test_cli_usage_errors_are_one_line(capsys):
    assert data_cli(["sample", str(BAD / "ragged_some.csv"), "--rows", "0", "-o", "x.csv"]) == 2
    assert "positive" in one_error_line(capsys.readouterr().err)
    assert data_cli(["sample", str(BAD / "ragged_some.csv"), "--rows", "5", "-o", "x.txt"]) == 2
    assert ".csv or .parquet" in one_error_line(capsys.readouterr().err)

