"""Payment schedules and what settles them.

An invoice may fall due in instalments (`Instalment`, summing to the invoice); one without falls due whole. A
payment or a credit note settles the instalment it names, or else the oldest open part first: of its invoice if it
names one, else of its customer's invoices issued by its date (by due date, then invoice). What settles an
instalment is written as an `Allocation`, dated as its payment or credit note; a payment that names no invoice is
written as one payment per invoice it settles. A `Book` holds the parts of some customers' invoices while the rows
of a file settle them in order."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, literal, select, union_all
from sqlalchemy.orm import Session

from kamflow import i18n, ledger
from kamflow.errors import InvalidInput
from kamflow.i18n import _, ngettext
from kamflow.models import Allocation, CreditNote, Customer, Instalment, Invoice, Payment

CENTS = Decimal("0.01")


@dataclass
class Part:
    """An invoice, or one instalment of it, and what is still open on it."""

    invoice_id: int
    instalment_id: int | None
    customer_id: int
    issue_date: dt.date
    due_date: dt.date
    open: Decimal


Settled = list[tuple[Part, Decimal]]
"""What a payment or credit note settles: each part and the amount that goes to it."""


class Book:
    """Every part of the given customers' invoices with what is open on it, kept up to date as rows settle them."""

    def __init__(self, session: Session, customer_ids: Collection[int]) -> None:
        self._of_invoice: defaultdict[int, list[Part]] = defaultdict(list)
        self._of_customer: defaultdict[int, list[Part]] = defaultdict(list)
        balances = ledger.invoice_balances(ledger.FOREVER, customer_ids=sorted(customer_ids)).subquery()
        rows = session.execute(
            select(balances).order_by(balances.c.due_date, balances.c.invoice_id, balances.c.instalment_id)
        )
        for row in rows:
            part = Part(
                invoice_id=row.invoice_id,
                instalment_id=row.instalment_id,
                customer_id=row.customer_id,
                issue_date=row.issue_date,
                due_date=row.due_date,
                open=max(Decimal(row.open_amount).quantize(CENTS), Decimal("0.00")),
            )
            self._of_invoice[part.invoice_id].append(part)
            self._of_customer[part.customer_id].append(part)

    def parts(self, invoice: Invoice, instalment: int | None = None) -> tuple[list[Part], str]:
        """The parts of an invoice (by due date), or its `instalment`-th (from 1), and how to name them;
        InvalidInput on `instalment` if the invoice has no such instalment."""
        parts = self._of_invoice[invoice.id]
        if instalment is None:
            return parts, _("invoice {number}").format(number=invoice.number)
        if parts[0].instalment_id is None:
            raise InvalidInput(
                _("invoice {number} has no instalments").format(number=invoice.number), field="instalment"
            )
        if instalment > len(parts):
            many = ngettext(
                "invoice {number} has {count} instalment", "invoice {number} has {count} instalments", len(parts)
            )
            raise InvalidInput(many.format(number=invoice.number, count=len(parts)), field="instalment")
        which = _("instalment {instalment} of invoice {number}").format(
            instalment=instalment, number=invoice.number
        )
        return [parts[instalment - 1]], which

    def settle_invoice(self, invoice: Invoice, amount: Decimal, *, instalment: int | None = None) -> Settled:
        """Settle `amount` on the invoice's `instalment`-th instalment (from 1), or on its oldest open parts."""
        parts, what = self.parts(invoice, instalment)
        return settle(parts, amount, what=what)

    def settle_customer(self, client: Customer, amount: Decimal, *, on: dt.date) -> Settled:
        """Settle `amount` on the oldest open parts of the customer's invoices issued by `on`."""
        parts = [part for part in self._of_customer[client.id] if part.issue_date <= on]
        what = _("the invoices of {customer} issued by {day}").format(customer=client.code, day=i18n.day(on))
        return settle(parts, amount, what=what)


def settle(parts: Sequence[Part], amount: Decimal, *, what: str) -> Settled:
    """Settle `amount` on the oldest open parts first and take it off what they have open; InvalidInput on
    `amount` (and nothing taken) if it is more than is open on them."""
    open_ = sum((part.open for part in parts), Decimal("0.00"))
    if amount > open_:
        raise InvalidInput(
            _("{amount} is more than the {open} open on {what}").format(
                amount=i18n.number(amount, 2), open=i18n.number(open_, 2), what=what
            ),
            field="amount",
        )
    settled: Settled = []
    rest = amount
    for part in parts:
        share = min(part.open, rest)
        if share > 0:
            part.open -= share
            rest -= share
            settled.append((part, share))
    return settled


def write_payments(session: Session, payments: Iterable[tuple[dt.date, Settled]]) -> int:
    """Write each payment (its day and what it settles) as one payment per invoice, and an allocation for each
    instalment it settles; returns how many payments were written."""
    rows: list[dict[str, Any]] = []
    parts: list[Settled] = []
    for paid_on, settled in payments:
        per_invoice: defaultdict[int, Settled] = defaultdict(list)
        for part, share in settled:
            per_invoice[part.invoice_id].append((part, share))
        for invoice_id, shares in per_invoice.items():
            amount = sum((share for _, share in shares), Decimal("0.00"))
            rows.append({"invoice_id": invoice_id, "paid_on": paid_on, "amount": amount})
            parts.append(shares)
    if not rows:
        return 0
    ids = session.scalars(insert(Payment).returning(Payment.id, sort_by_parameter_order=True), rows).all()
    _allocate(session, "payment_id", zip(ids, (row["paid_on"] for row in rows), parts, strict=True))
    return len(rows)


def write_credit_notes(session: Session, notes: Sequence[tuple[dict[str, Any], Settled]]) -> None:
    """Write each credit note (its columns and what it settles, on one invoice) with its allocations."""
    rows = [row for row, _ in notes]
    if not rows:
        return
    ids = session.scalars(insert(CreditNote).returning(CreditNote.id, sort_by_parameter_order=True), rows).all()
    days = [row["issued_on"] for row in rows]
    _allocate(session, "credit_note_id", zip(ids, days, (settled for _, settled in notes), strict=True))


def schedule(session: Session, invoices: dict[Invoice, list[tuple[dt.date, Decimal]]]) -> None:
    """Give each invoice its instalments (due date and amount, checked by the caller to sum to the invoice) and
    allocate what already settled it — its payments and credit notes in the order they came — to them, oldest due
    first."""
    session.execute(
        insert(Instalment),
        [
            {"invoice_id": invoice.id, "due_date": due, "amount": amount}
            for invoice, instalments in invoices.items()
            for due, amount in instalments
        ],
    )
    book = Book(session, {invoice.customer_id for invoice in invoices})
    by_id = {invoice.id: invoice for invoice in invoices}
    earlier = union_all(
        select(Payment.invoice_id, Payment.paid_on.label("on"), Payment.id, Payment.amount, literal("payment_id")),
        select(
            CreditNote.invoice_id,
            CreditNote.issued_on,
            CreditNote.id,
            CreditNote.amount,
            literal("credit_note_id"),
        ),
    ).subquery()
    sources = session.execute(
        select(earlier).where(earlier.c.invoice_id.in_(list(by_id))).order_by(earlier.c.on, earlier.c.id)
    ).all()
    for invoice_id, on, source_id, amount, source in sources:
        parts, what = book.parts(by_id[invoice_id])  # new instalments: nothing allocated to them yet
        _allocate(session, source, [(source_id, on, settle(parts, Decimal(amount).quantize(CENTS), what=what))])


def _allocate(session: Session, source: str, settled: Iterable[tuple[int, dt.date, Settled]]) -> None:
    """An allocation for each instalment the payments or credit notes (`source`: the column naming them) settle."""
    rows = [
        {"instalment_id": part.instalment_id, source: source_id, "settled_on": on, "amount": share}
        for source_id, on, shares in settled
        for part, share in shares
        if part.instalment_id is not None
    ]
    if rows:
        session.execute(insert(Allocation), rows)
