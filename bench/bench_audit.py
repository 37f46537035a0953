"""The nightly review's audit writes with the hash chain against without, measured in one run.

    .venv/bin/python bench/bench_audit.py [--events 57000] [--batch 1100] [--postgres URL]

On a fresh SQLite database at Alembic head (and on PostgreSQL when a URL is given: a scratch database is made
and dropped), writes `--events` collection-task events as the review does, in batches of `--batch` (a batch of
2,000 customers makes about 1,100), one transaction a batch:
  - chained: `audit.record_many` (canonical content, the head's lock, chained hashes, one insert);
  - plain: the same rows with `db.insert_many`, the path the review took before the chain (seq and hash given
    as constants, so the insert itself is the same size).
Each is run twice, alternating, and the better time kept. It prints both times, the ratio of the writes alone,
and the chain's cost per event; the review's whole time is its reads, decisions and other writes besides these
(bench/bench_review.py), so the ratio on the review is far nearer 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
import uuid
from collections.abc import Callable
from itertools import count
from pathlib import Path

from sqlalchemy import create_engine, text

from kamflow import audit, migrate
from kamflow.db import dispose_engines, get_engine, insert_many, unit_of_work
from kamflow.models import AuditEvent
from kamflow.settings import Settings
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=57_000)
    parser.add_argument("--batch", type=int, default=1_100)
    parser.add_argument("--postgres", help="a PostgreSQL server URL (postgresql+psycopg://…/postgres)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
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
