"""Credit-limit changes (clauses 2.5, 2.8): a new base, temporary or sub-limit, decided by the
`credit_limit` rules — at once, or after a person approves it. A temporary total limit lasts until its
date, then the base limit applies again. A limit below the current exposure needs an explicit
confirmation. After a change takes effect, the customer's blocked orders are re-checked (see
`kamflow.credit.orders.recheck_blocked`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow import approvals, audit, clock, decisions, i18n, labels, rulesets
from kamflow.credit import facts, orders, policy, standing
from kamflow.credit.standing import NO_LIMIT, limit_text
from kamflow.credit.tables import CreditLimitChange, CreditTerms, OrderCreditCheck
from kamflow.errors import InvalidInput
from kamflow.i18n import _
from kamflow.models import ApprovalTask, Customer, Employee, Order
from kamflow.policy import versions
from kamflow.reports import words
from kamflow.types import CustomerCode, Day, Login, NonNegative, Note
from kamflow.views import Explained, said

PROCESS = "credit-limit-change"
RULESET = "credit_limit"
STATUS_BY_OUTCOME = {"approve": "applied", "escalate": "pending", "reject": "rejected"}
Category = Literal["total", "open_orders", "open_invoices", "overdue"]


class LimitChangeIn(BaseModel):
    """A request to set one of a customer's credit limits."""

    model_config = ConfigDict(extra="forbid")

    customer: CustomerCode = Field(description="Customer code, e.g. C0001.")
    amount: NonNegative | None = Field(
        description="The new limit: 0 is no credit (for overdue: none tolerated); null clears it (not checked)."
    )
    category: Category = Field(
        default="total", description="Which limit: total, or a sub-limit (open_orders, open_invoices, overdue)."
    )
    until: Day | None = Field(
        default=None,
        description="Last day of a temporary total limit; the day after, the base limit applies again.",
    )
    confirm: bool = Field(default=False, description="Confirms a limit below the current exposure.")
    reason: Note = Field(default="", description="Why (audited).")
    requester: Login = Field(description="Login of the person asking.")
    requested_on: Day | None = Field(default=None, description="Business date; default today.")


class LimitAnswerPayload(BaseModel):
    action: Literal["approve", "reject"]


def _old_and_exposure(s: standing.Standing, request: LimitChangeIn) -> tuple[Decimal | None, Decimal]:
    """The limit the request replaces (for a temporary limit: the one in force today; for a new base: the
    base) and the exposure it covers."""
    limits, exposure = s.limits, s.exposure
    if request.category == "total":
        return (limits.base if request.until is None else limits.total), exposure.total
    if request.category == "open_orders":
        return limits.open_orders, exposure.open_orders
    if request.category == "open_invoices":
        return limits.open_invoices, exposure.open_invoices
    return limits.overdue, exposure.overdue


def prepare(session: Session, request: LimitChangeIn, *, on: dt.date) -> tuple[Customer, Employee, dict[str, Any]]:
    """Check the request (a KamflowError naming the field if it does not fit) and gather the facts the
    `credit_limit` rules expect; reads only."""
    client = standing.customer(session, request.customer)
    person = standing.requester(session, request.requester, client, also=policy.current().asks_limit_changes)
    if request.until is not None and request.category != "total":
        raise InvalidInput(_("only the total limit can be temporary"), field="until")
    if request.until is not None and request.until < on:
        raise InvalidInput(_("a temporary limit cannot end before {day}").format(day=i18n.day(on)), field="until")
    if request.until is not None and request.amount is None:
        raise InvalidInput(
            _("a temporary limit needs an amount; to end it early set the base again"), field="amount"
        )
    old, exposure = _old_and_exposure(standing.standing(session, client, on=on), request)
    if request.amount is not None and request.amount < exposure and not request.confirm:
        raise InvalidInput(
            _(
                "the new {category} limit {amount} is below the current exposure {exposure}; repeat with "
                "--confirm to set it anyway"
            ).format(
                category=labels.category(request.category),
                amount=i18n.money(request.amount, client.currency),
                exposure=i18n.money(exposure, client.currency),
            ),
            field="confirm",
        )
    return (
        client,
        person,
        {
            "category": request.category,
            "had_limit": old is not None,
            "old_limit": facts.or_zero(old),
            "has_limit": request.amount is not None,
            "new_limit": facts.or_zero(request.amount),
            "increase": facts.ZERO if old is None or request.amount is None else request.amount - old,
            "temporary": request.until is not None,
            "requester_role": person.role,
            "exposure": exposure,
        },
    )


def submit(
    session: Session, *, request: LimitChangeIn, flow_run_id: str | None, now: dt.datetime
) -> CreditLimitChange:
    """Decide the change by the rules, record and audit it, and apply it if the rules approve. One per
    flow run: a re-run finds the change as it was decided."""
    if flow_run_id is not None:
        existing = session.scalar(select(CreditLimitChange).where(CreditLimitChange.flow_run_id == flow_run_id))
        if existing is not None:
            return existing
    client, person, change_facts = prepare(session, request, on=request.requested_on or clock.today(now))
    ruleset = rulesets.load(RULESET, session)
    audit.remember_ruleset(session, ruleset, at=now)
    decision = ruleset.decide(change_facts)
    change = CreditLimitChange(
        flow_run_id=flow_run_id,
        customer_id=client.id,
        category=request.category,
        old_limit=None if not change_facts["had_limit"] else change_facts["old_limit"],
        new_limit=request.amount,
        until=request.until,
        exposure=change_facts["exposure"],
        confirmed=request.confirm,
        reason=request.reason,
        requester_id=person.id,
        status="pending",
        decision=decision.model_dump(mode="json"),
        rules_version=decision.version,
        released=[],
        created_at=now,
        decided_at=None,
    )
    decisions.record_decision(
        session,
        change,
        subject_type="credit_limit_change",
        action="limit_change",
        decision=decision,
        now=now,
        customer=client.code,
        requester=person.login,
        reason=request.reason,
        policies=versions(policy.current()),
    )
    status = STATUS_BY_OUTCOME[decision.outcome]
    if status == "applied":
        _apply(session, change, actor=person.login, now=now)
    elif status == "rejected":
        change.status, change.decided_at = "rejected", now
    return change


def request_of(_session: Session, change: CreditLimitChange) -> LimitChangeIn:
    """The request a limit change was started from, as its flow takes it (a fresh run for it says what was asked).
    Its business date is the day it was recorded: a date given on the request is not kept."""
    return LimitChangeIn(
        customer=change.customer.code,
        amount=change.new_limit,
        category=change.category,
        until=change.until,
        confirm=change.confirmed,
        reason=change.reason,
        requester=change.requester.login,
        requested_on=clock.today(change.created_at),
    )


def _apply(session: Session, change: CreditLimitChange, *, actor: str, now: dt.datetime) -> None:
    """Put the new limit in force, once, and re-check the customer's blocked orders under it in the same
    transaction. A new base limit is the customer's credit limit; a temporary one and the sub-limits live
    in the customer's credit terms."""
    terms = session.get(CreditTerms, change.customer_id)
    if terms is None and not (change.category == "total" and change.until is None):
        terms = CreditTerms(customer_id=change.customer_id, updated_at=now)
        session.add(terms)
    if change.category == "total" and change.until is None:
        change.customer.credit_limit = change.new_limit
    elif change.category == "total":
        assert terms is not None
        terms.temporary_limit, terms.temporary_until = change.new_limit, change.until
    else:
        assert terms is not None
        setattr(terms, f"{change.category}_limit", change.new_limit)
    if terms is not None:
        terms.updated_at = now
    change.status, change.decided_at = "applied", now
    session.flush()
    change.released = [
        check.id for check in orders.recheck_blocked(session, customer_id=change.customer_id, now=now)
    ]
    audit.record(
        session,
        at=now,
        actor=actor,
        action="limit_applied",
        subject_type="credit_limit_change",
        subject_id=change.id,
        detail={
            "customer": change.customer.code,
            "category": change.category,
            "old_limit": _text(change.old_limit),
            "new_limit": _text(change.new_limit),
            "until": change.until.isoformat() if change.until else None,
            "confirmed_below_exposure": change.confirmed
            and change.new_limit is not None
            and change.new_limit < change.exposure,
            "released_orders": change.released,
        },
    )


def _text(limit: Decimal | None) -> str | None:
    return None if limit is None else str(limit)


def check_answer(_change: CreditLimitChange) -> approvals.Check:
    def verify(_task: ApprovalTask, payload: dict[str, Any]) -> None:
        LimitAnswerPayload.model_validate(payload)

    return verify


def apply_answer(session: Session, *, subject_id: int, task_id: int, now: dt.datetime) -> CreditLimitChange:
    """Carry a decided task's answer onto the pending change, once: approve applies it, reject closes it."""
    change = get(session, subject_id)
    if change.status != "pending":
        return change
    task, answer, actor = decisions.read_answer(session, task_id, LimitAnswerPayload)
    decisions.audit_answer(
        session,
        task,
        actor=actor,
        action=f"limit_change_{answer.action}",
        subject_type="credit_limit_change",
        subject_id=change.id,
        now=now,
    )
    if answer.action == "approve":
        _apply(session, change, actor=actor, now=now)
    else:
        change.status, change.decided_at = "rejected", now
    return change


def get(session: Session, change_id: int) -> CreditLimitChange:
    return standing.get_row(session, CreditLimitChange, change_id, "credit limit change")


class LimitView(Explained):
    """A limit change: what `kamflow credit limit set` and `kamflow decide` show."""

    change_id: int
    customer: str
    category: str
    old_limit: str
    new_limit: str
    until: str | None
    exposure: str
    status: str
    released_orders: list[str]
    rules_version: str
    flow_run_id: str | None

    def text(self) -> str:
        until = _(" until {day}").format(day=i18n.day(dt.date.fromisoformat(self.until))) if self.until else ""
        head = _("{category} limit of {customer} {old} → {new}{until}: {status}").format(
            category=_(words(self.category)),
            customer=self.customer,
            old=limit_text(self.old_limit),
            new=limit_text(self.new_limit),
            until=until,
            status=said(self.status),
        )
        released = (
            [_("re-check released: {orders}").format(orders=", ".join(self.released_orders))]
            if self.released_orders
            else []
        )
        return "\n".join(
            [head, *self.waiting_lines(), *self.reason_lines(), *released, self.rules_line(self.rules_version)]
        )


def view(session: Session, change: CreditLimitChange) -> LimitView:
    """What `kamflow credit limit set` and `kamflow decide` show of a limit change."""
    return LimitView(
        change_id=change.id,
        customer=change.customer.code,
        category=change.category,
        old_limit=_text(change.old_limit) or NO_LIMIT,
        new_limit=_text(change.new_limit) or NO_LIMIT,
        until=change.until.isoformat() if change.until else None,
        exposure=str(change.exposure),
        status=change.status,
        reasons=rulesets.reasons_in(session, change.decision),
        released_orders=list(
            session.scalars(
                select(Order.number)
                .join(OrderCreditCheck, OrderCreditCheck.order_id == Order.id)
                .where(OrderCreditCheck.id.in_(change.released))
                .order_by(OrderCreditCheck.id)
            )
        ),
        rules_version=change.rules_version,
        flow_run_id=change.flow_run_id,
        **decisions.waiting(session, process=PROCESS, subject_id=change.id, on=clock.today()),
    )
