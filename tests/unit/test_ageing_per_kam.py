"""The ageing per KAM the nightly review publishes (`receivables.ageing_per_kam`, added up in the database from the
running figures' open items, the ledger for customers dated after the day) is the ageing report's per-KAM table."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from kamflow import receivables
from kamflow.models import Invoice, Payment
from kamflow.review.dunning import current
from tests.conftest import TODAY, customer


def per_kam_both_ways(session: Session, as_of: dt.date) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    buckets = current().ageing
    report = receivables.ageing(session, as_of=as_of, buckets=buckets, kams=None, kam=None)
    summed = receivables.ageing_per_kam(session, as_of=as_of, buckets=buckets)
    return report.per_kam().records(), summed.per_kam().records()


@pytest.mark.parametrize("days_before", [0, 45])
def test_the_ageing_per_kam_is_the_reports_with_inactive_and_later_dated_customers(
    session: Session, days_before: int
) -> None:
    as_of = TODAY - dt.timedelta(days=days_before)
    gone = customer(session, "C0003")
    gone.active = False  # still owes: still in the ageing
    later = customer(session, "C0004")  # its ledger goes on after the day: read from the ledger as of the day
    invoice = Invoice(
        number="INV-T1",
        customer_id=later.id,
        issue_date=TODAY - dt.timedelta(days=70),
        due_date=TODAY - dt.timedelta(days=40),
        amount=Decimal("1234.56"),
        currency=later.currency,
    )
    session.add(invoice)
    session.flush()
    session.add(Payment(invoice_id=invoice.id, paid_on=TODAY + dt.timedelta(days=2), amount=Decimal("100.01")))
    session.flush()
    report, summed = per_kam_both_ways(session, as_of)
    assert len(report) >= 2 and report[-1]["name"] == "total"
    assert summed == report
