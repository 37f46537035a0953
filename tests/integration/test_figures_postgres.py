"""The ledger's running figures on a real PostgreSQL: exact after generated sequences of changes, the review reads
the same rows from them as from the ledger, and two transactions changing one customer's ledger at once leave it
exact (the second recomputes it after the first commits)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from kamflow import figures, imports, migrate
from kamflow.db import get_engine
from kamflow.demo_data import generate
from kamflow.models import Customer
from kamflow.review import read, service
from kamflow.review.tables import CustomerReview
from kamflow.settings import Settings
from tests.conftest import TODAY
from tests.integration.test_postgres import pg_settings, pytestmark  # noqa: F401 (its fixture and marks)
from tests.unit.test_figures import change, steps


def _company(database: Settings) -> Session:
    migrate.upgrade(database)
    generate(get_engine(database), customers=10, seed=7, today=TODAY)
    return Session(get_engine(database))


@settings(max_examples=8)
@given(st.lists(steps, min_size=1, max_size=6))
def test_the_running_figures_equal_a_full_recompute_on_postgresql(
    pg_settings: Settings,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
    changes: list[tuple[Any, ...]],
) -> None:
    if not inspect(get_engine(pg_settings)).has_table("customers"):  # the first example: a new database
        _company(pg_settings).close()
    with Session(get_engine(pg_settings)) as session:
        for step in changes:
            change(session, tmp_path, step)
            assert figures.differences(session)[1] == [], step


def test_the_review_reads_the_same_rows_from_the_figures_as_from_the_ledger_on_postgresql(
    pg_settings: Settings,  # noqa: F811
) -> None:
    with _company(pg_settings) as session:
        now = dt.datetime.combine(TODAY, dt.time(2), tzinfo=dt.UTC)
        service.start_review(session, as_of=TODAY, shards=1, now=now)
        session.commit()
        run = service.prepare(session, service.get_review(session, TODAY), now=now)
        everyone = select(Customer.id).where(Customer.active.is_(True))
        kept = read._rows(session.connection().execute(read._figures_query(run, everyone)))
        said = read._rows(session.connection().execute(read._ledger_query(run, everyone)))
        assert len(kept) == 10 and kept == said
        reads = read.Reads.of(run, shard=0, shards=1, size=100)  # the batch's statements, with bound parameters
        batch = read._read_batch(get_engine(pg_settings), reads, after=0)
        assert batch is not None and batch.rows == said and len(batch.statements) > 0


def test_two_transactions_changing_one_customer_at_once_leave_its_figures_exact(
    pg_settings: Settings,  # noqa: F811
    tmp_path: Path,
) -> None:
    _company(pg_settings).close()
    header = "number,customer,issue_date,due_date,amount"
    for name in ("one", "two"):
        (tmp_path / f"{name}.csv").write_text(f"{header}\n{name.upper()}-1,C0001,{TODAY},{TODAY},100.00\n")
    first = Session(get_engine(pg_settings))
    imports.import_file(first, "invoices", tmp_path / "one.csv", actor="credit")  # C0001 locked until it commits
    done = threading.Event()

    def second() -> None:
        with Session(get_engine(pg_settings)) as session:
            imports.import_file(session, "invoices", tmp_path / "two.csv", actor="credit")
            session.commit()
        done.set()

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(1.0)
    assert not done.is_set()  # waiting for the first to commit
    first.commit()
    first.close()
    thread.join(30)
    assert done.is_set()
    with Session(get_engine(pg_settings)) as session:
        assert figures.differences(session)[1] == []


def test_a_customer_far_above_a_cut_limit_is_reviewed_on_postgresql(pg_settings: Settings) -> None:  # noqa: F811
    """A limit cut far below the exposure makes a utilisation above 1,000 %: stored as it is, the night goes on."""
    with _company(pg_settings) as session:
        now = dt.datetime.combine(TODAY, dt.time(2), tzinfo=dt.UTC)
        service.start_review(session, as_of=TODAY, shards=1, now=now)
        reviewed = session.scalars(select(Customer).where(Customer.active.is_(True)).order_by(Customer.id)).first()
        assert reviewed is not None
        reviewed.credit_limit = Decimal("0.01")
        session.commit()
        done = service.run_review(session, as_of=TODAY, shard=0, shards=1, now=now)
        utilisation = session.scalar(
            select(CustomerReview.utilisation).where(CustomerReview.customer_id == reviewed.id)
        )
    assert done.customers == 10 and utilisation is not None and utilisation > 1000
