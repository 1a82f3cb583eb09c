"""One pass over a text file's bytes: is it UTF-8, where are the bytes that are not, where are
the NUL bytes (standard library only).

The first MiB cannot decide for the whole file: one character cut at the very end made a
UTF-8 file read as Windows-1252 ("café" became "cafÃ©"), and a bad byte after the first MiB
was refused without a line. This pass reads every byte once (decompressed), so the decision
is made on the whole file and every note can name lines.
"""

from __future__ import annotations

import codecs
import threading
from collections.abc import Iterable
from dataclasses import dataclass

BLOCK_BYTES = 8 << 20
SHOWN_LINES = 5  # lines named in a note; the count says how many more


@dataclass(frozen=True)
class TextReport:
    """What a full pass found: bad UTF-8 sequences and NUL bytes (count and first lines),
    and how many characters were well-formed UTF-8 beyond ASCII."""

    bad_count: int = 0
    bad_lines: tuple[int, ...] = ()
    nul_count: int = 0
    nul_lines: tuple[int, ...] = ()
    multibyte: int = 0

    @property
    def is_utf8(self) -> bool:
        """UTF-8 with at most a few damaged bytes: more well-formed non-ASCII characters than
        bad sequences, or no non-ASCII byte that is bad at all. A file in another encoding
        has (nearly) no well-formed multibyte sequence: its accents are all bad bytes."""
        return self.bad_count == 0 or self.multibyte > self.bad_count


def _lines(found: list[int], count: int) -> str:
    shown = ", ".join(map(str, found[:SHOWN_LINES]))
    more = f" and {count - SHOWN_LINES} more" if count > SHOWN_LINES else ""
    return f"line{'s' if count > 1 else ''} {shown}{more}"


def bad_bytes_note(name: str, report: TextReport) -> str:
    """The note for a UTF-8 file read with its bad bytes replaced."""
    return (f"{name}: {report.bad_count} invalid UTF-8 byte sequence(s) replaced with "
            f"\N{REPLACEMENT CHARACTER} on {_lines(list(report.bad_lines), report.bad_count)}")


def nul_note(name: str, report: TextReport) -> str:
    """The note for NUL bytes found in a text file (kept in the values they are in)."""
    return (f"{name}: {report.nul_count} NUL byte(s) on "
            f"{_lines(list(report.nul_lines), report.nul_count)}; a text file should "
            "have none (a damaged or binary export?)")


class _Scan:
    """Running state of one pass: line count so far, findings."""

    def __init__(self) -> None:
        self.lines_before = 0  # newlines in the blocks already scanned
        self.bad_count = 0
        self.bad_lines: list[int] = []
        self.nul_count = 0
        self.nul_lines: list[int] = []
        self.multibyte = 0
        self.block = b""

    def on_error(self, err: UnicodeDecodeError) -> tuple[str, int]:
        """Codec error handler: note the bad sequence's line, replace it."""
        self.bad_count += 1
        if len(self.bad_lines) < SHOWN_LINES:
            line = self.lines_before + self.block.count(b"\n", 0, max(0, err.start)) + 1
            if line not in self.bad_lines:
                self.bad_lines.append(line)
        return "\ufffd", err.end

    def nuls(self, block: bytes) -> None:
        count = block.count(b"\x00")
        if not count:
            return
        self.nul_count += count
        at = block.find(b"\x00")
        while at >= 0 and len(self.nul_lines) < SHOWN_LINES:
            line = self.lines_before + block.count(b"\n", 0, at) + 1
            if line not in self.nul_lines:
                self.nul_lines.append(line)
            at = block.find(b"\x00", at + 1)


_ACTIVE = threading.local()  # the scan a decode error belongs to, per thread


def _handler(err: UnicodeError) -> tuple[str, int]:
    scan = getattr(_ACTIVE, "scan", None)
    if not isinstance(err, UnicodeDecodeError) or scan is None:
        raise err
    return scan.on_error(err)


codecs.register_error("thrifty-text-scan", _handler)


def scan_blocks(blocks: Iterable[bytes]) -> TextReport:
    """Scan a file given as consecutive blocks of its bytes (any split)."""
    scan = _Scan()
    decoder = codecs.getincrementaldecoder("utf-8")(errors="thrifty-text-scan")
    outer, _ACTIVE.scan = getattr(_ACTIVE, "scan", None), scan
    try:
        for block in blocks:
            scan.block = block
            scan.nuls(block)
            text = decoder.decode(block)
            # Characters beyond ASCII that decoded well (the replacements aside).
            scan.multibyte += len(text) - len(text.encode("ascii", "ignore")) - \
                text.count("\ufffd")
            scan.lines_before += block.count(b"\n")
        scan.block = b""
        decoder.decode(b"", final=True)  # a sequence cut by the end of the file
    finally:
        _ACTIVE.scan = outer
    return TextReport(bad_count=scan.bad_count, bad_lines=tuple(scan.bad_lines),
                      nul_count=scan.nul_count, nul_lines=tuple(scan.nul_lines),
                      multibyte=max(0, scan.multibyte))


def scan_stream(stream: object, block_bytes: int = BLOCK_BYTES) -> TextReport:
    """Scan a binary stream (``read(n)``) to its end."""
    read = stream.read  # type: ignore[attr-defined]

    def blocks() -> Iterable[bytes]:
        while True:
            block = read(block_bytes)
            if not block:
                return
            yield block

    return scan_blocks(blocks())


def whole_file_encoding(name: str, raw: object) -> tuple[str, list[str], TextReport]:
    """'utf-8' or 'cp1252' judged on every byte of the stream ``raw`` (the file ``name``,
    decompressed), the notes (bad bytes replaced, NUL bytes, another encoding), and the scan.
    Windows-1252 only when the file as a whole is not UTF-8: one cut or damaged character
    must not turn every "café" into "cafÃ©"."""
    report = scan_stream(raw)
    notices = [nul_note(name, report)] if report.nul_count else []
    if report.is_utf8:
        if report.bad_count:
            notices.append(bad_bytes_note(name, report))
        return "utf-8", notices, report
    line = report.bad_lines[0] if report.bad_lines else 1
    notices.append(f"{name} is not UTF-8 (line {line}); read it as Windows-1252 (cp1252)")
    return "cp1252", notices, report
