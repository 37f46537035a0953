"""Returns and refusals (clause 2.11: the KAM analyses them): the credit notes of a period by reason, per customer
and month, per KAM and in all, with their share of what the customer was invoiced in the period — what `kamflow
report returns` shows and exports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow import i18n, ledger
from kamflow.i18n import N_, _
from kamflow.models import CREDIT_NOTE_REASONS, CreditNote, Customer, Employee, Invoice
from kamflow.tabular import Column, Row, Table, Tabular
from kamflow.views import Part

ZERO = Decimal("0.00")
REASONS: dict[str, str] = {
    "returned": N_("returned"),
    "refused": N_("refused"),
    "damaged": N_("damaged"),
    "price_dispute": N_("price dispute"),
}
"""Each reason of a credit note (`models.CREDIT_NOTE_REASONS`) as people read it; `_` translates it where shown."""


class ReturnsLine(Part):
    """A customer's credit notes of one month, or the total of a KAM's customers or of everyone's, by reason."""

    kam: str
    customer: str | None
    name: str
    month: str | None
    currency: str
    by_reason: list[Decimal]
    total: Decimal
    notes: int
    invoiced: Decimal | None
    """What the customer was invoiced in the whole period (customer lines only)."""

    def cells(self) -> tuple[str | int | Decimal | None, ...]:
        share = None if not self.invoiced else f"{i18n.number(self.total / self.invoiced * 100, 1)} %"
        head = (self.kam, self.customer, self.name, self.month, self.currency)
        return (*head, *self.by_reason, self.total, self.notes, share)


class ReturnsView(Tabular):
    """Credit notes issued from `period_from` to `period_to`, by reason: each customer's per month under its KAM,
    each KAM's total and the grand total, per currency."""

    period_from: dt.date
    period_to: dt.date
    kam: str | None
    reasons: list[str]
    customers: list[ReturnsLine]
    kams: list[ReturnsLine]
    totals: list[ReturnsLine]

    def table(self) -> Table:
        columns = (
            Column(_("KAM")),
            Column(_("customer")),
            Column(_("name")),
            Column(_("month")),
            Column(_("currency")),
            *(Column(_(REASONS[reason]), "money") for reason in self.reasons),
            Column(_("total"), "money"),
            Column(_("credit notes"), "count"),
            Column(_("of invoiced")),
        )
        rows: list[Row] = []
        for kam in self.kams:
            rows += [Row(c.cells()) for c in self.customers if (c.kam, c.currency) == (kam.kam, kam.currency)]
            rows.append(Row(kam.cells(), total=True))
        rows += [Row(total.cells(), total=True) for total in self.totals]
        whose = _("customers of {kam}").format(kam=self.kam) if self.kam else _("every customer you may see")
        return Table(
            _("Returns and refusals from {start} to {end}").format(
                start=i18n.day(self.period_from), end=i18n.day(self.period_to)
            ),
            (
                _(
                    "credit notes by reason, {whose}; of invoiced: the customer's credit notes of the period "
                    "against what it was invoiced in the period"
                ).format(whose=whose),
            ),
            columns,
            tuple(rows),
        )


def returns(
    session: Session, *, start: dt.date, end: dt.date, kams: Collection[int] | None, kam: str | None
) -> ReturnsView:
    """The credit notes issued from `start` to `end` (both included) of the customers of `kams` (None: everyone's);
    `kam` names the one KAM asked for, if any."""
    customers = select(Customer.id)
    if kams is not None:
        customers = customers.where(Customer.kam_id.in_(kams))
    notes = session.execute(
        select(
            Employee.login,
            Customer.id,
            Customer.code,
            Customer.name,
            Customer.currency,
            CreditNote.issued_on,
            CreditNote.reason,
            CreditNote.amount,
        )
        .join(Invoice, Invoice.id == CreditNote.invoice_id)
        .join(Customer, Customer.id == Invoice.customer_id)
        .join(Employee, Employee.id == Customer.kam_id)
        .where(Customer.id.in_(customers), CreditNote.issued_on.between(start, end))
        .order_by(Employee.login, Customer.code, CreditNote.issued_on)
    ).all()
    invoiced: dict[int, Decimal] = dict(
        session.execute(
            select(Invoice.customer_id, ledger.money_sum(Invoice.amount))
            .where(Invoice.customer_id.in_({row.id for row in notes}), Invoice.issue_date.between(start, end))
            .group_by(Invoice.customer_id)
        ).all()
    )
    per_month: dict[tuple[str, str, str], list[Any]] = {}
    for row in notes:
        per_month.setdefault((row.login, row.code, row.issued_on.strftime("%Y-%m")), []).append(row)
    customer_lines = [
        ReturnsLine(
            kam=login,
            customer=code,
            name=rows[0].name,
            month=month,
            currency=rows[0].currency,
            by_reason=[
                sum((r.amount for r in rows if r.reason == reason), ZERO) for reason in CREDIT_NOTE_REASONS
            ],
            total=sum((r.amount for r in rows), ZERO),
            notes=len(rows),
            invoiced=Decimal(invoiced.get(rows[0].id, ZERO)),
        )
        for (login, code, month), rows in per_month.items()
    ]
    groups: dict[tuple[str, str], list[ReturnsLine]] = {}
    for line in customer_lines:
        groups.setdefault((line.kam, line.currency), []).append(line)
    return ReturnsView(
        period_from=start,
        period_to=end,
        kam=kam,
        reasons=list(CREDIT_NOTE_REASONS),
        customers=customer_lines,
        kams=[
            _sum(_("total of {kam}").format(kam=login), login, currency, group)
            for (login, currency), group in groups.items()
        ],
        totals=[
            _sum(_("total"), "", currency, [line for line in customer_lines if line.currency == currency])
            for currency in sorted({line.currency for line in customer_lines})
        ],
    )


def _sum(name: str, kam: str, currency: str, lines: list[ReturnsLine]) -> ReturnsLine:
    return ReturnsLine(
        kam=kam,
        customer=None,
        name=name,
        month=None,
        currency=currency,
        by_reason=[sum(amounts, ZERO) for amounts in zip(*(line.by_reason for line in lines), strict=True)],
        total=sum((line.total for line in lines), ZERO),
        notes=sum(line.notes for line in lines),
        invoiced=None,
    )
