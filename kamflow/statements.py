"""A customer's statement of account for a period: the opening balance, every invoice (with its instalments),
payment and credit note in date order with the running balance, and the closing balance — what `kamflow
statement` shows and exports.

The balance is the ledger's: invoices issued less payments made and credit notes issued, so with no end date it
is, as of today, what `credit exposure` shows as open invoices. The late-payment interest and the dunning fees the
nightly credit review works out are listed among the entries too (interest as of the period's latest review, each
fee on the night its level was reached), but they are claims nobody has invoiced: they stand in their own column
and stay out of the balance; the statement adds them up beside it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow import i18n, ledger
from kamflow.errors import InvalidInput
from kamflow.i18n import N_, _
from kamflow.models import CreditNote, Customer, Instalment, Invoice, Payment
from kamflow.returns import REASONS
from kamflow.review.tables import CreditReview, CustomerReview
from kamflow.tabular import Column, Row, Table, Tabular
from kamflow.views import Part

ZERO = Decimal("0.00")
Kind = Literal["invoice", "payment", "credit_note", "interest", "fee"]
ORDER: dict[str, int] = {"invoice": 0, "payment": 1, "credit_note": 2, "fee": 3, "interest": 4}
"""On one day: invoices, then payments and credit notes, then the review's charges."""
COLUMNS = (
    Column(N_("date"), "date"),
    Column(N_("document")),
    Column(N_("description")),
    Column(N_("due"), "date"),
    Column(N_("debit"), "money"),
    Column(N_("credit"), "money"),
    Column(N_("balance"), "money"),
    Column(N_("interest and fees"), "money"),
)


class Entry(Part):
    """A line of the statement: an invoice (debit), a payment or credit note (credit), or a charge of the credit
    review."""

    date: dt.date
    kind: Kind
    document: str
    description: str
    due_date: dt.date | None
    debit: Decimal | None
    credit: Decimal | None
    charge: Decimal | None
    balance: Decimal


class StatementView(Tabular):
    """A customer's statement of account for a period, in the customer's currency."""

    customer: str
    name: str
    currency: str
    kam: str
    period_from: dt.date
    period_to: dt.date
    opening_balance: Decimal
    entries: list[Entry]
    invoiced: Decimal
    paid: Decimal
    closing_balance: Decimal
    interest: Decimal
    fees: Decimal
    closing_with_charges: Decimal

    def table(self) -> Table:
        rows = [
            Row(
                (self.period_from, "", _("opening balance"), None, None, None, self.opening_balance, None),
                total=True,
            ),
            *(
                Row((e.date, e.document, e.description, e.due_date, e.debit, e.credit, e.balance, e.charge))
                for e in self.entries
            ),
            Row(
                (
                    self.period_to,
                    "",
                    _("closing balance"),
                    None,
                    self.invoiced,
                    self.paid,
                    self.closing_balance,
                    self.interest + self.fees,
                ),
                total=True,
            ),
        ]
        return Table(
            title=_("Statement of account: {customer} {name}").format(customer=self.customer, name=self.name),
            lines=(
                _("period {start} to {end}, amounts in {currency}; key account manager {kam}").format(
                    start=i18n.day(self.period_from),
                    end=i18n.day(self.period_to),
                    currency=self.currency,
                    kam=self.kam,
                ),
            ),
            columns=tuple(column.shown() for column in COLUMNS),
            rows=tuple(rows),
            notes=(
                _(
                    "Interest and fees are the nightly credit review's: late-payment interest on the overdue "
                    "amounts as of its latest review in the period, and a fee for each dunning level reached. "
                    "They are not invoiced and are not in the balance."
                ),
                _("Closing balance {closing}; with interest and fees {charged}.").format(
                    closing=i18n.money(self.closing_balance, self.currency),
                    charged=i18n.money(self.closing_with_charges, self.currency),
                ),
            ),
        )


def statement(session: Session, client: Customer, *, start: dt.date | None, end: dt.date) -> StatementView:
    """The statement of `client` from `start` (default: its first invoice) to `end`, both days included;
    InvalidInput on `from` when the period starts after it ends."""
    first = session.scalar(
        select(Invoice.issue_date).where(Invoice.customer_id == client.id).order_by(Invoice.issue_date).limit(1)
    )
    start = start or min(first or end, end)
    if start > end:
        raise InvalidInput(f"from: {start} is after to: {end}", field="from")
    opening = _balance(session, client, before=start)
    lines = sorted(
        [
            *_invoices(session, client, start, end),
            *_payments(session, client, start, end),
            *_credit_notes(session, client, start, end),
            *_charges(session, client, start, end),
        ],
        key=lambda line: (line[0], ORDER[line[1]], line[2]),
    )
    entries, balance = [], opening
    for date, kind, document, description, due, debit, credit, charge in lines:
        balance += (debit or ZERO) - (credit or ZERO)
        entries.append(
            Entry(
                date=date,
                kind=kind,
                document=document,
                description=description,
                due_date=due,
                debit=debit,
                credit=credit,
                charge=charge,
                balance=balance,
            )
        )
    interest = sum((e.charge or ZERO for e in entries if e.kind == "interest"), ZERO)
    fees = sum((e.charge or ZERO for e in entries if e.kind == "fee"), ZERO)
    return StatementView(
        customer=client.code,
        name=client.name,
        currency=client.currency,
        kam=client.kam.login,
        period_from=start,
        period_to=end,
        opening_balance=opening,
        entries=entries,
        invoiced=sum((e.debit or ZERO for e in entries), ZERO),
        paid=sum((e.credit or ZERO for e in entries), ZERO),
        closing_balance=balance,
        interest=interest,
        fees=fees,
        closing_with_charges=balance + interest + fees,
    )


Line = tuple[dt.date, Kind, str, str, dt.date | None, Decimal | None, Decimal | None, Decimal | None]


def _balance(session: Session, client: Customer, *, before: dt.date) -> Decimal:
    """Invoiced less paid and credited before a day."""
    invoiced = session.scalar(
        select(ledger.money_sum(Invoice.amount)).where(
            Invoice.customer_id == client.id, Invoice.issue_date < before
        )
    )
    paid = session.scalar(
        select(ledger.money_sum(Payment.amount))
        .join(Invoice, Invoice.id == Payment.invoice_id)
        .where(Invoice.customer_id == client.id, Payment.paid_on < before)
    )
    credited = session.scalar(
        select(ledger.money_sum(CreditNote.amount))
        .join(Invoice, Invoice.id == CreditNote.invoice_id)
        .where(Invoice.customer_id == client.id, CreditNote.issued_on < before)
    )
    return Decimal(invoiced or ZERO) - Decimal(paid or ZERO) - Decimal(credited or ZERO)


def _invoices(session: Session, client: Customer, start: dt.date, end: dt.date) -> list[Line]:
    """Each invoice of the period; one with a payment schedule names its instalments (due date and amount)."""
    rows = session.execute(
        select(
            Invoice.id, Invoice.issue_date, Invoice.number, Invoice.due_date, Invoice.amount, Invoice.disputed
        ).where(Invoice.customer_id == client.id, Invoice.issue_date.between(start, end))
    ).all()
    schedules: dict[int, list[str]] = {}
    for invoice_id, due, amount in session.execute(
        select(Instalment.invoice_id, Instalment.due_date, Instalment.amount)
        .where(Instalment.invoice_id.in_([row.id for row in rows]))
        .order_by(Instalment.due_date)
    ):
        schedules.setdefault(invoice_id, []).append(
            _("{amount} due {day}").format(amount=i18n.number(Decimal(amount), 2), day=i18n.day(due))
        )
    return [
        (
            issued,
            "invoice",
            number,
            (_("invoice (disputed)") if disputed else _("invoice"))
            + (
                _(" in instalments: {instalments}").format(instalments="; ".join(schedules[id_]))
                if id_ in schedules
                else ""
            ),
            None if id_ in schedules else due,
            amount,
            None,
            None,
        )
        for id_, issued, number, due, amount, disputed in rows
    ]


def _payments(session: Session, client: Customer, start: dt.date, end: dt.date) -> list[Line]:
    rows = session.execute(
        select(Payment.paid_on, Invoice.number, Payment.amount)
        .join(Invoice, Invoice.id == Payment.invoice_id)
        .where(Invoice.customer_id == client.id, Payment.paid_on.between(start, end))
    )
    return [
        (paid_on, "payment", number, _("payment of {invoice}").format(invoice=number), None, None, amount, None)
        for paid_on, number, amount in rows
    ]


def _credit_notes(session: Session, client: Customer, start: dt.date, end: dt.date) -> list[Line]:
    rows = session.execute(
        select(CreditNote.issued_on, CreditNote.number, Invoice.number, CreditNote.reason, CreditNote.amount)
        .join(Invoice, Invoice.id == CreditNote.invoice_id)
        .where(Invoice.customer_id == client.id, CreditNote.issued_on.between(start, end))
    )
    return [
        (
            issued,
            "credit_note",
            number,
            _("credit note on {invoice} ({reason})").format(invoice=invoice, reason=_(REASONS[reason])),
            None,
            None,
            amount,
            None,
        )
        for issued, number, invoice, reason, amount in rows
    ]


def _charges(session: Session, client: Customer, start: dt.date, end: dt.date) -> list[Line]:
    """The dunning fees of the period's completed reviews, and the late-payment interest of the latest of them."""
    rows = session.execute(
        select(
            CreditReview.business_date, CustomerReview.fee, CustomerReview.dunning_level, CustomerReview.interest
        )
        .join(CreditReview, CreditReview.id == CustomerReview.review_id)
        .where(
            CustomerReview.customer_id == client.id,
            CreditReview.status == "completed",
            CreditReview.business_date.between(start, end),
        )
        .order_by(CreditReview.business_date)
    ).all()
    fees: list[Line] = [
        (night, "fee", "", _("dunning fee, level {level}").format(level=level), None, None, None, Decimal(fee))
        for night, fee, level, _interest in rows
        if fee > 0
    ]
    if rows and rows[-1].interest > 0:
        night, interest = rows[-1].business_date, Decimal(rows[-1].interest)
        interest_to = _("late-payment interest to {day}").format(day=i18n.day(night))
        fees.append((night, "interest", "", interest_to, None, None, None, interest))
    return fees
