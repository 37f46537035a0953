"""A discount request: what a KAM asks, the facts the rules decide on, and what is recorded of the decision and
of a person's answer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow import access, approvals, audit, clock, customers, decisions, org, rulesets
from kamflow.credit import standing
from kamflow.discounts import RULESET
from kamflow.discounts.tables import DiscountNorm, DiscountRequest, PriceColumn, Promotion
from kamflow.errors import InvalidInput, NotFound
from kamflow.i18n import _
from kamflow.models import ApprovalTask, Customer, Employee
from kamflow.reports import pct
from kamflow.types import CustomerCode, Day, DiscountPercent, Login, Note, Positive

STATUS_BY_OUTCOME = {"approve": "approved", "escalate": "pending", "reject": "rejected"}


class DiscountRequestIn(BaseModel):
    """A KAM's request for a discount on an order."""

    model_config = ConfigDict(extra="forbid")

    customer: CustomerCode = Field(description="Customer code, e.g. C0001.")
    price_column: int = Field(ge=1, le=99, description="Price-list column the discount is asked on.")
    discount_pct: DiscountPercent = Field(description="Discount asked, in percent (0 < % < 100).")
    order_total: Positive = Field(description="Order total before the discount, in the customer's currency.")
    note: Note = Field(default="", description="Why the discount is needed.")
    requester: Login = Field(description="Login of the employee asking (normally the customer's KAM).")
    requested_on: Day | None = Field(default=None, description="Business date of the request; default today.")


class DiscountDecisionPayload(BaseModel):
    """What a department head may answer on an escalated discount."""

    action: Literal["approve", "reject", "counter"]
    discount_pct: Decimal | None = Field(default=None, gt=0, lt=100)


def _norm(session: Session, customer: Customer, column: int) -> Decimal:
    norm = session.scalar(
        select(DiscountNorm.max_pct)
        .join(PriceColumn, PriceColumn.id == DiscountNorm.price_column_id)
        .where(PriceColumn.number == column, DiscountNorm.customer_class == customer.customer_class)
    )
    if norm is None:
        columns = sorted(session.scalars(select(PriceColumn.number)).all())
        raise InvalidInput(
            _("price column {column} does not exist (columns: {columns})").format(column=column, columns=columns),
            field="price_column",
        )
    return norm


def _active_promotion(session: Session, customer: Customer, on: dt.date) -> Promotion | None:
    return session.scalar(
        select(Promotion)
        .where(Promotion.valid_from <= on, Promotion.valid_to >= on)
        .where((Promotion.customer_class.is_(None)) | (Promotion.customer_class == customer.customer_class))
        .order_by(Promotion.id)
    )


def facts(
    session: Session, request: DiscountRequestIn, *, on: dt.date
) -> tuple[Customer, Employee, dict[str, Any]]:
    """Check the request against the database and gather the facts the discount rule set expects.
    Raises a KamflowError naming the field for anything that does not fit; reads only."""
    customer = customers.by_code(session, request.customer)
    requester = org.employee(session, request.requester)
    access.act_on_customer(session, requester, customer, on=on)
    norm = _norm(session, customer, request.price_column)
    promotion = _active_promotion(session, customer, on)
    return (
        customer,
        requester,
        {
            "customer_class": customer.customer_class,
            "price_column": request.price_column,
            "discount_pct": request.discount_pct,
            "norm_pct": norm,
            "excess_pct": request.discount_pct - norm,
            "promotion_active": promotion is not None,
            "overdue_amount": standing.overdue_amount(session, customer.id, on=on),
            "order_total": request.order_total,
        },
    )


def submit(
    session: Session, *, request: DiscountRequestIn, flow_run_id: str | None, now: dt.datetime
) -> DiscountRequest:
    """Decide a request by the rules, store it and audit it. One row per flow run: a re-run of the same
    run finds its request as it was decided, and decides nothing again."""
    if flow_run_id is not None:
        existing = session.scalar(select(DiscountRequest).where(DiscountRequest.flow_run_id == flow_run_id))
        if existing is not None:
            return existing
    on = request.requested_on or clock.today(now)
    customer, requester, request_facts = facts(session, request, on=on)
    ruleset = rulesets.load(RULESET, session)
    decision = ruleset.decide(request_facts)
    audit.remember_ruleset(session, ruleset, at=now)
    status = STATUS_BY_OUTCOME[decision.outcome]
    row = DiscountRequest(
        flow_run_id=flow_run_id,
        customer_id=customer.id,
        price_column=request.price_column,
        discount_pct=request.discount_pct,
        order_total=request.order_total,
        currency=customer.currency,
        note=request.note,
        requester_id=requester.id,
        status=status,
        granted_pct=request.discount_pct if status == "approved" else None,
        decision=decision.model_dump(mode="json"),
        rules_version=decision.version,
        created_at=now,
        decided_at=None if status == "pending" else now,
    )
    return decisions.record_decision(
        session,
        row,
        subject_type="discount_request",
        action="discount",
        decision=decision,
        now=now,
        requester=requester.login,
        customer=customer.code,
        status=status,
        granted_pct=None if row.granted_pct is None else str(row.granted_pct),
    )


def request_of(_session: Session, row: DiscountRequest) -> DiscountRequestIn:
    """The request a discount request was started from, as its flow takes it (a fresh run for it says what was
    asked). Its business date is the day it was recorded: a date given on the request is not kept."""
    return DiscountRequestIn(
        customer=row.customer.code,
        price_column=row.price_column,
        discount_pct=row.discount_pct,
        order_total=row.order_total,
        note=row.note,
        requester=row.requester.login,
        requested_on=clock.today(row.created_at),
    )


def check_answer(request: DiscountRequest) -> approvals.Check:
    """The business check on a person's answer: a counter-offer must be a lower discount."""

    def check(_task: ApprovalTask, payload: dict[str, Any]) -> None:
        answer = DiscountDecisionPayload.model_validate(payload)
        if answer.action != "counter":
            return
        if answer.discount_pct is None:
            raise InvalidInput(_("a counter-offer needs --discount-pct"), field="discount_pct")
        if answer.discount_pct >= request.discount_pct:
            raise InvalidInput(
                _("a counter-offer must be below the requested {pct}").format(pct=pct(request.discount_pct)),
                field="discount_pct",
            )

    return check


def apply_answer(session: Session, *, subject_id: int, task_id: int, now: dt.datetime) -> DiscountRequest:
    """Carry a decided task's answer onto its request, once."""
    request = get(session, subject_id)
    if request.status != "pending":
        return request
    task, answer, actor = decisions.read_answer(session, task_id, DiscountDecisionPayload)
    if answer.action == "reject":
        request.status, request.granted_pct = "rejected", None
    else:
        request.status = "approved"
        request.granted_pct = answer.discount_pct if answer.action == "counter" else request.discount_pct
    request.decided_at = now
    decisions.audit_answer(
        session,
        task,
        actor=actor,
        action=f"discount_{answer.action}",
        subject_type="discount_request",
        subject_id=request.id,
        now=now,
        status=request.status,
        granted_pct=None if request.granted_pct is None else str(request.granted_pct),
    )
    return request


def get(session: Session, request_id: int) -> DiscountRequest:
    found = session.get(DiscountRequest, request_id)
    if found is None:
        raise NotFound(_("no discount request {request}").format(request=request_id), field="request")
    return found
