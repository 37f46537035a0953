"""One definition of overdue (`kamflow.ledger.overdue_when`): discounts, order credit, solvency and the nightly
review see the same amount on the same ledger — the credit policy's grace days, holds and disputes left out."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow.credit import orders, policy, solvency, standing
from kamflow.discounts import service as discounts
from kamflow.models import Employee, InvoiceHold
from kamflow.review.tables import CollectionTask
from tests.conftest import NOW, TODAY
from tests.unit.review.conftest import Ledger, review

DAY = TODAY
OVERDUE = Decimal("70.00")


def days_ago(days: int) -> dt.date:
    return DAY - dt.timedelta(days=days)


@pytest.fixture
def ledger(session: Session) -> Ledger:
    return Ledger(session)


@pytest.fixture
def book(ledger: Ledger) -> Ledger:
    """2 days late (inside the 5 grace days), 20 days late but on hold, 30 days late and disputed, and 12 days
    late: only the last is overdue."""
    assert policy.current().grace_days == 5
    ledger.invoice("100.00", days_ago(2))
    held = ledger.invoice("300.00", days_ago(20))
    ledger.invoice("50.00", days_ago(30), disputed=True)
    ledger.invoice("70.00", days_ago(12))
    credit = ledger.session.scalars(select(Employee).where(Employee.login == "credit")).one()
    ledger.session.add(
        InvoiceHold(
            invoice_id=held.id, reason="wrong goods", placed_on=days_ago(15), placed_by_id=credit.id, placed_at=NOW
        )
    )
    ledger.session.commit()
    return ledger


def discount_facts(session: Session, code: str) -> dict[str, object]:
    request = discounts.DiscountRequestIn.model_validate(
        {
            "customer": code,
            "price_column": 3,
            "discount_pct": "1",
            "order_total": "100",
            "requester": "kam.north1",
            "requested_on": DAY,
        }
    )
    return discounts.facts(session, request, on=DAY)[2]


def test_every_consumer_sees_the_same_overdue(session: Session, book: Ledger) -> None:
    client = book.customer
    assert standing.overdue_amount(session, client.id, on=DAY) == OVERDUE
    assert discount_facts(session, client.code)["overdue_amount"] == OVERDUE
    order = orders.order_facts(session, client, on=DAY, amount=Decimal("1.00"))
    assert order["overdue_amount"] == OVERDUE and order["oldest_overdue_days"] == 12
    checked = solvency.assess(session, client, on=DAY, purpose="request", order_amount=Decimal(0))
    assert checked.snapshot["overdue"] == str(OVERDUE) and checked.risk.facts["overdue_amount"] == str(OVERDUE)
    review(session, DAY)
    night = book.result(DAY)
    assert night.dunnable == OVERDUE
    assert night.overdue == Decimal("520.00")  # the ageing: everything past its due date, hold or not
    [task] = session.scalars(select(CollectionTask).where(CollectionTask.customer_id == client.id)).all()
    assert task.amount == OVERDUE and "70.00 overdue, the oldest for 12 days" in task.reasons[0]["text"]


def test_a_debt_inside_the_grace_days_or_on_hold_is_overdue_for_no_one(session: Session, ledger: Ledger) -> None:
    ledger.invoice("100.00", days_ago(2))
    ledger.invoice("50.00", days_ago(30), disputed=True)
    client = ledger.customer
    assert discount_facts(session, client.code)["overdue_amount"] == Decimal("0.00")
    request = discounts.DiscountRequestIn.model_validate(
        {"customer": client.code, "price_column": 3, "discount_pct": "1", "order_total": "100",
         "requester": "kam.north1", "requested_on": DAY}
    )  # fmt: skip
    asked = discounts.submit(session, request=request, flow_run_id=None, now=NOW)
    assert "overdue" not in [reason["rule"] for reason in asked.decision["reasons"]]
    order = orders.submit(
        session,
        request=orders.OrderIn(
            customer=client.code, amount=Decimal("1.00"), requester="kam.north1", ordered_on=DAY
        ),
        flow_run_id=None,
        now=NOW,
    )
    assert order.status == "approved" and order.decision["facts"]["overdue_amount"] == "0.00"
