"""Helpers for credit control's unit tests: orders, limit changes and an answered task, as the flows make them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kamflow import approvals, org
from kamflow.credit import limits, orders, standing
from kamflow.credit.tables import CreditLimitChange, OrderCreditCheck
from kamflow.models import ApprovalTask, AuditEvent, Order
from tests.conftest import NOW, TODAY, customer


def order(session: Session, code: str, amount: Decimal | str, **changes: Any) -> OrderCreditCheck:
    values = {"customer": code, "amount": amount, "requester": customer(session, code).kam.login} | changes
    return orders.submit(session, request=orders.OrderIn.model_validate(values), flow_run_id=None, now=NOW)


def headroom(session: Session, code: str) -> Decimal:
    """What the customer can still order within its total limit today."""
    now = standing.standing(session, customer(session, code), on=TODAY)
    assert now.limits.total is not None, f"{code} has no total limit"
    return now.limits.total - now.exposure.total


def change(session: Session, code: str, amount: Decimal | str | None, **changes: Any) -> CreditLimitChange:
    values = {"customer": code, "amount": amount, "requester": "credit", "requested_on": TODAY} | changes
    return limits.submit(session, request=limits.LimitChangeIn.model_validate(values), flow_run_id=None, now=NOW)


def answer(
    session: Session, *, process: str, subject_id: int, role: str, requester: str, login: str, **payload: Any
) -> ApprovalTask:
    """Open the subject's task as the human step does and record `login`'s answer on it."""
    task = approvals.open_task(
        session,
        process=process,
        subject_id=subject_id,
        title="test",
        explanation="test",
        role=role,
        requester=org.employee(session, requester),
        flow_run_id=None,
        now=NOW,
        deadline=dt.timedelta(hours=48),
    )
    return approvals.decide(
        session,
        task=task,
        login=login,
        action=str(payload["action"]),
        comment="test answer",
        payload=payload,
        check=lambda _task, _payload: None,
        now=NOW,
        on=TODAY,
    )


def counts(session: Session) -> tuple[int, ...]:
    tables = (Order, OrderCreditCheck, CreditLimitChange, AuditEvent, ApprovalTask)
    return tuple(session.scalar(select(func.count()).select_from(table)) or 0 for table in tables)
