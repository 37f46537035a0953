"""What happens to an order after its credit decision: a prepayment received, a change of amount, a cancellation.

An order released against a prepayment (`release_with_prepayment`) waits for it: it counts as released — and in
exposure — only once prepayments of at least the amount asked for are recorded. A prepayment reduces what an open
order adds to exposure (`kamflow.ledger.open_orders`). Each of these lowers what the customer may owe, so each
re-checks the customer's blocked orders (`orders.recheck_blocked`), as a payment, a credit note or a new limit
does. Every step is audited: the person's, and kamflow's release."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Protocol

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow import audit, clock, i18n, labels, reports
from kamflow.bounds import Line
from kamflow.credit import orders, policy, standing
from kamflow.credit.tables import OrderCreditCheck
from kamflow.errors import InvalidInput, NotFound
from kamflow.i18n import N_, _
from kamflow.models import Order
from kamflow.types import Day, Login, Note, Positive
from kamflow.views import View

AWAITING = "awaiting_prepayment"
STATUSES = (N_("open"), N_("awaiting prepayment"), N_("cancelled"), N_("invoiced"))
"""An order's statuses in words, for the catalog."""
CHANGEABLE = ("open", "blocked", AWAITING)


class OrderChangeIn(BaseModel):
    """A change to an order: a prepayment received (`amount`, `on`), a new `amount`, or a cancellation."""

    model_config = ConfigDict(extra="forbid")

    order: Annotated[str, Line(Order.number)] = Field(description="The order's number.")
    by: Login = Field(description="Who records the change.")
    amount: Positive | None = Field(default=None, description="The prepayment, or the order's new amount.")
    on: Day | None = Field(default=None, description="When the prepayment was received; default today.")
    reason: Note = Field(default="", description="Why (a cancellation).")


class OrderChanged(View):
    """An order after a prepayment, change or cancellation, and the blocked orders the re-check released."""

    order: str
    customer: str
    status: str
    amount: str
    prepaid: str
    released_orders: list[str]
    released_checks: list[int]

    def text(self) -> str:
        head = _("order {order} for {customer}: {status}, {amount} (prepaid {prepaid})").format(
            order=self.order,
            customer=self.customer,
            status=_(reports.words(self.status)),
            amount=reports.amount(self.amount),
            prepaid=reports.amount(self.prepaid),
        )
        released = self.released_orders
        return head + (
            "\n" + _("re-checked blocked orders, released: {orders}").format(orders=", ".join(released))
            if released
            else ""
        )


def _order(session: Session, number: str, login: str, *, also: tuple[str, ...]) -> tuple[Order, OrderCreditCheck]:
    order = session.scalar(select(Order).where(Order.number == number))
    if order is None:
        raise NotFound(_("no order {number}").format(number=number), field="order")
    check = session.scalar(select(OrderCreditCheck).where(OrderCreditCheck.order_id == order.id))
    if check is None:
        raise InvalidInput(
            _("order {number} was imported, not entered through the credit check").format(number=number),
            field="order",
        )
    standing.requester(session, login, check.customer, also=also)
    if order.status not in CHANGEABLE:
        raise InvalidInput(
            _("order {number} is {status}").format(number=number, status=labels.status(order.status)),
            field="order",
        )
    return order, check


def _done(session: Session, order: Order, check: OrderCreditCheck, now: dt.datetime) -> OrderChanged:
    released = orders.recheck_blocked(session, customer_id=check.customer_id, now=now)
    return OrderChanged(
        order=order.number,
        customer=check.customer.code,
        status=order.status,
        amount=str(order.amount),
        prepaid=str(order.prepaid),
        released_orders=[r.order.number for r in released],
        released_checks=[r.id for r in released],
    )


def _audit(
    session: Session, check: OrderCreditCheck, *, actor: str, action: str, now: dt.datetime, **detail: object
) -> None:
    audit.record(
        session,
        at=now,
        actor=actor,
        action=action,
        subject_type="order_credit_check",
        subject_id=check.id,
        detail={"order": check.order.number, **detail},
    )


def _amount(request: OrderChangeIn) -> Decimal:
    if request.amount is None:
        raise InvalidInput(_("give the amount"), field="amount")
    return request.amount


def record_prepayment(session: Session, request: OrderChangeIn, *, now: dt.datetime) -> OrderChanged:
    """Record a prepayment received for an order; an order awaiting it is released once the prepayments reach
    the amount asked for."""
    number, login, amount = request.order, request.by, _amount(request)
    received_on = request.on or clock.today(now)
    order, check = _order(session, number, login, also=policy.current().records_collection)
    if order.status == "blocked":
        raise InvalidInput(
            _("order {number} is blocked: release it against a prepayment first").format(number=number),
            field="order",
        )
    if amount > order.amount - order.prepaid:
        left = i18n.number(order.amount - order.prepaid, 2)
        raise InvalidInput(
            _("{amount} is more than the {left} of order {number} not prepaid").format(
                amount=i18n.number(amount, 2), left=left, number=number
            ),
            field="amount",
        )
    order.prepaid += amount
    _audit(
        session,
        check,
        actor=login,
        action="prepayment_received",
        now=now,
        amount=str(amount),
        received_on=received_on.isoformat(),
        prepaid=str(order.prepaid),
    )
    if check.status == AWAITING and order.prepaid >= (check.prepayment_amount or 0):
        check.status, order.status = "released", "open"
        _audit(
            session,
            check,
            actor="kamflow",
            action="order_released_on_prepayment",
            now=now,
            status=check.status,
            prepayment_amount=str(check.prepayment_amount),
        )
    return _done(session, order, check, now)


def change(session: Session, request: OrderChangeIn, *, now: dt.datetime) -> OrderChanged:
    """Change an order's amount. An open order may only shrink (more is a new order, through the credit check);
    a blocked one is re-checked at its new amount with the others."""
    number, login, amount = request.order, request.by, _amount(request)
    order, check = _order(session, number, login, also=policy.current().enters_orders)
    if order.status != "blocked" and amount > order.amount:
        raise InvalidInput(
            _("order {number} is {status}: enter the increase as a new order (it passes the credit check)").format(
                number=number, status=labels.status(order.status)
            ),
            field="amount",
        )
    if amount < order.prepaid:
        raise InvalidInput(
            _("{amount} is prepaid on order {number}").format(amount=i18n.number(order.prepaid, 2), number=number),
            field="amount",
        )
    old, order.amount = order.amount, amount
    _audit(session, check, actor=login, action="order_changed", now=now, old_amount=str(old), amount=str(amount))
    return _done(session, order, check, now)


def cancel(session: Session, request: OrderChangeIn, *, now: dt.datetime) -> OrderChanged:
    """Cancel an order that is open or awaiting its prepayment (a blocked one is rejected through its task)."""
    number, login, reason = request.order, request.by, request.reason
    order, check = _order(session, number, login, also=policy.current().enters_orders)
    if order.status == "blocked":
        raise InvalidInput(
            _("order {number} is blocked: reject it through its task").format(number=number), field="order"
        )
    order.status = "cancelled"
    if check.status == AWAITING:
        check.status = "cancelled"
    _audit(session, check, actor=login, action="order_cancelled", now=now, status=check.status, reason=reason)
    return _done(session, order, check, now)


class Change(Protocol):
    def __call__(self, session: Session, request: OrderChangeIn, *, now: dt.datetime) -> OrderChanged: ...


CHANGES: dict[str, Change] = {
    "prepayment": record_prepayment,
    "change": change,
    "cancellation": cancel,
}
