"""A customer's credit standing on a day: who they are, what they owe and have on order, and the limits
in force. Reads only; every figure comes from `kamflow.ledger` and `kamflow.credit.facts`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow import access, clock, customers, i18n, ledger, org
from kamflow.credit import facts, policy
from kamflow.credit.tables import CreditCheck, CreditTerms
from kamflow.errors import InvalidInput, NotFound
from kamflow.i18n import N_, _
from kamflow.models import Base, Customer, Employee
from kamflow.reports import amount, pct
from kamflow.views import Part, View

Row = TypeVar("Row", bound=Base)


def get_row(session: Session, table: type[Row], row_id: int, what: str) -> Row:
    """The row with this id (NotFound naming `what` otherwise)."""
    found = session.get(table, row_id)
    if found is None:
        raise NotFound(_("no {what} {id}").format(what=_(what), id=row_id), field=what.rsplit(" ", 1)[-1])
    return found


def customer(session: Session, code: str) -> Customer:
    """The active customer with this code (NotFound / InvalidInput on `customer`)."""
    found = customers.by_code(session, code)
    if not found.active:
        raise InvalidInput(_("customer {customer} is not active").format(customer=code), field="customer")
    return found


def requester(session: Session, login: str, client: Customer, *, also: tuple[str, ...]) -> Employee:
    """The person asking, if the access policy lets them act on the customer (they look after it, stand in for
    someone who does, or hold one of the roles in `also`); NotPermitted on `requester` otherwise."""
    person = org.employee(session, login)
    access.act_on_customer(session, person, client, on=clock.today(), also=also)
    return person


@dataclass(frozen=True)
class Standing:
    customer: Customer
    on: dt.date
    exposure: facts.Exposure
    limits: facts.Limits
    oldest_overdue_days: int
    grace_days: int


def limits(session: Session, client: Customer, *, on: dt.date) -> facts.Limits:
    terms = session.get(CreditTerms, client.id)
    total, until = facts.effective_limit(
        client.credit_limit,
        terms.temporary_limit if terms else None,
        terms.temporary_until if terms else None,
        on,
    )
    return facts.Limits(
        total=total,
        base=client.credit_limit,
        temporary_until=until,
        open_orders=terms.open_orders_limit if terms else None,
        open_invoices=terms.open_invoices_limit if terms else None,
        overdue=terms.overdue_limit if terms else None,
    )


def standing(session: Session, client: Customer, *, on: dt.date, this_order: Decimal = facts.ZERO) -> Standing:
    """Exposure by category (with `this_order` on top) and the limits in force on `on`."""
    grace = policy.current().grace_days
    owed = session.execute(ledger.receivables(on, grace_days=grace, customer_ids=[client.id])).one_or_none()
    ordered = session.execute(ledger.open_orders(on, customer_ids=[client.id])).one_or_none()
    exposure = facts.Exposure(
        open_invoices=owed.open_amount if owed else Decimal("0.00"),
        open_orders=ordered.open_orders if ordered else Decimal("0.00"),
        overdue=owed.overdue_amount if owed else Decimal("0.00"),
        this_order=this_order,
    )
    return Standing(
        customer=client,
        on=on,
        exposure=exposure,
        limits=limits(session, client, on=on),
        oldest_overdue_days=owed.oldest_overdue_days if owed else 0,
        grace_days=grace,
    )


def overdue_amount(session: Session, customer_id: int, *, on: dt.date) -> Decimal:
    """What the customer owes overdue on `on` by the one definition (`kamflow.ledger.overdue_when`), with the
    credit policy's grace days: the figure order credit, solvency, discounts and the review all use."""
    grace = policy.current().grace_days
    return ledger.overdue_amount(session, customer_id=customer_id, as_of=on, grace_days=grace)


def latest_check(session: Session, customer_id: int) -> CreditCheck | None:
    """The customer's latest decided solvency check."""
    return session.scalar(
        select(CreditCheck)
        .where(CreditCheck.customer_id == customer_id, CreditCheck.status == "decided")
        .order_by(CreditCheck.id.desc())
        .limit(1)
    )


CATEGORIES = (N_("open invoices"), N_("open orders"), N_("overdue"), N_("total"))
"""The exposure categories and the limits on them as people name them, for the catalog."""
ROWS = (N_("order credit check"), N_("credit limit change"), N_("solvency check"))
"""What `get_row` may not find, as people name it, for the catalog."""


NO_LIMIT = N_("no limit")
"""A missing limit, as a view keeps it (in English; `limit_text` says it in the reader's language)."""


def limit_text(limit: str | None) -> str:
    """A limit kept as text (an amount, or none: `NO_LIMIT`) as the reader writes it."""
    return _(NO_LIMIT) if limit in (None, NO_LIMIT) else amount(limit)


class ExposureLine(Part):
    category: str
    amount: str
    limit: str | None
    """None: no limit set (not checked)."""
    headroom: str | None
    utilisation_pct: str | None

    def text(self) -> str:
        head = f"  {_(self.category):<18}{amount(self.amount):>18}"
        if self.limit is None:
            return head + "  " + _("no limit")
        used = f"  {pct(self.utilisation_pct)}" if self.utilisation_pct else ""
        figures = _("limit {limit}  headroom {headroom}").format(
            limit=f"{amount(self.limit):>16}", headroom=f"{amount(self.headroom):>16}"
        )
        return f"{head}  {figures}{used}"


class ExposureView(View):
    """A customer's exposure by category against the limits in force: what `kamflow credit exposure` shows."""

    customer: str
    name: str
    as_of: str
    currency: str
    credit_limit: str | None
    """None: no total limit set."""
    base_limit: str | None
    temporary_until: str | None
    grace_days: int
    oldest_overdue_days: int
    categories: list[ExposureLine]

    def text(self) -> str:
        temporary = self.temporary_until
        until = (
            _(" (temporary until {day}; base {base})").format(
                day=i18n.day(dt.date.fromisoformat(temporary)), base=limit_text(self.base_limit)
            )
            if temporary
            else ""
        )
        limit = (
            _("no limit")
            if self.credit_limit is None
            else _("limit {limit}").format(limit=amount(self.credit_limit))
        )
        head = _("exposure of {customer} {name} as of {day}, {limit}{until}").format(
            customer=self.customer,
            name=self.name,
            day=i18n.day(dt.date.fromisoformat(self.as_of)),
            limit=limit,
            until=until,
        )
        oldest = _("oldest overdue: {days} days (grace {grace} days)").format(
            days=self.oldest_overdue_days, grace=self.grace_days
        )
        return "\n".join([head, *(line.text() for line in self.categories), oldest])


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


def exposure_view(s: Standing) -> ExposureView:
    """The breakdown `kamflow credit exposure` shows."""
    return ExposureView(
        customer=s.customer.code,
        name=s.customer.name,
        as_of=s.on.isoformat(),
        currency=s.customer.currency,
        credit_limit=_text(s.limits.total),
        base_limit=_text(s.limits.base),
        temporary_until=s.limits.temporary_until.isoformat() if s.limits.temporary_until else None,
        grace_days=s.grace_days,
        oldest_overdue_days=s.oldest_overdue_days,
        categories=[
            ExposureLine(
                category=line.category,
                amount=str(line.amount),
                limit=_text(line.limit),
                headroom=_text(line.headroom),
                utilisation_pct=None if line.utilisation_pct is None else str(line.utilisation_pct),
            )
            for line in facts.breakdown(s.exposure, s.limits)
        ],
    )
