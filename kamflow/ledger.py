"""Facts from a customer's ledger (invoices and payments), computed in SQL as of a business date.

SQLite keeps NUMERIC as binary floating point; every money aggregate is cast back to Numeric(18, 2) so the
result arrives as an exact Decimal rounded to the cent (PostgreSQL computes it exactly in the first place).

The set-based facts (`receivables`, `days_late`, `paid_late`, `sales`, `dso`, `open_orders`) each return a
SELECT with one row per customer that has anything to count, keyed by `customer_id`: run it for one
customer (`customer_ids=[id]`), for a shard (`customer_ids=select(Customer.id).where(...)`) or for everyone
(`customer_ids=None`), and stream it (`session.execute(query).yield_per(n)`) — one query, never one per
invoice. A customer with no row has nothing to count (amounts 0, counts 0, averages undefined).
`invoice_balances` is the level beneath them: one row per invoice, or per instalment of an invoice with a payment
schedule, with its unpaid amount.

**Overdue** has one definition, `overdue_when`, used by every consumer (order credit, solvency, discounts, the
nightly review): the unpaid part of invoices due more than the credit policy's grace days before the business
date, leaving out invoices that are disputed or on hold (`InvoiceHold`) on that date. What is merely past its
due date, hold or not, is the review's ageing, not "overdue".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from decimal import Decimal
from typing import Any, TypeAlias, TypeVar

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Date,
    Integer,
    Numeric,
    Select,
    Subquery,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from kamflow.models import Allocation, CreditNote, Instalment, Invoice, InvoiceHold, Money, Order, Payment

Rows: TypeAlias = "Select[*tuple[Any, ...]]"
"""A SELECT of any columns (the type of every fact query)."""
CustomerFilter: TypeAlias = "Collection[int] | Select[int] | None"
"""Which customers a fact covers: ids, a SELECT of ids, or None for all."""
OPEN_ORDER = "open"
"""The status of an order accepted on credit and not yet wholly invoiced."""
CENT = Decimal("0.005")
"""Below this an open balance is paid (SQLite sums in binary floating point)."""
FOREVER = dt.date(9999, 12, 31)
"""As of this day every row of the ledger counts (a part's open amount whatever its date)."""


def overdue_amount(session: Session, *, customer_id: int, as_of: dt.date, grace_days: int) -> Decimal:
    """What the customer owes overdue as of a date (`overdue_when`); `grace_days` are the credit policy's
    (`kamflow.credit.standing.overdue_amount` passes them)."""
    row = session.execute(receivables(as_of, grace_days=grace_days, customer_ids=[customer_id])).one_or_none()
    return Decimal("0.00") if row is None else Decimal(row.overdue_amount)


def overdue_when(balances: Subquery, as_of: dt.date, *, grace_days: int) -> ColumnElement[bool]:
    """The one definition of overdue, over `invoice_balances` rows: due more than `grace_days` before `as_of`
    (with 0 grace days, the day after the due date), and neither disputed nor on hold on `as_of`."""
    return and_(balances.c.due_date < as_of - dt.timedelta(days=grace_days), not_(balances.c.on_hold))


class days_between(FunctionElement[int]):
    """Whole days from the second date to the first, in SQL (negative if the first is earlier)."""

    type = Integer()
    inherit_cache = True


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


@compiles(days_between)
def _days_between_default(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(CAST({later} AS DATE) - CAST({earlier} AS DATE))"


_Query = TypeVar("_Query", bound=Rows)


def _only(query: _Query, column: Any, customer_ids: CustomerFilter) -> _Query:
    return query if customer_ids is None else query.where(column.in_(customer_ids))


def money_sum(amount: Any) -> Any:
    """The sum of a money column as an exact Decimal to the cent, 0 when there is nothing to add."""
    return cast(func.coalesce(func.sum(amount), 0), Money)


def receivables(as_of: dt.date, *, grace_days: int, customer_ids: CustomerFilter = None) -> Rows:
    """Open receivables per customer as of a date, from invoices issued by then and payments made by then.

    Columns: `customer_id`; `open_amount` (unpaid on all invoices); `overdue_amount` (the unpaid part of
    the overdue ones, `overdue_when`); `oldest_overdue_days` (days since the due date of the oldest of
    those, 0 if none); `open_invoices` (how many invoices are unpaid). An overpaid invoice offsets nothing."""
    balances = invoice_balances(as_of, open_only=True, customer_ids=customer_ids).subquery()
    overdue = overdue_when(balances, as_of, grace_days=grace_days)
    days_overdue = case((overdue, days_between(literal(as_of, Date), balances.c.due_date)))
    return select(
        balances.c.customer_id,
        money_sum(balances.c.open_amount).label("open_amount"),
        money_sum(case((overdue, balances.c.open_amount), else_=0)).label("overdue_amount"),
        func.coalesce(func.max(days_overdue), 0).label("oldest_overdue_days"),
        func.count(func.distinct(balances.c.invoice_id)).label("open_invoices"),
    ).group_by(balances.c.customer_id)


def _scheduled(invoice_id: Any) -> ColumnElement[bool]:
    """The invoice has a payment schedule (instalments)."""
    return select(Instalment.id).where(Instalment.invoice_id == invoice_id).exists()


def payments_late(after: dt.date | None, until: dt.date, *, customer_ids: CustomerFilter = None) -> Rows:
    """What a customer paid from the day after `after` (None: from the first) up to `until`, and how late.

    Columns: `customer_id`; `paid_amount`; `paid_days` (each payment's amount × its days after the due date of
    what it paid — its invoice, or each instalment it paid through its allocations — 0 if on time or early).
    Customers who paid nothing then have no row."""
    amount = func.coalesce(Allocation.amount, Payment.amount)
    due = func.coalesce(Instalment.due_date, Invoice.due_date)
    late = case((Payment.paid_on > due, days_between(Payment.paid_on, due)), else_=0)
    query = (
        select(
            Invoice.customer_id,
            money_sum(amount).label("paid_amount"),
            func.sum(amount * late).label("paid_days"),
        )
        .select_from(Payment)
        .join(Invoice, Invoice.id == Payment.invoice_id)
        .outerjoin(Allocation, Allocation.payment_id == Payment.id)
        .outerjoin(Instalment, Instalment.id == Allocation.instalment_id)
        .where(Payment.paid_on <= until)
        .group_by(Invoice.customer_id)
    )
    if after is not None:
        query = query.where(Payment.paid_on > after)
    return _only(query, Invoice.customer_id, customer_ids)


def weighted_days_late(paid_days: Any, paid_amount: Any) -> Any:
    """The days late of what was paid, weighted by the amount paid, two places (`payments_late`'s columns)."""
    return cast(paid_days * literal_column("1.0") / paid_amount, Numeric(12, 2))


def days_late(as_of: dt.date, *, days: int = 365, customer_ids: CustomerFilter = None) -> Rows:
    """How late a customer pays, weighted by amount, over the `days` up to `as_of` (`payments_late`).

    Columns: `customer_id`; `paid_amount` (paid in the window); `weighted_days_late` (`weighted_days_late`).
    Customers who paid nothing in the window have no row."""
    paid = payments_late(as_of - dt.timedelta(days=days), as_of, customer_ids=customer_ids).subquery()
    return select(
        paid.c.customer_id,
        paid.c.paid_amount,
        weighted_days_late(paid.c.paid_days, paid.c.paid_amount).label("weighted_days_late"),
    )


def paid_late(as_of: dt.date, *, days: int = 365, customer_ids: CustomerFilter = None) -> Rows:
    """How many invoices (or instalments, for an invoice with a schedule) that fell due in the `days` before
    `as_of` were not paid in full by their due date (paid later, or not yet).

    Columns: `customer_id`, `invoices_due`, `invoices_late` (instalments counted each). Customers with nothing
    due have no row."""
    by_due = (
        select(Payment.invoice_id, func.sum(Payment.amount).label("paid"))
        .join(Invoice, Invoice.id == Payment.invoice_id)
        .where(Payment.paid_on <= Invoice.due_date)
        .group_by(Payment.invoice_id)
        .subquery()
    )
    whole = (
        select(
            Invoice.customer_id, Invoice.due_date, (Invoice.amount - func.coalesce(by_due.c.paid, 0)).label("rest")
        )
        .outerjoin(by_due, by_due.c.invoice_id == Invoice.id)
        .where(~_scheduled(Invoice.id))
    )
    on_time = and_(Allocation.instalment_id == Instalment.id, Allocation.payment_id.is_not(None))
    parts = (
        select(
            Invoice.customer_id,
            Instalment.due_date,
            (
                Instalment.amount
                - func.coalesce(
                    func.sum(case((Allocation.settled_on <= Instalment.due_date, Allocation.amount))), 0
                )
            ).label("rest"),
        )
        .join(Invoice, Invoice.id == Instalment.invoice_id)
        .outerjoin(Allocation, on_time)
        .group_by(Instalment.id)
    )
    due = union_all(
        _only(whole, Invoice.customer_id, customer_ids), _only(parts, Invoice.customer_id, customer_ids)
    ).subquery()
    return (
        select(
            due.c.customer_id,
            func.count().label("invoices_due"),
            func.coalesce(func.sum(case((due.c.rest > CENT, 1), else_=0)), 0).label("invoices_late"),
        )
        .where(due.c.due_date > as_of - dt.timedelta(days=days), due.c.due_date < as_of)
        .group_by(due.c.customer_id)
    )


def invoiced(after: dt.date | None, until: dt.date, *, customer_ids: CustomerFilter = None) -> Rows:
    """Invoiced sales per customer issued from the day after `after` (None: from the first) up to `until`.

    Columns: `customer_id`, `sales`. Customers invoiced nothing then have no row."""
    query = (
        select(Invoice.customer_id, money_sum(Invoice.amount).label("sales"))
        .where(Invoice.issue_date <= until)
        .group_by(Invoice.customer_id)
    )
    if after is not None:
        query = query.where(Invoice.issue_date > after)
    return _only(query, Invoice.customer_id, customer_ids)


def sales(as_of: dt.date, *, days: int = 365, customer_ids: CustomerFilter = None) -> Rows:
    """Invoiced sales per customer in the `days` up to and including `as_of` (`invoiced`).

    Columns: `customer_id`, `sales`. Customers invoiced nothing in the window have no row."""
    return invoiced(as_of - dt.timedelta(days=days), as_of, customer_ids=customer_ids)


def dso(as_of: dt.date, *, days: int = 365, customer_ids: CustomerFilter = None) -> Rows:
    """Days sales outstanding: open receivables ÷ sales of the last `days` × `days`, one place.

    Columns: `customer_id`, `dso`. Customers with no sales in the window have no row (DSO undefined)."""
    invoiced = sales(as_of, days=days, customer_ids=customer_ids).subquery()
    owed = receivables(as_of, grace_days=0, customer_ids=customer_ids).subquery()
    return (
        select(
            invoiced.c.customer_id,
            cast(
                func.coalesce(owed.c.open_amount, 0) * days * literal_column("1.0") / invoiced.c.sales,
                Numeric(12, 1),
            ).label("dso"),
        )
        .outerjoin(owed, owed.c.customer_id == invoiced.c.customer_id)
        .where(invoiced.c.sales > 0)
    )


def open_orders(as_of: dt.date, *, customer_ids: CustomerFilter = None) -> Rows:
    """Open orders not yet invoiced, per customer, as of a date: for each order with status "open" taken
    by then, its amount less its prepayments received and what has been invoiced against it by then (never below
    0). An order once
    invoiced is counted among receivables, not here, so exposure counts it once. An order is invoiced to its
    own customer: its invoices are found through that customer's invoices.

    Columns: `customer_id`, `open_orders` (amount)."""
    invoiced = and_(
        Invoice.customer_id == Order.customer_id, Invoice.order_id == Order.id, Invoice.issue_date <= as_of
    )
    rest = (Order.amount - Order.prepaid - func.coalesce(func.sum(Invoice.amount), 0)).label("rest")
    per_order = _only(
        select(Order.customer_id, rest)
        .outerjoin(Invoice, invoiced)
        .where(Order.status == OPEN_ORDER, Order.order_date <= as_of)
        .group_by(Order.id),
        Order.customer_id,
        customer_ids,
    ).subquery()
    return select(
        per_order.c.customer_id,
        money_sum(case((per_order.c.rest > 0, per_order.c.rest), else_=0)).label("open_orders"),
    ).group_by(per_order.c.customer_id)


def on_hold_when(invoice_id: Any, disputed: Any, as_of: dt.date) -> ColumnElement[bool]:
    """The invoice is disputed, or under a hold (`InvoiceHold`) in force on `as_of`: never overdue."""
    held = and_(
        InvoiceHold.invoice_id == invoice_id,
        InvoiceHold.placed_on <= as_of,
        or_(InvoiceHold.released_on.is_(None), InvoiceHold.released_on > as_of),
    )
    return or_(disputed, select(InvoiceHold.id).where(held).exists())


def invoice_balances(
    as_of: dt.date, *, open_only: bool = False, customer_ids: CustomerFilter = None
) -> CompoundSelect[*tuple[Any, ...]]:
    """One row per part of an invoice issued by `as_of` that falls due on its own date — the invoice itself, or
    each of its instalments (`Instalment`) — with what is unpaid on it by then (only those with something unpaid
    if `open_only`; use as a subquery). Ageing, overdue and dunning therefore go by instalment.

    Columns: `invoice_id`, `instalment_id` (NULL for a whole invoice), `customer_id`, `issue_date`, `due_date`
    (the invoice's or the instalment's), `amount`
    (of the invoice or instalment), `disputed`, `on_hold` (the invoice disputed, or under a hold in force on
    `as_of`: never overdue), `open_amount` (the amount less payments and credit notes by `as_of`, through their
    allocations for an instalment; binary floating point on SQLite, so compare it with CENT and cast sums to
    Money). Payments are joined per invoice and the hold looked up by its unique invoice id, so a customer filter
    reads only those customers' invoices, payments and holds (grouped in the order of the customer/due-date
    index)."""
    on_hold = on_hold_when(Invoice.id, Invoice.disputed, as_of).label("on_hold")
    credits = (
        select(CreditNote.invoice_id, func.sum(CreditNote.amount).label("credited"))
        .where(CreditNote.issued_on <= as_of)
        .group_by(CreditNote.invoice_id)
        .subquery()
    )
    credited = func.coalesce(func.max(credits.c.credited), 0)  # one row per invoice: its credit notes' sum
    whole_open = Invoice.amount - func.coalesce(func.sum(Payment.amount), 0) - credited
    whole = (
        select(
            Invoice.id.label("invoice_id"),
            literal(None, Integer).label("instalment_id"),
            Invoice.customer_id,
            Invoice.issue_date,
            Invoice.due_date,
            Invoice.amount,
            Invoice.disputed,
            on_hold,
            whole_open.label("open_amount"),
        )
        .outerjoin(Payment, and_(Payment.invoice_id == Invoice.id, Payment.paid_on <= as_of))
        .outerjoin(credits, credits.c.invoice_id == Invoice.id)
        .where(Invoice.issue_date <= as_of, ~_scheduled(Invoice.id))
        .group_by(Invoice.customer_id, Invoice.due_date, Invoice.id)
    )
    part_open = Instalment.amount - func.coalesce(func.sum(Allocation.amount), 0)
    parts = (
        select(
            Invoice.id,
            Instalment.id,
            Invoice.customer_id,
            Invoice.issue_date,
            Instalment.due_date,
            Instalment.amount,
            Invoice.disputed,
            on_hold,
            part_open,
        )
        .join(Instalment, Instalment.invoice_id == Invoice.id)
        .outerjoin(Allocation, and_(Allocation.instalment_id == Instalment.id, Allocation.settled_on <= as_of))
        .where(Invoice.issue_date <= as_of)
        .group_by(Invoice.customer_id, Invoice.id, Instalment.id)
    )
    if open_only:
        whole, parts = whole.having(whole_open > CENT), parts.having(part_open > CENT)
    return union_all(
        _only(whole, Invoice.customer_id, customer_ids), _only(parts, Invoice.customer_id, customer_ids)
    )
