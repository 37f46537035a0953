"""Order credit control (clauses 2.6, 2.8): every order's exposure against the limits, decided by the
`order_credit` rules. A blocked order waits for the credit controller or the department head (release,
release against a prepayment, or reject); when a limit changes, blocked orders are re-checked and those
that now pass are released — never a silent bypass: every step is audited."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import uuid4

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow import approvals, audit, clock, decisions, rulesets
from kamflow.bounds import Line
from kamflow.credit import facts, policy, standing
from kamflow.credit.tables import OrderCreditCheck
from kamflow.errors import InvalidInput
from kamflow.i18n import _
from kamflow.models import ApprovalTask, Customer, Employee, Order
from kamflow.policy import versions
from kamflow.reports import amount
from kamflow.types import CustomerCode, Day, Login, Positive
from kamflow.views import Explained, said
from rules.engine import Decision

PROCESS = "order-credit-check"
RULESET = "order_credit"
STATUS_BY_OUTCOME = {"approve": "approved", "block": "blocked"}
ORDER_STATUS = {
    "approved": "open",
    "released": "open",
    "blocked": "blocked",
    "rejected": "rejected",
    "awaiting_prepayment": "awaiting_prepayment",  # released once the prepayment is recorded (order_changes)
}
ANSWERED = {"release": "released", "release_with_prepayment": "awaiting_prepayment", "reject": "rejected"}


class OrderIn(BaseModel):
    """An order taken from a customer (clause 2.6), to be checked against the credit conditions."""

    model_config = ConfigDict(extra="forbid")

    customer: CustomerCode = Field(description="Customer code, e.g. C0001.")
    amount: Positive = Field(description="Order amount in the customer's currency.")
    number: Annotated[str, Line(Order.number)] | None = Field(
        default=None, description="Order number; default: one is assigned."
    )
    requester: Login = Field(description="Who enters the order: the customer's KAM, a superior or sales support.")
    ordered_on: Day | None = Field(default=None, description="Business date of the order; default today.")


class OrderAnswerPayload(BaseModel):
    action: Literal["release", "release_with_prepayment", "reject"]
    amount: Decimal | None = None


def prepare(session: Session, request: OrderIn) -> tuple[Customer, Employee]:
    """Check the order against the database (a KamflowError naming the field if it does not fit); reads only."""
    client = standing.customer(session, request.customer)
    person = standing.requester(session, request.requester, client, also=policy.current().enters_orders)
    if request.number is not None and session.scalar(select(Order.id).where(Order.number == request.number)):
        raise InvalidInput(f"order number {request.number} is taken", field="number")
    return client, person


def order_facts(session: Session, client: Customer, *, on: dt.date, amount: Decimal) -> dict[str, Any]:
    """The facts the `order_credit` rules decide on: exposure after the order, limits (each with a `has_…`
    fact: no limit set is not checked, and its amount fact is then 0), overdue debt and the latest solvency
    check."""
    now = standing.standing(session, client, on=on, this_order=amount)
    exposure, limits = now.exposure, now.limits
    check = standing.latest_check(session, client.id)
    return {
        "customer_class": client.customer_class,
        "order_amount": amount,
        "open_invoices": exposure.open_invoices,
        "open_orders_after": exposure.open_orders_after,
        "overdue_amount": exposure.overdue,
        "oldest_overdue_days": now.oldest_overdue_days,
        "grace_days": now.grace_days,
        "exposure_after": exposure.total,
        "has_limit": limits.total is not None,
        "credit_limit": facts.or_zero(limits.total),
        "over_limit_amount": facts.over_limit(exposure.total, limits.total),
        "has_open_orders_limit": limits.open_orders is not None,
        "open_orders_limit": facts.or_zero(limits.open_orders),
        "has_open_invoices_limit": limits.open_invoices is not None,
        "open_invoices_limit": facts.or_zero(limits.open_invoices),
        "has_overdue_limit": limits.overdue is not None,
        "overdue_limit": facts.or_zero(limits.overdue),
        "risk_class": check.risk_class if check else "none",
        "solvency_decision": (check.decision or "none") if check else "none",
    }


def _decide(session: Session, client: Customer, *, on: dt.date, amount: Decimal, now: dt.datetime) -> Decision:
    ruleset = rulesets.load(RULESET, session)
    audit.remember_ruleset(session, ruleset, at=now)
    return ruleset.decide(order_facts(session, client, on=on, amount=amount))


def submit(session: Session, *, request: OrderIn, flow_run_id: str | None, now: dt.datetime) -> OrderCreditCheck:
    """Record the order and its credit decision, and audit it. One per flow run: a re-run of the same run
    finds the order as it was decided and decides nothing again."""
    if flow_run_id is not None:
        existing = session.scalar(select(OrderCreditCheck).where(OrderCreditCheck.flow_run_id == flow_run_id))
        if existing is not None:
            return existing
    on = request.ordered_on or clock.today(now)
    client, person = prepare(session, request)
    decision = _decide(session, client, on=on, amount=request.amount, now=now)
    status = STATUS_BY_OUTCOME[decision.outcome]
    order = Order(
        number=request.number or f"new-{uuid4().hex[:26]}",
        customer_id=client.id,
        order_date=on,
        amount=request.amount,
        currency=client.currency,
        status=ORDER_STATUS[status],
    )
    session.add(order)
    session.flush()
    if request.number is None:
        order.number = f"SO-{order.id:08d}"
    check = OrderCreditCheck(
        flow_run_id=flow_run_id,
        order_id=order.id,
        customer_id=client.id,
        requester_id=person.id,
        status=status,
        prepayment_amount=None,
        decision=decision.model_dump(mode="json"),
        rules_version=decision.version,
        created_at=now,
        decided_at=None if status == "blocked" else now,
    )
    return decisions.record_decision(
        session,
        check,
        subject_type="order_credit_check",
        action="order",
        decision=decision,
        now=now,
        order=order.number,
        customer=client.code,
        requester=person.login,
        status=status,
        policies=versions(policy.current()),
    )


def request_of(_session: Session, check: OrderCreditCheck) -> OrderIn:
    """The order a credit check was started from, as its flow takes it (a fresh run for it says what was asked),
    with the number and date the order was recorded under."""
    order = check.order
    return OrderIn(
        customer=check.customer.code,
        amount=order.amount,
        number=order.number,
        requester=check.requester.login,
        ordered_on=order.order_date,
    )


def check_answer(check: OrderCreditCheck) -> approvals.Check:
    """A release against prepayment names a prepayment up to the order's amount; nothing else takes one."""
    order_amount = check.order.amount

    def verify(_task: ApprovalTask, payload: dict[str, Any]) -> None:
        answer = OrderAnswerPayload.model_validate(payload)
        if answer.action != "release_with_prepayment":
            if answer.amount is not None:
                raise InvalidInput(f"{answer.action} takes no amount", field="amount")
            return
        if answer.amount is None or answer.amount <= 0:
            raise InvalidInput("a release with prepayment needs the prepayment (--amount)", field="amount")
        if answer.amount > order_amount:
            raise InvalidInput(
                f"the prepayment cannot exceed the order's {facts.money(order_amount)}", field="amount"
            )

    return verify


def apply_answer(session: Session, *, subject_id: int, task_id: int, now: dt.datetime) -> OrderCreditCheck:
    """Carry a decided task's answer onto the blocked order, once."""
    check = get(session, subject_id)
    if check.status != "blocked":
        return check
    task, answer, actor = decisions.read_answer(session, task_id, OrderAnswerPayload)
    check.status = ANSWERED[answer.action]
    check.prepayment_amount = answer.amount if answer.action == "release_with_prepayment" else None
    check.order.status = ORDER_STATUS[check.status]
    check.decided_at = now
    decisions.audit_answer(
        session,
        task,
        actor=actor,
        action=f"order_{answer.action}",
        subject_type="order_credit_check",
        subject_id=check.id,
        now=now,
        order=check.order.number,
        status=check.status,
        prepayment_amount=None if check.prepayment_amount is None else str(check.prepayment_amount),
    )
    return check


def recheck_blocked(session: Session, *, customer_id: int, now: dt.datetime) -> list[OrderCreditCheck]:
    """Re-decide the customer's blocked orders, oldest first, under the limits in force now, so no order
    stays blocked under a limit that no longer applies. One that now passes is released by kamflow (its
    task closed, the decision replaced, all audited) and counts in the exposure of the next; one that
    still fails stays blocked, and the re-check is audited. Returns the released ones."""
    client = standing.get_row(session, Customer, customer_id, "customer")
    on = clock.today(now)
    blocked = session.scalars(
        select(OrderCreditCheck)
        .where(OrderCreditCheck.customer_id == customer_id, OrderCreditCheck.status == "blocked")
        .order_by(OrderCreditCheck.id)
    ).all()
    released = []
    for check in blocked:
        decision = _decide(session, client, on=on, amount=check.order.amount, now=now)
        task = approvals.current(session, process=PROCESS, subject_id=check.id)
        comment = f"re-checked under the limits of {on.isoformat()}: within the credit conditions"
        freed = (
            decision.outcome == "approve"
            and task is not None
            and approvals.claim(
                session, task, by=None, action="release", comment=comment, payload={"action": "release"}, now=now
            )
        )
        if freed:
            check.status, check.decided_at = "released", now
            check.decision, check.rules_version = decision.model_dump(mode="json"), decision.version
            check.order.status = ORDER_STATUS["released"]
            session.flush()
            released.append(check)
        audit.record(
            session,
            at=now,
            actor="kamflow",
            action="order_released_on_recheck" if freed else "order_still_blocked_on_recheck",
            subject_type="order_credit_check",
            subject_id=check.id,
            decision=decision,
            detail={
                "order": check.order.number,
                "task": task.id if task else None,
                "status": check.status,
                "policies": versions(policy.current()),
            },
        )
    return released


def get(session: Session, check_id: int) -> OrderCreditCheck:
    return standing.get_row(session, OrderCreditCheck, check_id, "order credit check")


def flow_runs(session: Session, check_ids: list[int]) -> list[tuple[int, str | None]]:
    """The flow run of each check, in the order given, read in one statement."""
    found = select(OrderCreditCheck.id, OrderCreditCheck.flow_run_id).where(OrderCreditCheck.id.in_(check_ids))
    runs: dict[int, str | None] = {check_id: run for check_id, run in session.execute(found)}
    return [(check_id, runs[check_id]) for check_id in check_ids]


class OrderView(Explained):
    """An order's credit decision: what `kamflow order submit` and `kamflow decide` show."""

    check_id: int
    order: str
    customer: str
    amount: str
    currency: str
    status: str
    prepayment_amount: str | None
    exposure_after: str
    credit_limit: str
    rules_version: str
    flow_run_id: str | None

    def text(self) -> str:
        prepayment = (
            _(" against a prepayment of {amount}").format(amount=amount(self.prepayment_amount))
            if self.prepayment_amount
            else ""
        )
        head = _(
            "order {order} for {customer}, {amount} {currency}: {status}{prepayment} (exposure after {exposure}, "
            "limit {limit})"
        ).format(
            order=self.order,
            customer=self.customer,
            amount=amount(self.amount),
            currency=self.currency,
            status=said(self.status),
            prepayment=prepayment,
            exposure=amount(self.exposure_after),
            limit=amount(self.credit_limit),
        )
        return "\n".join([head, *self.waiting_lines(), *self.reason_lines(), self.rules_line(self.rules_version)])


def view(session: Session, check: OrderCreditCheck) -> OrderView:
    """What `kamflow order submit` and `kamflow decide` show of an order's credit decision."""
    decision = check.decision
    return OrderView(
        check_id=check.id,
        order=check.order.number,
        customer=check.customer.code,
        amount=str(check.order.amount),
        currency=check.order.currency,
        status=check.status,
        prepayment_amount=None if check.prepayment_amount is None else str(check.prepayment_amount),
        exposure_after=decision["facts"]["exposure_after"],
        credit_limit=decision["facts"]["credit_limit"],
        reasons=rulesets.reasons_in(session, decision),
        rules_version=check.rules_version,
        flow_run_id=check.flow_run_id,
        **decisions.waiting(session, process=PROCESS, subject_id=check.id, on=clock.today()),
    )
