"""The set-based ledger facts, exact to the cent, for one customer, a chosen set and everyone."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import partial

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow import ledger
from kamflow.credit import facts
from kamflow.models import Customer, Invoice, Order, Payment
from tests.conftest import customer

AS_OF = dt.date(2030, 1, 31)
D = dt.date.fromisoformat


@pytest.fixture
def book(session: Session) -> Customer:
    """A customer of its own with a small, known ledger around 2030-01-31."""
    client = Customer(
        code="C7777",
        name="Ledger Test S.L.",
        customer_class="B",
        company_type="private",
        kam_id=customer(session, "C0001").kam_id,
        credit_limit=Decimal("10000.00"),
        currency="EUR",
        payment_terms_days=30,
    )
    session.add(client)
    session.flush()

    def order(number: str, day: str, amount: str, status: str = "open") -> Order:
        row = Order(
            number=number, customer_id=client.id, order_date=D(day), amount=Decimal(amount), currency="EUR",
            status=status,
        )  # fmt: skip
        session.add(row)
        session.flush()
        return row

    def invoice(
        number: str, issued: str, due: str, amount: str, *paid: tuple[str, str], of: Order | None = None
    ) -> None:
        row = Invoice(
            number=number, customer_id=client.id, order_id=of.id if of else None, issue_date=D(issued),
            due_date=D(due), amount=Decimal(amount), currency="EUR", disputed=False,
        )  # fmt: skip
        session.add(row)
        session.flush()
        session.add_all(Payment(invoice_id=row.id, paid_on=D(day), amount=Decimal(cents)) for day, cents in paid)

    partly_invoiced = order("T-O1", "2030-01-05", "3000.00")
    order("T-O2", "2030-01-20", "800.00")
    order("T-O3", "2029-05-01", "5000.00", status="invoiced")
    wholly_invoiced = order("T-O4", "2030-01-02", "700.00")
    order("T-O5", "2030-02-10", "100.00")  # after the date
    invoice("T-A", "2029-11-01", "2029-12-01", "1000.00", ("2029-12-11", "400.00"))  # 10 days late, 600 open
    invoice("T-B", "2029-12-20", "2030-01-28", "500.00")  # due 3 days before the date
    invoice("T-C", "2029-06-01", "2029-07-01", "2000.00", ("2029-06-25", "2000.00"))  # early
    invoice("T-D", "2030-02-05", "2030-03-07", "9999.00")  # after the date
    invoice("T-E", "2030-01-10", "2030-02-09", "1200.00", of=partly_invoiced)
    invoice("T-F", "2030-01-05", "2030-02-04", "700.00", ("2030-01-20", "700.00"), of=wholly_invoiced)
    session.flush()
    return client


def one(session: Session, query: ledger.Rows) -> tuple[object, ...]:
    row = session.execute(query).one()
    return tuple(row)[1:]


def test_receivables_with_and_without_grace_days(session: Session, book: Customer) -> None:
    ids = [book.id]
    # open: 600 (A) + 500 (B) + 1200 (E); A is 61 days past due, B only 3
    assert one(session, ledger.receivables(AS_OF, grace_days=5, customer_ids=ids)) == (
        Decimal("2300.00"), Decimal("600.00"), 61, 3,
    )  # fmt: skip
    assert one(session, ledger.receivables(AS_OF, grace_days=0, customer_ids=ids))[1] == Decimal("1100.00")
    assert ledger.overdue_amount(session, customer_id=book.id, as_of=AS_OF, grace_days=0) == Decimal("1100.00")
    assert one(session, ledger.receivables(D("2029-12-02"), grace_days=0, customer_ids=ids)) == (
        Decimal("1000.00"), Decimal("1000.00"), 1, 1,
    )  # fmt: skip


def test_open_orders_count_only_what_is_not_invoiced_yet(session: Session, book: Customer) -> None:
    # O1 3000 less its invoice E 1200, O2 800, O4 700 less its invoice F 700; O3 invoiced, O5 later
    assert one(session, ledger.open_orders(AS_OF, customer_ids=[book.id])) == (Decimal("2600.00"),)


def test_an_invoiced_order_is_counted_once_in_exposure(session: Session, book: Customer) -> None:
    owed = session.execute(ledger.receivables(AS_OF, grace_days=5, customer_ids=[book.id])).one()
    ordered = session.execute(ledger.open_orders(AS_OF, customer_ids=[book.id])).one()
    exposure = facts.Exposure(owed.open_amount, ordered.open_orders, owed.overdue_amount, Decimal("100.00"))
    # O1 counts 1200 (its invoice) + 1800 (the rest), never 1200 + 3000
    assert exposure.total == sum(
        Decimal(v) for v in ("600.00", "500.00", "1200.00", "1800.00", "800.00", "100.00")
    )


def test_payment_behaviour_over_twelve_months(session: Session, book: Customer) -> None:
    # payments in the window: 400 ten days late, 2000 and 700 early → 4000 / 3100 day-euros
    assert one(session, ledger.days_late(AS_OF, customer_ids=[book.id])) == (Decimal("3100.00"), Decimal("1.29"))
    # due in the window: A (late), B (unpaid, late), C (on time)
    assert one(session, ledger.paid_late(AS_OF, customer_ids=[book.id])) == (3, 2)


def test_sales_and_dso(session: Session, book: Customer) -> None:
    assert one(session, ledger.sales(AS_OF, customer_ids=[book.id])) == (Decimal("5400.00"),)
    # 2300 open × 365 / 5400 sold = 155.46
    assert one(session, ledger.dso(AS_OF, customer_ids=[book.id])) == (Decimal("155.5"),)


def test_the_same_facts_for_everyone_and_for_a_chosen_set(session: Session, book: Customer) -> None:
    for fact in (
        partial(ledger.receivables, grace_days=5),
        ledger.days_late,
        ledger.paid_late,
        ledger.sales,
        ledger.dso,
        ledger.open_orders,
    ):
        mine = session.execute(fact(AS_OF, customer_ids=[book.id])).one()
        everyone = {row.customer_id: row for row in session.execute(fact(AS_OF))}
        chosen = session.execute(
            fact(AS_OF, customer_ids=select(Customer.id).where(Customer.code == "C7777"))
        ).all()
        assert everyone[book.id] == mine == chosen[0] and len(chosen) == 1
    assert len(session.execute(ledger.receivables(AS_OF, grace_days=5)).all()) > 1  # the demo company owes too


def test_a_customer_with_nothing_to_count_has_no_row(session: Session) -> None:
    quiet = customer(session, "C0001")
    assert session.execute(ledger.days_late(D("2000-01-01"), customer_ids=[quiet.id])).one_or_none() is None
