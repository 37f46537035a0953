"""db.insert_many: one executemany whose values are converted by their columns' types, as SQLAlchemy would."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from kamflow import migrate
from kamflow.db import dispose_engines, insert_many, unit_of_work
from kamflow.models import AuditEvent, Customer
from kamflow.settings import Settings
from tests.conftest import NOW


def test_insert_many_writes_what_the_orm_reads_back(session: Session) -> None:
    later = NOW.astimezone(dt.timezone(dt.timedelta(hours=2))) + dt.timedelta(minutes=1)
    rows = [
        {
            "at": at,
            "actor": "rules",
            "action": "insert_many_test",
            "subject_type": "customer",
            "subject_id": k,
            "reasons": [{"rule": "r", "text": "why"}],
            "facts": {"amount": "12.30", 7: True},
            "rules_version": None,
            "detail": {},
            "seq": -1 - k,  # off the chain: only insert_many's conversions are tested here
            "hash": "",
        }
        for k, at in enumerate([NOW, later])
    ]
    insert_many(session.connection(), AuditEvent, rows)
    insert_many(session.connection(), AuditEvent, [])  # nothing to write: no statement
    stored = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "insert_many_test").order_by(AuditEvent.subject_id)
    ).all()
    assert [(e.at, e.subject_id, e.reasons, e.facts) for e in stored] == [
        (NOW, 0, [{"rule": "r", "text": "why"}], {"amount": "12.30", "7": True}),
        (later, 1, [{"rule": "r", "text": "why"}], {"amount": "12.30", "7": True}),
    ]
    assert stored[1].at.tzinfo is not None


def test_insert_many_keeps_money_exact(session: Session) -> None:
    customer = session.scalars(select(Customer).limit(1)).one()
    values = {c.key: getattr(customer, c.key) for c in Customer.__table__.columns if c.key != "id"}
    insert_many(session.connection(), Customer, [values | {"code": "CX001", "credit_limit": Decimal("1234.56")}])
    assert session.scalar(select(Customer.credit_limit).where(Customer.code == "CX001")) == Decimal("1234.56")


def test_the_embedded_database_and_its_journal_are_created_mode_600(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    migrate.upgrade(settings)
    with unit_of_work(settings) as session:
        session.execute(text("SELECT 1"))
        database = tmp_path / "data" / "kamflow.db"
        modes = {path.name: path.stat().st_mode & 0o777 for path in database.parent.glob("kamflow.db*")}
    assert modes["kamflow.db"] == 0o600 and set(modes.values()) == {0o600}, modes
    assert (tmp_path / "data").stat().st_mode & 0o777 == 0o700
    dispose_engines()
