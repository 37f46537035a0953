"""Importing invoices through the real CLI: rows per second and peak memory, with a bad last row importing nothing.

    .venv/bin/python bench/bench_import.py [--rows 1000000] [--customers 50]

In a scratch data folder: `kamflow init --demo --customers N` (the demo company's people and customers), then a
CSV of `--rows` invoices written row by row (the customers in turn), then, each in a process of its own whose peak
resident memory is read back from the kernel (wait4):
  - `kamflow import invoices` of the whole file (the goal: peak memory ≤ 200 MB at 1,000,000 rows);
  - the same file with its last row bad: exit 2, the bad row named, and not one invoice more in the database;
  - the baseline: Python's csv module and sqlite3's executemany straight into the invoices table of a copy of the
    database, no checks (the floor for reading and writing these rows).
It prints rows/s and peak memory of each, and the import's time against the baseline's.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

HEADER = ["number", "customer", "issue_date", "due_date", "amount"]
BASELINE = """
import csv, sqlite3, sys
with open(sys.argv[1], newline="", encoding="utf-8") as handle, sqlite3.connect(sys.argv[2]) as db:
    ids = dict(db.execute("SELECT code, id FROM customers"))
    rows = csv.reader(handle)
    next(rows)
    db.executemany(
        "INSERT INTO invoices (number, customer_id, issue_date, due_date, amount, currency, disputed)"
        " VALUES (?, ?, ?, ?, ?, 'EUR', 0)",
        ((n, ids[c], i, d, a) for n, c, i, d, a in rows),
    )
"""


def write_csv(path: Path, rows: int, customers: int, *, bad_last: bool = False) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        for i in range(1, rows + 1):
            amount = "-1.00" if bad_last and i == rows else f"{100 + i % 9000}.{i % 100:02d}"
            out.writerow([f"BI-{i:08d}", f"C{1 + i % customers:04d}", "2026-01-10", "2026-02-09", amount])


def run(command: list[str], env: dict[str, str], log: Path) -> tuple[int, float, float]:
    """Exit code, seconds and peak resident memory (MB) of a command run in a process of its own."""
    start = time.perf_counter()
    with log.open("wb") as out:
        child = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
    return os.waitstatus_to_exitcode(status), time.perf_counter() - start, usage.ru_maxrss / 1024


def invoices_in(database: Path) -> int:
    with closing(sqlite3.connect(database)) as db:
        return int(db.execute("SELECT count(*) FROM invoices").fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=50)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="kamflow-bench-import-"))
    env = {**os.environ, "KAMFLOW_DATA_DIR": str(folder / "data"), "KAMFLOW_MAX_CSV_BYTES": str(1 << 30)}
    kamflow = [sys.executable, "-m", "kamflow.app.cli"]
    try:
        code, _, _ = run(
            [*kamflow, "init", "--demo", "--customers", str(args.customers)], env, folder / "init.log"
        )
        assert code == 0, (folder / "init.log").read_text()
        database = folder / "data" / "kamflow.db"
        good, bad = folder / "invoices.csv", folder / "invoices-bad.csv"
        write_csv(good, args.rows, args.customers)
        write_csv(bad, args.rows, args.customers, bad_last=True)
        size = good.stat().st_size / 1e6
        print(f"{args.rows:,} invoices, {size:.0f} MB of CSV, {args.customers} customers")
        before = invoices_in(database)

        code, bad_s, bad_mb = run(
            [*kamflow, "import", "invoices", str(bad), "--as", "hr"], env, folder / "bad.log"
        )
        named = f"line {args.rows + 1}, amount" in (folder / "bad.log").read_text()
        assert code == 2 and named and invoices_in(database) == before, (folder / "bad.log").read_text()[-2000:]
        print(
            f"bad last row:  exit 2, line {args.rows + 1} named, nothing imported; {bad_s:.1f} s, "
            f"peak {bad_mb:.0f} MB"
        )

        copy = folder / "baseline.db"
        shutil.copy(database, copy)
        code, base_s, base_mb = run(
            [sys.executable, "-c", BASELINE, str(good), str(copy)], env, folder / "base.log"
        )
        assert code == 0, (folder / "base.log").read_text()

        code, s, mb = run([*kamflow, "import", "invoices", str(good), "--as", "hr"], env, folder / "good.log")
        assert code == 0 and invoices_in(database) == before + args.rows, (folder / "good.log").read_text()[-2000:]
        print(f"import:        {args.rows / s:,.0f} rows/s ({s:.1f} s), peak {mb:.0f} MB (goal: ≤ 200 MB)")
        print(
            f"baseline:      {args.rows / base_s:,.0f} rows/s ({base_s:.1f} s), peak {base_mb:.0f} MB "
            "(csv + sqlite3)"
        )
        print(f"import / baseline time: {s / base_s:.1f}×")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
