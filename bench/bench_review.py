"""The nightly credit review at scale, measured in one run against a baseline measured on the same data.

    .venv/bin/python bench/bench_review.py [--customers 100000] [--seed 7] [--reads-only] [--keep DIR]

Generates the demo company (`kamflow.demo_data.generate`, about 10 invoices per customer) into a fresh
SQLite database (--keep DIR: the one generated in DIR/<customers>-<seed> by an earlier run with --keep, else
generated there now; migrated to the latest schema; delete it when the demo company changes), copies it, then
prints:
  - the baseline: one bare SQL ageing query over every customer plus plain-Python dunning decisions;
  - starting the review, which moves the ledger's running figures' windows to its date (`kamflow.figures.roll`;
    the first time, every customer), and the next night's move (only the customers with sales or payments on the
    day that leaves a window);
  - the review's reads alone (`review.read.read_ahead` over the shard, nothing decided or written), from the
    running figures: the facts the review needs beyond the baseline's (holds, sales for DSO, open orders, payment
    behaviour, promises, statements, dunning state, the previous review), a floor under the review's own time,
    as a ratio to the baseline (goal <= 1.5); --reads-only stops here;
  - the whole review flow (`nightly-credit-review`, in-process under Prefect's test harness, 1 shard): its
    time, the ratio to the baseline (goal <= 2) and to the review's reads alone (goal <= 2), and the peak memory
    of this process (goal <= 500 MB; the Prefect server runs in its own process and is not counted);
  - a floor under the review's writes: the rows that night stored (customer reviews, collection tasks, their audit
    events) inserted bare into empty tables of a fresh database, and the whole flow as a ratio to the reads plus
    those bare writes;
  - the night after on the same copy, as every later night runs: its reads, and the whole flow against them;
  - the same first night with 2 shards on 2 workers, on the untouched copy, as the schedule runs it: two
    `kamflow worker` processes serve every deployment (as in production); the review is a run of its
    deployment that one worker takes and reviews shard 0 itself, shard 1 is a run of `credit-review-shard`
    that the other takes, so the shards run on both cores. Each run's wait for a worker and run time follow.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from prefect import flow, get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.testing.utilities import prefect_test_harness
from sqlalchemy import Select, case, cast, create_engine, func, select
from sqlalchemy.orm import Session

from flows.review import nightly_credit_review
from kamflow import figures, ledger, migrate
from kamflow.db import dispose_engines, get_engine, unit_of_work
from kamflow.demo_data import generate
from kamflow.models import Base, Money
from kamflow.review import read, service
from kamflow.review.dunning import Policy, load_policy
from kamflow.review.tables import CollectionTask
from kamflow.settings import Settings, use_settings

AS_OF = dt.date(2026, 3, 16)
TRIES = 3
"""The baseline and the reads alone are each timed this many times, the fastest kept: a shared machine's noise."""


def reset_peak() -> None:
    """Linux: start measuring this process's peak resident memory afresh."""
    Path("/proc/self/clear_refs").write_text("5")


def peak_mb() -> float:
    status = Path("/proc/self/status").read_text()
    hwm = next((line for line in status.splitlines() if line.startswith("VmHWM:")), None)
    if hwm is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return int(hwm.split()[1]) / 1024


def ageing_query(policy: Policy) -> Select[Any]:
    """The bare ageing query: open amount per customer by bucket, and the oldest overdue due date."""
    bal = ledger.invoice_balances(AS_OF, open_only=True).subquery()
    columns: list[Any] = [bal.c.customer_id]
    for bucket in policy.ageing:
        earliest, latest = bucket.due_window(AS_OF)
        due = bal.c.due_date <= latest if earliest is None else bal.c.due_date.between(earliest, latest)
        columns.append(cast(func.coalesce(func.sum(case((due, bal.c.open_amount))), 0), Money))
    columns.append(func.min(case((bal.c.due_date < AS_OF, bal.c.due_date))))
    return select(*columns).group_by(bal.c.customer_id)


def baseline(settings: Settings, policy: Policy) -> tuple[float, int]:
    """Bare SQL ageing plus plain-Python decisions: the level each customer's oldest overdue invoice
    reaches, stop shipments beyond the serious days, nothing stored."""
    start = time.perf_counter()
    with get_engine(settings).connect() as connection:
        rows = connection.execute(ageing_query(policy)).all()
    first = policy.levels[0].days
    acted = 0
    for row in rows:
        *buckets, oldest = row[1:]
        overdue = sum(buckets, Decimal(0))
        days = (AS_OF - oldest).days if oldest else 0
        level = 1 if overdue > policy.tolerance and days >= first else 0
        block = level and days > policy.serious_overdue_days
        acted += bool(level or block)
    return time.perf_counter() - start, acted


def start_review(data_dir: Path, day: dt.date = AS_OF) -> float:
    """Start the review of `day` (the flow reopens it): its time is mostly moving the running figures' windows to
    `day` (`kamflow.figures.roll`), the first time for every customer (the demo's figures keep no window)."""
    use_settings(Settings(data_dir=data_dir))
    dispose_engines()
    start = time.perf_counter()
    with unit_of_work() as session:
        service.start_review(session, as_of=day, shards=1, now=dt.datetime.now(dt.UTC))
    return time.perf_counter() - start


def next_roll(policy: Policy) -> tuple[float, int]:
    """Moving the windows on by one night, as the next night's review does (rolled back): it recomputes only the
    customers with sales or payments on the day that leaves a window."""
    start = time.perf_counter()
    with unit_of_work() as session:
        moved = figures.roll(session, read.windows(AS_OF + dt.timedelta(days=1), policy))
        session.rollback()
    return time.perf_counter() - start, moved


def reads_alone(data_dir: Path, day: dt.date = AS_OF) -> tuple[float, int]:
    """The review's reads over every customer (one shard), batch by batch as the review reads them (from the
    running figures); the review of `day` is started (`start_review`)."""
    use_settings(Settings(data_dir=data_dir))
    dispose_engines()
    now = dt.datetime.now(dt.UTC)
    start = time.perf_counter()
    with unit_of_work() as session:
        run = service.prepare(session, service.get_review(session, day), now=now)
        with closing(read.read_ahead(session, run, shard=0, shards=1)) as batches:
            customers = sum(len(batch.rows) for batch in batches)
    seconds = time.perf_counter() - start
    dispose_engines()
    return seconds, customers


def review_flow(data_dir: Path, shards: int, day: dt.date = AS_OF) -> tuple[float, float, int]:
    settings = Settings(data_dir=data_dir)
    use_settings(settings)
    dispose_engines()
    reset_peak()
    start = time.perf_counter()
    outcome = nightly_credit_review(business_date=day, shards=shards)
    seconds = time.perf_counter() - start
    dispose_engines()
    return seconds, peak_mb(), sum(outcome.tasks.values())


NIGHT = {
    "customer_reviews": "",
    "collection_tasks": "",
    "audit_events": "WHERE subject_type = 'collection_task'",
}
"""What the review stores for a night (this copy holds one): a row per customer, the collection tasks it decided,
and their audit events; the dunning states and promises it moves are few."""


def bare_writes(data_dir: Path) -> tuple[float, int]:
    """A floor under the review's writes: the rows the night stored (`NIGHT`), read back as the driver gives them
    and inserted in a fresh database into empty tables of the same schema and indexes, one executemany per table,
    best of TRIES. SQLite's own cost of what the review stores: no Python builds a row, no foreign key is
    checked."""
    tables = [Base.metadata.tables[name] for name in NIGHT]
    columns = {table.name: ", ".join(column.name for column in table.columns) for table in tables}
    with get_engine(Settings(data_dir=data_dir)).connect() as source:
        night = {
            name: [tuple(row) for row in source.exec_driver_sql(f"SELECT {columns[name]} FROM {name} {where}")]
            for name, where in NIGHT.items()
        }
    dispose_engines()
    tries = []
    for _ in range(TRIES):
        with tempfile.TemporaryDirectory() as folder:
            engine = create_engine(f"sqlite:///{folder}/floor.db")
            Base.metadata.create_all(engine, tables=tables)
            with engine.connect() as target:
                target.exec_driver_sql("PRAGMA journal_mode=WAL")  # as kamflow's own connections
                start = time.perf_counter()
                for table in tables:
                    marks = ", ".join("?" * len(table.columns))
                    insert = f"INSERT INTO {table.name} ({columns[table.name]}) VALUES ({marks})"
                    target.exec_driver_sql(insert, night[table.name])
                target.commit()
                tries.append(time.perf_counter() - start)
            engine.dispose()
    return min(tries), sum(len(rows) for rows in night.values())


@contextmanager
def two_workers(data_dir: Path) -> Iterator[None]:
    """Two `kamflow worker`s (one run at a time each), as in production, serving every deployment with kamflow on
    `data_dir` and the bench's Prefect server (no deadlines sweep meanwhile); stopped on leaving."""
    api = str(PREFECT_API_URL.value())
    env = {
        **os.environ,
        "PREFECT_API_URL": api,
        "KAMFLOW_PREFECT_API_URL": api,
        "KAMFLOW_DATA_DIR": str(data_dir),
        "KAMFLOW_DEADLINE_SWEEP_SECONDS": "86400",
    }
    kamflow = str(Path(sys.executable).parent / "kamflow")
    workers = [
        subprocess.Popen(
            [kamflow, "worker", "--limit", "1"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in (1, 2)
    ]
    try:
        for worker in workers:  # both serving before the clock starts
            assert worker.stdout is not None
            ready = worker.stdout.readline()
            assert ready.startswith("kamflow worker: "), f"a worker did not start: {ready!r}"
        yield
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()


def review_on_workers(settings: Settings, shards: int) -> tuple[float, int, list[FlowRun]]:
    """The review as the schedule runs it: a run of its deployment that a worker takes; it reviews shard 0
    and starts the other shards as runs that the other worker takes. Time from asking to completion."""
    start = time.perf_counter()
    run = run_deployment(
        f"{service.PROCESS}/{service.PROCESS}",
        parameters={"business_date": AS_OF.isoformat(), "shards": shards},
        timeout=None,
        poll_interval=0.5,
        as_subflow=False,
    )
    seconds = time.perf_counter() - start
    assert isinstance(run, FlowRun) and run.state is not None and run.state.is_completed(), run
    with Session(get_engine(settings)) as session:
        tasks = session.scalar(select(func.count()).where(CollectionTask.business_date == AS_OF)) or 0
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(like_="credit-review-")))
    mine = [r for r in runs if r.created and run.created and r.created >= run.created]  # not the earlier review's
    return seconds, tasks, sorted(mine, key=lambda r: r.name)


def show_runs(runs: list[FlowRun]) -> None:
    """Each run's moments in seconds after the review was asked for (`runs[0]`, as `review_on_workers` sorts
    them): created, pending (a deployment run: taken by a worker), running, ended."""
    asked = runs[0].created
    with get_client(sync_client=True) as client:
        for run in runs:
            pending = next((s.timestamp for s in client.read_flow_run_states(run.id) if s.is_pending()), None)
            created, taken, started, ended = (
                (moment - asked).total_seconds() if moment and asked else float("nan")
                for moment in (run.created, pending, run.start_time, run.end_time)
            )
            print(
                f"  {run.name}: created +{created:.1f} s, pending +{taken:.1f} s, "
                f"running from +{started:.1f} s to +{ended:.1f} s"
            )


def whole_flow(one: Path, two: Path, base: float, reads: float) -> None:
    """The whole review flow, 1 shard in-process on `one`, then 2 shards on 2 workers on `two`."""
    took, peak, tasks = review_flow(one, shards=1)
    print(
        f"review flow, 1 shard: {took:.1f} s = {took / base:.1f}x the baseline (goal <= 2) = {took / reads:.1f}x "
        f"its reads (goal <= 2), peak {peak:.0f} MB (goal <= 500), {tasks:,} collection tasks"
    )
    writes, rows = bare_writes(one)
    floor = reads + writes
    print(
        f"the night's {rows:,} rows (customer reviews, collection tasks, their audit events) inserted bare: "
        f"{writes:.1f} s = {writes / reads:.1f}x the reads; the review's reads and bare writes {floor:.1f} s, "
        f"the whole flow {took / floor:.1f}x that"
    )
    next_night(one)
    with two_workers(two):
        took2, tasks2, runs = review_on_workers(Settings(data_dir=two), shards=2)
    print(
        f"review flow, 2 shards on 2 workers: {took2:.1f} s = {took2 / base:.1f}x the baseline, "
        f"{tasks2:,} collection tasks; the runs (their processes' memory is not counted):"
    )
    show_runs(runs)


def next_night(data_dir: Path) -> None:
    """The night after, on the same copy: the windows move on a day, the reads are timed again, and the flow
    reviews every customer and makes only the tasks that night adds (an open one is not repeated)."""
    day = AS_OF + dt.timedelta(days=1)
    start_review(data_dir, day)
    reads, _customers = min(reads_alone(data_dir, day) for _ in range(TRIES))
    took, _peak, tasks = review_flow(data_dir, shards=1, day=day)
    print(
        f"the next night, 1 shard: {took:.1f} s = {took / reads:.1f}x its reads ({reads:.1f} s), {tasks:,} new "
        "collection tasks"
    )


def generate_company(data_dir: Path, customers: int, seed: int) -> None:
    data_dir.mkdir()
    settings = Settings(data_dir=data_dir)
    migrate.upgrade(settings)
    start = time.perf_counter()
    made = generate(get_engine(settings), customers=customers, seed=seed, today=AS_OF)
    print(
        f"generated {made.customers:,} customers, {made.invoices:,} invoices, {made.payments:,} payments, "
        f"{made.orders:,} orders in {time.perf_counter() - start:.0f} s (SQLite, {data_dir})"
    )
    dispose_engines()


@flow
def warm_up() -> None:
    """Prefect's first flow run in a process pays its start-up; not the review's cost."""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reads-only", action="store_true", help="Stop after the review's reads.")
    parser.add_argument("--keep", type=Path, help="Reuse (or keep) the generated company in this directory.")
    args = parser.parse_args()
    # A worker stops on SIGTERM by raising SIGINT, which a shell's background job (and so its children) starts
    # with ignored (ARCHITECTURE.md): handled here, it is no longer ignored in the workers started below.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    root = Path(tempfile.mkdtemp(prefix="kamflow-bench-review-"))
    one, two = root / "one", root / "two"
    kept = args.keep / f"{args.customers}-{args.seed}" if args.keep else None
    if kept and kept.exists():
        shutil.copytree(kept, one)
        print(f"the company generated in {kept} (SQLite, {root})")
    else:
        generate_company(one, args.customers, args.seed)
        if kept:
            shutil.copytree(one, kept)
    settings = Settings(data_dir=one)
    migrate.upgrade(settings)
    dispose_engines()
    shutil.copytree(one, two)
    policy = load_policy()

    with (
        prefect_test_harness(server_startup_timeout=120),
        temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        warm_up()
        reset_peak()
        base, acted = min(baseline(settings, policy) for _ in range(TRIES))
        base_peak = peak_mb()
        print(
            f"baseline, bare SQL ageing + plain-Python decisions: {base:.1f} s, peak {base_peak:.0f} MB, "
            f"{acted:,} customers acted on"
        )
        opened = start_review(one)
        rolled, moved = next_roll(policy)
        print(
            f"starting the review, the running figures' windows moved to {AS_OF} for every customer: "
            f"{opened:.1f} s; the next night's move: {rolled:.2f} s, {moved:,} customers recomputed"
        )
        reads, customers = min(reads_alone(one) for _ in range(TRIES))
        print(
            f"the review's reads alone, from the running figures: {reads:.1f} s = {reads / base:.2f}x the "
            f"baseline (goal <= 1.5), {customers:,} customers"
        )
        if not args.reads_only:
            whole_flow(one, two, base, reads)
    shutil.rmtree(root)


if __name__ == "__main__":
    main()
