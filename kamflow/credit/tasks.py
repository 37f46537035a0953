"""What the three credit processes share about decisions and approval tasks, beyond `kamflow.approvals`:
recording the rules' decision on a new subject, reading and auditing a person's answer, who a subject
waits for, and closing a task kamflow itself settled (a re-check that released a blocked order)."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import update
from sqlalchemy.orm import Session

from kamflow import approvals, audit
from kamflow.credit.tables import CreditCheck, CreditLimitChange, OrderCreditCheck
from kamflow.models import ApprovalTask
from kamflow.views import Waiting
from rules.engine import Decision


def waiting(session: Session, *, process: str, subject_id: int, on: dt.date) -> Waiting:
    """The subject's task as a view shows it: `task_id` and `assignee` (who may act today) while it waits
    for a person, and `decided_by` once a person decided it."""
    task = approvals.current(session, process=process, subject_id=subject_id)
    pending = task is not None and task.status == "pending"
    return Waiting(
        task_id=task.id if task is not None and pending else None,
        assignee=approvals.assignee(session, task, on=on).login if task is not None and pending else None,
        decided_by=task.actor.login if task is not None and task.actor else None,
    )


def close(session: Session, task: ApprovalTask, *, action: str, comment: str, now: dt.datetime) -> bool:
    """Settle a pending task as kamflow (no person acted): False if someone decided it meanwhile."""
    claimed = session.execute(
        update(ApprovalTask)
        .where(ApprovalTask.id == task.id, ApprovalTask.status == "pending")
        .values(status="decided", action=action, comment=comment, payload={"action": action}, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    session.refresh(task)
    audit.record(
        session,
        at=now,
        actor="kamflow",
        action="task_closed",
        subject_type="approval_task",
        subject_id=task.id,
        detail={"action": action, "comment": comment, "owner": task.owner.login},
    )
    return True


Payload = TypeVar("Payload", bound=BaseModel)
Row = TypeVar("Row", OrderCreditCheck, CreditCheck, CreditLimitChange)


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
    """Audit an answer carried onto its subject, with the task and the person's comment."""
    audit.record(
        session,
        at=now,
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        detail={"task": task.id, "comment": task.comment, **detail},
    )
