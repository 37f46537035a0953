"""A customer of our own in the demo company, with a ledger the test writes, and reviews run night by night
on injected business dates (the demo's ledger starts in September 2024, so 2024's early nights see only
what the test wrote)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow.models import Customer, Employee, Invoice, Payment
from kamflow.review import service
from kamflow.review.report import ReviewSummary
from kamflow.review.tables import CollectionTask, CreditReview, CustomerReview, DunningState


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(2), tzinfo=dt.UTC)


def review(session: Session, day: dt.date, *, shards: int = 1) -> ReviewSummary:
    """The night's review, every shard in turn, as the flow runs it."""
    service.start_review(session, as_of=day, shards=shards, now=at(day))
    session.commit()
    for shard in range(shards):
        service.run_review(session, as_of=day, shard=shard, shards=shards, now=at(day))
    summary = service.finish_review(session, as_of=day, now=at(day))
    session.commit()
    return summary


class Ledger:
    """Our customer C9001 (class B, kam.north1, limit 10 000) and its invoices."""

    def __init__(self, session: Session) -> None:
        self.session = session
        kam = session.scalars(select(Employee).where(Employee.login == "kam.north1")).one()
        self.customer = Customer(
            code="C9001",
            name="Pruebas S.L.",
            customer_class="B",
            company_type="private",
            kam_id=kam.id,
            credit_limit=Decimal("10000.00"),
            currency="EUR",
            payment_terms_days=30,
            active=True,
        )
        session.add(self.customer)
        session.flush()
        self.count = 0

    def invoice(
        self,
        amount: str,
        due: dt.date,
        payments: Sequence[tuple[dt.date, str]] = (),
        *,
        disputed: bool = False,
    ) -> Invoice:
        self.count += 1
        row = Invoice(
            number=f"T-{self.count:04d}",
            customer_id=self.customer.id,
            issue_date=due - dt.timedelta(days=30),
            due_date=due,
            amount=Decimal(amount),
            currency="EUR",
            disputed=disputed,
        )
        self.session.add(row)
        self.session.flush()
        for day, paid in payments:
            self.pay(row, day, paid)
        self.session.commit()
        return row

    def pay(self, invoice: Invoice, day: dt.date, amount: str) -> None:
        self.session.add(Payment(invoice_id=invoice.id, paid_on=day, amount=Decimal(amount)))
        self.session.commit()

    def result(self, day: dt.date) -> CustomerReview:
        review_id = self.session.scalars(select(CreditReview.id).where(CreditReview.business_date == day)).one()
        return self.session.scalars(
            select(CustomerReview).where(
                CustomerReview.review_id == review_id, CustomerReview.customer_id == self.customer.id
            )
        ).one()

    def state(self) -> DunningState | None:
        self.session.expire_all()
        return self.session.get(DunningState, self.customer.id)

    def tasks(self) -> list[CollectionTask]:
        self.session.expire_all()
        return list(
            self.session.scalars(
                select(CollectionTask)
                .where(CollectionTask.customer_id == self.customer.id)
                .order_by(CollectionTask.id)
            )
        )


@pytest.fixture
def ledger(session: Session) -> Ledger:
    return Ledger(session)
