"""Ledger facts, exact to the cent."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.orm import Session

from kamflow import ledger
from kamflow.models import Invoice, Payment
from tests.conftest import customer


def test_overdue_counts_only_unpaid_parts_of_invoices_past_due(session: Session) -> None:
    c = customer(session, "C0001")
    day = dt.date(2030, 1, 10)
    rows = [
        ("X1", dt.date(2030, 1, 9), Decimal("100.10"), [("2030-01-05", Decimal("30.03"))]),
        (
            "X2",
            dt.date(2030, 1, 9),
            Decimal("0.20"),
            [("2030-01-09", Decimal("0.10")), ("2030-01-09", Decimal("0.10"))],
        ),
        ("X3", dt.date(2030, 1, 10), Decimal("999.99"), []),
        ("X4", dt.date(2030, 1, 1), Decimal("50.00"), [("2030-01-11", Decimal("50.00"))]),
    ]
    before = ledger.overdue_amount(session, customer_id=c.id, as_of=day, grace_days=0)
    for number, due, amount, payments in rows:
        invoice = Invoice(
            number=number,
            customer_id=c.id,
            issue_date=dt.date(2029, 12, 1),
            due_date=due,
            amount=amount,
            currency="EUR",
            disputed=False,
        )
        session.add(invoice)
        session.flush()
        session.add_all(
            Payment(invoice_id=invoice.id, paid_on=dt.date.fromisoformat(d), amount=a) for d, a in payments
        )
    session.flush()
    after = ledger.overdue_amount(session, customer_id=c.id, as_of=day, grace_days=0)
    assert after - before == Decimal("70.07") + Decimal("50.00")
