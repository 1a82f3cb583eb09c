"""A budget shorter than the file's preparation: births x 3 (1,000,000 rows, 48 MB of CSV)
screened with --budget 6 (issue 18, acceptance 4).

Run: python benchmarks/million_rows.py [--budget 6] [--rows 1000000]

Prints the exit code, the model, the stop reason and the wall from the process's start, with
the load average; the file is made once under benchmarks/_data/ (gitignored).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO.parent / "shared" / "data" / "mosaicData_Birthdays.csv.gz"
WORK = REPO / "benchmarks" / "_data" / "million_rows"


def make_file(rows: int) -> Path:
    """``births`` repeated until ``rows`` rows (the same rows again: a big, plain file)."""
    out = WORK / f"births_{rows}.csv"
    if out.exists():
        return out
    WORK.mkdir(parents=True, exist_ok=True)
    with gzip.open(SOURCE, "rt") as src:
        header, body = src.readline(), src.readlines()
    with open(out, "w") as fh:
        fh.write(header)
        for i in range(rows):
            fh.write(body[i % len(body)])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=6.0)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    path = make_file(args.rows)
    workspace = WORK / "workspace"
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "thrifty_tui", "run", str(path), "--target",
                           "wday", "--budget", str(args.budget), "--json", "--workspace",
                           str(workspace)], capture_output=True, text=True, cwd=REPO, check=False)
    wall = time.monotonic() - started
    done = [json.loads(line) for line in proc.stdout.splitlines()
            if line.startswith("{") and '"event": "run_finished"' in line]
    finished = done[-1] if done else {}
    print(f"file: {path.name} ({path.stat().st_size / 2**20:.0f} MB), budget {args.budget:g} s, "
          f"load {os.getloadavg()[0]:.1f}")
    print(f"exit {proc.returncode}; model {finished.get('best_model') or '-'}; "
          f"wall {wall:.1f} s ({wall / args.budget:.2f} x budget)")
    print(f"stop reason: {finished.get('stop_reason', proc.stderr.strip()[-300:])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
