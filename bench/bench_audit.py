"""The nightly review's audit writes with the hash chain against without, measured in one run.

    .venv/bin/python bench/bench_audit.py [--events 57000] [--batch 1100] [--postgres URL] [--customers 5000]

On a fresh SQLite database at Alembic head (and on PostgreSQL when a URL is given: a scratch database is made
and dropped), writes `--events` collection-task events as the review does, in batches of `--batch` (a batch of
2,000 customers makes about 1,100), one transaction a batch:
  - chained: `audit.record_many` (canonical content, the head's lock, chained hashes, one insert);
  - plain: the same rows with `db.insert_many`, the path the review took before the chain (seq and hash given
    as constants, so the insert itself is the same size).
Each is run twice, alternating, and the better time kept. It prints both times, the ratio of the writes alone,
and the chain's cost per event.

Then the whole nightly review (in this process, one shard: start, every batch, finish) on `--customers` demo
customers (SQLite), each time on a fresh copy of the same database: with the chain, and with its audit rows
given a plain seq and no hash as before the chain (the chain's step replaced, nothing else), three times each,
alternating, the best kept. Goal: the review with the chain within 1.1x of the review without.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from itertools import count
from pathlib import Path
from typing import Any
from unittest import mock

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from kamflow import audit, clock, migrate
from kamflow.db import dispose_engines, get_engine, insert_many, unit_of_work
from kamflow.demo_data import generate
from kamflow.models import AuditEvent
from kamflow.review import service
from kamflow.settings import Settings, use_settings
from rules.engine import Decision, Reason

NOW = dt.datetime(2026, 3, 16, 2, 0, tzinfo=dt.UTC)
DECISION = Decision(
    ruleset="credit_review",
    outcome="dunning",
    role=None,
    reasons=[Reason(rule="overdue_beyond_grace", text="12,345.67 EUR overdue for 41 days (grace 5)")],
    facts={"overdue_amount": "12345.67", "oldest_overdue_days": 41, "utilisation_pct": "87.5", "class": "B"},
    version="a" * 64,
)


def events(batch: int, first: int) -> list[audit.Event]:
    return [
        audit.Event(
            at=NOW,
            actor="rules",
            action="collection_dunning",
            subject_type="collection_task",
            subject_id=first + k,
            decision=DECISION,
            reasons=[reason.model_dump() for reason in DECISION.reasons],
            detail={
                "customer": f"C{first + k:06d}",
                "business_date": "2026-03-16",
                "assignee": "kam.north1",
                "level": 2,
                "channel": "letter",
                "policies": {"dunning": "b" * 64},
            },
        )
        for k in range(batch)
    ]


def chained(settings: Settings, batches: list[list[audit.Event]]) -> None:
    for batch in batches:
        with unit_of_work(settings) as session:
            audit.record_many(session, batch)


def plain(settings: Settings, batches: list[list[audit.Event]]) -> None:
    seqs = count(1)
    for batch in batches:
        with unit_of_work(settings) as session:
            rows = [event.row() | {"seq": next(seqs), "hash": ""} for event in batch]
            insert_many(session.connection(), AuditEvent, rows)


def fresh(settings: Settings) -> None:
    """Empty the trail and the chain's head between runs."""
    with get_engine(settings).begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
        else:
            connection.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        connection.execute(text("DELETE FROM audit_events"))
        connection.execute(text(f"UPDATE audit_chain_head SET seq = 0, hash = '{audit.GENESIS}'"))


def timed(run: Callable[..., object], *args: object) -> float:
    start = time.perf_counter()
    run(*args)
    return time.perf_counter() - start


def measure(name: str, settings: Settings, total: int, size: int) -> None:
    migrate.upgrade(settings)
    batches = [events(min(size, total - first), first) for first in range(0, total, size)]
    best = {"chained": float("inf"), "plain": float("inf")}
    for _round in range(2):
        for label, write in (("chained", chained), ("plain", plain)):
            fresh(settings)
            best[label] = min(best[label], timed(write, settings, batches))
    with get_engine(settings).connect() as connection:
        fresh(settings)
        chained(settings, batches)
        check = audit.walk(connection)
        walked = timed(audit.walk, connection)
    assert check.problem is None and check.events == total, check
    chain, bare = best["chained"], best["plain"]
    print(
        f"{name}: {total:,} events in batches of {size:,}: chained {chain:.2f} s, plain insert {bare:.2f} s, "
        f"ratio {chain / bare:.2f}x on the writes alone (+{(chain - bare) / total * 1e6:.1f} us an event); "
        f"audit verify walks them in {walked:.2f} s"
    )
    dispose_engines()


def review_once(settings: Settings, template: Path, *, chain: bool) -> tuple[float, int]:
    """The whole review a month after the demo's today (invoices fallen due since are dunned) on a fresh copy of
    the template database: seconds, and audit events written."""
    dispose_engines()
    for left in settings.data_dir.glob("kamflow.db*"):  # the last run's journal too
        left.unlink()
    shutil.copy(template, settings.data_dir / "kamflow.db")
    today, now = clock.today() + dt.timedelta(days=30), clock.now()

    def unchained(session: Session, rows: Sequence[dict[str, Any]]) -> None:
        """The rows numbered on from the last, unhashed: the audit write as it was before the chain."""
        for row in rows:
            row["seq"], row["hash"] = next(seqs), ""

    with unit_of_work(settings) as session:
        seqs = count((session.scalar(select(func.max(AuditEvent.seq))) or 0) + 1)
        before = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    with contextlib.ExitStack() as stack:
        if not chain:
            stack.enter_context(mock.patch.object(audit, "_chain", unchained))
        start = time.perf_counter()
        with unit_of_work(settings) as session:
            service.start_review(session, as_of=today, shards=1, now=now)
        with unit_of_work(settings) as session:
            service.run_review(session, as_of=today, shard=0, shards=1, now=now)
        with unit_of_work(settings) as session:
            service.finish_review(session, as_of=today, now=now)
        took = time.perf_counter() - start
    with unit_of_work(settings) as session:
        written = (session.scalar(select(func.count()).select_from(AuditEvent)) or 0) - before
    return took, written


def measure_review(folder: Path, customers: int) -> None:
    template_dir = folder / "review-template"
    template_settings = Settings(data_dir=template_dir)
    migrate.upgrade(template_settings)
    generate(get_engine(template_settings), customers=customers, seed=7, today=clock.today())
    dispose_engines()
    settings = Settings(data_dir=folder / "review")
    settings.data_dir.mkdir()
    use_settings(settings)
    best = {True: float("inf"), False: float("inf")}
    written = 0
    for _round in range(3):
        for chain in (True, False):
            took, written = review_once(settings, template_dir / "kamflow.db", chain=chain)
            best[chain] = min(best[chain], took)
    review_once(settings, template_dir / "kamflow.db", chain=True)
    with get_engine(settings).connect() as connection:
        check = audit.walk(connection)
    assert check.problem is None, check
    print(
        f"nightly review of {customers:,} customers ({written:,} audit events): "
        f"with the chain {best[True]:.2f} s, without {best[False]:.2f} s, "
        f"ratio {best[True] / best[False]:.3f}x (goal <= 1.1x)"
    )
    dispose_engines()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=57_000)
    parser.add_argument("--batch", type=int, default=1_100)
    parser.add_argument("--postgres", help="a PostgreSQL server URL (postgresql+psycopg://…/postgres)")
    parser.add_argument("--customers", type=int, default=5_000, help="the whole review's customers (0: skip it)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if args.customers:
            measure_review(Path(folder), args.customers)
        measure("SQLite", Settings(data_dir=Path(folder)), args.events, args.batch)
        if args.postgres:
            name = f"kamflow_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f"CREATE DATABASE {name}"))
            try:
                url = args.postgres.rsplit("/", 1)[0] + f"/{name}"
                measure("PostgreSQL", Settings(data_dir=Path(folder), database_url=url), args.events, args.batch)
            finally:
                with admin.connect() as connection:
                    connection.execute(text(f"DROP DATABASE {name}"))
                admin.dispose()


if __name__ == "__main__":
    main()
