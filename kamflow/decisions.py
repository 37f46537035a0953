"""What every process the rules decide and people answer records on its subject, beside `kamflow.approvals` (which
holds the subject's tasks): the rules' decision on a new subject, a person's answer read from its decided task and
audited on the subject, and who the subject waits for."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel
from sqlalchemy.orm import Session

from kamflow import approvals, audit
from kamflow.models import ApprovalTask, Employee
from kamflow.reports import plain
from kamflow.settings import get_settings
from kamflow.views import HumanDecision, Person, Waiting
from rules.engine import Decision


def figure(payload: dict[str, Any]) -> str | None:
    """The figure a person gave with their answer, the same in every language (`reports.figure_text` shows it the
    reader's way): a percent (a counter-offer, 12.5%) or an amount (a prepayment, a limit: 1,250.00)."""
    if payload.get("discount_pct") is not None:
        return f"{plain(Decimal(str(payload['discount_pct'])))}%"
    if payload.get("amount") is not None:
        return f"{Decimal(str(payload['amount'])):,.2f}"
    return None


def person(employee: Employee) -> Person:
    return Person(login=employee.login, name=employee.full_name, position=employee.position)


def human(task: ApprovalTask, *, outcome: str | None = None) -> HumanDecision | None:
    """The human part of a decided task — what (its `outcome`, by default its action's), by whom (for whom), when
    in the company's timezone, the comment; None when no person decided it."""
    if task.actor is None or task.decided_at is None or task.action is None:
        return None
    return HumanDecision(
        outcome=outcome or approvals.outcome(task.action),
        figure=figure(task.payload),
        by=person(task.actor),
        on_behalf_of=None if task.actor_id == task.owner_id else task.owner.login,
        at=task.decided_at.astimezone(get_settings().tz),
        comment=task.comment or "",
    )


def waiting(session: Session, *, process: str, subject_id: int, on: dt.date) -> Waiting:
    """The subject's task as a view shows it: `task_id` and `assignee` (who may act today) while it waits
    for a person, and `decided_by` and the decision's human part (`verdict`) once a person decided it."""
    task = approvals.current(session, process=process, subject_id=subject_id)
    pending = task is not None and task.status == "pending"
    return Waiting(
        task_id=task.id if task is not None and pending else None,
        assignee=approvals.assignee(session, task, on=on).login if task is not None and pending else None,
        decided_by=task.actor.login if task is not None and task.actor else None,
        verdict=None if task is None else human(task),
    )


class Subject(Protocol):
    """A process's subject row (a discount request, an order's credit check, …): stored, it has an id."""

    @property
    def id(self) -> int: ...


Row = TypeVar("Row", bound=Subject)
Payload = TypeVar("Payload", bound=BaseModel)


def record_decision(
    session: Session,
    row: Row,
    *,
    subject_type: str,
    action: str,
    decision: Decision,
    now: dt.datetime,
    **detail: Any,
) -> Row:
    """Store a new subject with the rules' decision on it, and audit that decision (facts, reasons, version)."""
    session.add(row)
    session.flush()
    audit.record(
        session,
        at=now,
        actor="rules",
        action=f"{action}_{decision.outcome}",
        subject_type=subject_type,
        subject_id=row.id,
        decision=decision,
        detail=detail,
    )
    return row


def read_answer(session: Session, task_id: int, model: type[Payload]) -> tuple[ApprovalTask, Payload, str]:
    """A decided task, its answer as the process's payload model, and who gave it ("kamflow" if no person)."""
    task = approvals.get(session, task_id)
    return task, model.model_validate(task.payload), task.actor.login if task.actor else "kamflow"


def audit_answer(
    session: Session,
    task: ApprovalTask,
    *,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: int,
    now: dt.datetime,
    **detail: Any,
) -> None:
    """Audit an answer carried onto its subject, with the task, its outcome, who gave it and their comment."""
    audit.record(
        session,
        at=now,
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        detail={
            "task": task.id,
            "outcome": None if task.action is None else approvals.outcome(task.action),
            "by": None if task.actor is None else person(task.actor).model_dump(),
            "comment": task.comment,
            **detail,
        },
    )
