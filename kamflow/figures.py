"""Running figures of the ledger: what the nightly review needs of each customer, kept up to date in the
transaction that changes the ledger, so that the review reads one row per customer and their open items instead
of every invoice, payment and order (`kamflow.review.read`).

- `OpenItem`: each invoice or instalment with something unpaid on it, its due date and whether it is disputed
  (a hold is looked up as of the review's date);
- `CustomerFigures`: the latest date in the customer's ledger, the sales issued and the payments made within the
  windows (`LedgerWindows`: after a start date, the same for every customer), how late those payments were, and
  what the open orders add to exposure.

The figures are the ledger's as of any date on or after their `latest`: a review of an earlier date reads that
customer's ledger itself. Whatever changes a customer's ledger recomputes that customer's figures from the ledger
(`refresh`) in the same transaction: the ORM's flushes through `after_flush`, the bulk writes (imports, payments,
credit notes, instalments, the demo company) by calling `refresh`. The review moves the windows to its date
(`roll`), which recomputes only the customers with sales or payments between the old and the new start.
`differences` compares the figures with a full recompute (`kamflow ledger verify`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from sqlalchemy import (
    Date,
    Select,
    and_,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.orm import Session, UOWTransaction

from kamflow import ledger
from kamflow.models import (
    Allocation,
    CreditNote,
    Customer,
    CustomerFigures,
    Instalment,
    Invoice,
    LedgerWindows,
    Money,
    OpenItem,
    Order,
    Payment,
)

CHUNK = 2000
"""Customers refreshed per statement."""
FIGURES = ("latest", "sales", "paid", "paid_days", "open_orders")


@dataclass(frozen=True)
class Windows:
    """The figures keep the sales issued after `sales_after` and the payments made after `paid_after` (None:
    all of them)."""

    sales_after: dt.date | None
    paid_after: dt.date | None

    @classmethod
    def ending(cls, as_of: dt.date, *, sales_days: int, paid_days: int) -> Windows:
        """The windows of a review of `as_of`: the `sales_days` and the `paid_days` up to and including it."""
        return cls(as_of - dt.timedelta(days=sales_days), as_of - dt.timedelta(days=paid_days))


def windows(session: Session, *, lock: bool = False) -> Windows:
    """The windows the figures are kept for. `lock`: until the transaction ends, a writer's (shared, PostgreSQL)
    lock that a `roll` waits for and that waits for a `roll`."""
    query = select(LedgerWindows.sales_after, LedgerWindows.paid_after)
    if lock:
        query = query.with_for_update(read=True)
    row = session.execute(query).one_or_none()
    return Windows(None, None) if row is None else Windows(*row)


def _latest(customer_ids: ledger.CustomerFilter) -> Select[Any]:
    """The latest date of each customer's ledger: invoices issued, payments, credit notes and allocations made,
    orders taken."""
    days = union_all(
        select(Invoice.customer_id, func.max(Invoice.issue_date).label("day")).group_by(Invoice.customer_id),
        select(Invoice.customer_id, func.max(Payment.paid_on))
        .join(Payment, Payment.invoice_id == Invoice.id)
        .group_by(Invoice.customer_id),
        select(Invoice.customer_id, func.max(CreditNote.issued_on))
        .join(CreditNote, CreditNote.invoice_id == Invoice.id)
        .group_by(Invoice.customer_id),
        select(Invoice.customer_id, func.max(Allocation.settled_on))
        .join(Instalment, Instalment.invoice_id == Invoice.id)
        .join(Allocation, Allocation.instalment_id == Instalment.id)
        .group_by(Invoice.customer_id),
        select(Order.customer_id, func.max(Order.order_date)).group_by(Order.customer_id),
    ).subquery()
    query = select(days.c.customer_id, type_coerce(func.max(days.c.day), Date).label("latest")).group_by(
        days.c.customer_id
    )
    return query if customer_ids is None else query.where(days.c.customer_id.in_(customer_ids))


def computed(windows: Windows, customer_ids: ledger.CustomerFilter = None) -> Select[Any]:
    """The figures of the customers (None: all) from the ledger itself, one row per customer with anything in
    it: `customer_id` and the columns of `CustomerFigures`."""
    latest = _latest(customer_ids).subquery()
    sales = ledger.invoiced(windows.sales_after, ledger.FOREVER, customer_ids=customer_ids).subquery()
    paid = ledger.payments_late(windows.paid_after, ledger.FOREVER, customer_ids=customer_ids).subquery()
    orders = ledger.open_orders(ledger.FOREVER, customer_ids=customer_ids).subquery()
    return (
        select(
            latest.c.customer_id,
            latest.c.latest,
            sales.c.sales,
            paid.c.paid_amount.label("paid"),
            cast(paid.c.paid_days, CustomerFigures.paid_days.type).label("paid_days"),
            orders.c.open_orders,
        )
        .outerjoin(sales, sales.c.customer_id == latest.c.customer_id)
        .outerjoin(paid, paid.c.customer_id == latest.c.customer_id)
        .outerjoin(orders, orders.c.customer_id == latest.c.customer_id)
    )


def computed_items(customer_ids: ledger.CustomerFilter = None) -> Select[Any]:
    """The open items of the customers (None: all) from the ledger itself: the columns of `OpenItem` but its id."""
    balances = ledger.invoice_balances(ledger.FOREVER, open_only=True, customer_ids=customer_ids).subquery()
    return select(
        balances.c.customer_id,
        balances.c.invoice_id,
        balances.c.instalment_id,
        balances.c.due_date,
        cast(balances.c.open_amount, Money).label("open_amount"),
        balances.c.disputed,
    )


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    it = iter(sorted(set(ids)))
    while chunk := list(islice(it, CHUNK)):
        yield chunk


def refresh(session: Session, customer_ids: Collection[int] | None) -> None:
    """Recompute the figures and open items of the customers (None: everyone) from the ledger, in the session's
    transaction. On PostgreSQL the customers' rows are locked first (FOR NO KEY UPDATE), so two transactions that
    change one customer's ledger recompute it one after the other, the second seeing the first's rows."""
    kept = windows(session, lock=True)
    if customer_ids is None:
        session.execute(delete(OpenItem))
        session.execute(delete(CustomerFigures))
        _fill(session, kept, None)
        return
    for chunk in _chunks(customer_ids):
        session.execute(
            select(Customer.id).where(Customer.id.in_(chunk)).order_by(Customer.id).with_for_update(key_share=True)
        )
        session.execute(delete(OpenItem).where(OpenItem.customer_id.in_(chunk)))
        session.execute(delete(CustomerFigures).where(CustomerFigures.customer_id.in_(chunk)))
        _fill(session, kept, chunk)


def _fill(session: Session, kept: Windows, customer_ids: list[int] | None) -> None:
    items = computed_items(customer_ids)
    figures = computed(kept, customer_ids)
    session.execute(insert(OpenItem).from_select([c.name for c in items.selected_columns], items))
    session.execute(insert(CustomerFigures).from_select([c.name for c in figures.selected_columns], figures))


def roll(session: Session, to: Windows) -> int:
    """Move the windows to `to`, recomputing the customers with sales or payments between the old start and the
    new one (every customer's, the first time); how many were recomputed. On PostgreSQL it waits for the
    transactions that are changing the ledger, and they for it."""
    row = session.scalars(select(LedgerWindows).with_for_update()).one_or_none()
    if row is None:
        row = LedgerWindows(id=1, sales_after=None, paid_after=None)
        session.add(row)
    was = Windows(row.sales_after, row.paid_after)
    if was == to:
        return 0
    session.execute(update(LedgerWindows).values(sales_after=to.sales_after, paid_after=to.paid_after))
    moved = union_all(
        select(Invoice.customer_id).where(_between(Invoice.issue_date, was.sales_after, to.sales_after)),
        select(Invoice.customer_id)
        .join(Payment, Payment.invoice_id == Invoice.id)
        .where(_between(Payment.paid_on, was.paid_after, to.paid_after)),
    ).subquery()
    customer_ids = set(session.scalars(select(moved.c.customer_id).distinct()))
    refresh(session, customer_ids)
    return len(customer_ids)


def _between(day: Any, one: dt.date | None, other: dt.date | None) -> Any:
    """`day` falls after the earlier of two window starts and on or before the later (None: before any day)."""
    if one == other:
        return literal(False)
    if one is None or other is None:
        return day <= (one or other)
    return and_(day > min(one, other), day <= max(one, other))


@dataclass(frozen=True)
class Difference:
    """A figure (one of `FIGURES`, or "open_item" of an invoice or instalment) that the running figures keep
    otherwise than the ledger says (None: not there; an open item is its due date, open amount and whether it is
    disputed)."""

    customer: str
    figure: str
    kept: Any
    ledger: Any
    invoice: str | None = None
    instalment_id: int | None = None


def differences(session: Session) -> tuple[int, list[Difference]]:
    """How many customers have running figures, and every figure and open item that differs from a full recompute
    from the ledger (`computed`, `computed_items`), by customer code: read CHUNK customers at a time, so memory
    holds one chunk's figures and open items (and what differs), whatever the size of the ledger."""
    kept = windows(session)
    customers, found = 0, []
    for chunk in _chunks(session.scalars(select(Customer.id))):
        counted, differing = _differences(session, kept, chunk)
        customers += counted
        found += differing
    found.sort(key=lambda d: (d.customer, d.figure, d.invoice or "", d.instalment_id or 0))
    return customers, found


def _differences(session: Session, kept: Windows, chunk: list[int]) -> tuple[int, list[Difference]]:
    """`differences` for the customers of one chunk."""
    named = session.execute(select(Customer.id, Customer.code).where(Customer.id.in_(chunk)))
    codes: dict[int, str] = {row[0]: row[1] for row in named}
    figures = (CustomerFigures.customer_id, *(getattr(CustomerFigures, f) for f in FIGURES))
    kept_figures = {
        row[0]: tuple(row[1:]) for row in session.execute(select(*figures).where(figures[0].in_(chunk)))
    }
    ledger_figures = {row[0]: tuple(row[1:]) for row in session.execute(computed(kept, chunk))}
    nothing = (None,) * len(FIGURES)
    found = [
        Difference(codes[customer_id], name, was, said)
        for customer_id in kept_figures.keys() | ledger_figures.keys()
        for name, was, said in zip(
            FIGURES, kept_figures.get(customer_id, nothing), ledger_figures.get(customer_id, nothing), strict=True
        )
        if was != said
    ]
    columns = (OpenItem.customer_id, OpenItem.invoice_id, OpenItem.instalment_id, OpenItem.due_date)
    kept_items: dict[tuple[int, int, int | None], tuple[Any, ...]] = {
        (row[0], row[1], row[2]): tuple(row[3:])
        for row in session.execute(
            select(*columns, OpenItem.open_amount, OpenItem.disputed).where(OpenItem.customer_id.in_(chunk))
        )
    }
    ledger_items = {(row[0], row[1], row[2]): tuple(row[3:]) for row in session.execute(computed_items(chunk))}
    differing = [
        key for key in kept_items.keys() | ledger_items.keys() if kept_items.get(key) != ledger_items.get(key)
    ]
    invoices = select(Invoice.id, Invoice.number).where(Invoice.id.in_({key[1] for key in differing}))
    numbers = {row[0]: row[1] for row in session.execute(invoices)}
    for key in differing:
        customer_id, invoice_id, instalment_id = key
        invoice = numbers.get(invoice_id, str(invoice_id))
        found.append(
            Difference(
                codes[customer_id], "open_item", kept_items.get(key), ledger_items.get(key), invoice, instalment_id
            )
        )
    return len(kept_figures), found


def touched(session: Session) -> set[int]:
    """The customers whose ledger the session's pending flush changes (its new, changed and deleted invoices,
    payments, credit notes, instalments, allocations and orders)."""
    objects = [*session.new, *session.dirty, *session.deleted]
    customers = {o.customer_id for o in objects if isinstance(o, Invoice | Order)}
    invoices = {o.invoice_id for o in objects if isinstance(o, Payment | CreditNote | Instalment)}
    instalments = {o.instalment_id for o in objects if isinstance(o, Allocation)}
    if invoices:
        customers |= set(session.scalars(select(Invoice.customer_id).where(Invoice.id.in_(invoices))))
    if instalments:
        customers |= set(
            session.scalars(
                select(Invoice.customer_id)
                .join(Instalment, Instalment.invoice_id == Invoice.id)
                .where(Instalment.id.in_(instalments))
            )
        )
    return customers


def after_flush(session: Session, _context: UOWTransaction) -> None:
    """A flush that changed customers' ledgers recomputes their figures in the same transaction."""
    customers = touched(session)
    if customers:
        refresh(session, customers)


def fresh(as_of: dt.date, kept: Windows) -> Any:
    """The condition under which a customer's figures (`CustomerFigures`, outer-joined: none is nothing in the
    ledger) are the ledger's as of `as_of` with the windows `kept`: the windows are those kept, and nothing in the
    customer's ledger is dated after `as_of`."""
    same = select(LedgerWindows.id).where(
        LedgerWindows.sales_after == kept.sales_after, LedgerWindows.paid_after == kept.paid_after
    )
    return and_(same.exists(), or_(CustomerFigures.latest.is_(None), CustomerFigures.latest <= as_of))
