"""db.insert_many: one executemany whose values are converted by their columns' types, as SQLAlchemy would."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow.db import insert_many
from kamflow.models import AuditEvent, Customer
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
