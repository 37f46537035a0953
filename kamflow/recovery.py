"""The domain side of the recovery sweep (`flows.recovery`): what kamflow writes when a task's flow run was
cancelled or deleted — its tasks and its subject close as cancelled — and how often a run was brought back."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kamflow import approvals, audit
from kamflow.credit import limits, orders, solvency
from kamflow.credit.tables import CreditCheck, CreditLimitChange, OrderCreditCheck
from kamflow.discounts import PROCESS as DISCOUNTS
from kamflow.discounts.tables import DiscountRequest
from kamflow.documents.service import PROCESS as DOCUMENTS
from kamflow.documents.tables import Document, DocumentStep
from kamflow.models import ApprovalTask, AuditEvent, Order

CANCELLED = "cancelled"
RERUN = "run_rerun"
"""The audit action of a run brought back by the sweep (on each of its tasks)."""

SUBJECTS: dict[
    str, tuple[type[DiscountRequest | Document | OrderCreditCheck | CreditLimitChange | CreditCheck], str]
]
SUBJECTS = {
    DISCOUNTS: (DiscountRequest, "pending"),
    DOCUMENTS: (Document, "in_review"),
    orders.PROCESS: (OrderCreditCheck, "blocked"),
    limits.PROCESS: (CreditLimitChange, "pending"),
    solvency.PROCESS: (CreditCheck, "pending"),
}
"""Each process people decide in: its subjects' table and the status of a subject waiting for a person."""


def withdraw(session: Session, *, process: str, subject_id: int, now: dt.datetime, reason: str) -> None:
    """Cancel every pending task of the subject (audited) and, when it still waits for a person, close the subject
    as cancelled too (audited) — a blocked order with its check, a document's open steps."""
    for task in approvals.pending(session, process=process, subject_id=subject_id):
        approvals.cancel(session, task, now=now, reason=reason)
    table, waiting = SUBJECTS[process]
    closed = session.execute(
        update(table)
        .where(table.id == subject_id, table.status == waiting)
        .values(status=CANCELLED)
        .execution_options(synchronize_session=False)
    )
    if closed.rowcount != 1:  # type: ignore[attr-defined]
        return
    if process == orders.PROCESS:
        order_id = select(OrderCreditCheck.order_id).where(OrderCreditCheck.id == subject_id).scalar_subquery()
        session.execute(update(Order).where(Order.id == order_id).values(status=CANCELLED))
    if process == DOCUMENTS:
        session.execute(
            update(DocumentStep)
            .where(DocumentStep.document_id == subject_id, DocumentStep.status == "open")
            .values(status=CANCELLED, closed_at=now)
        )
    audit.record(
        session,
        at=now,
        actor="kamflow",
        action="subject_cancelled",
        subject_type=process,
        subject_id=subject_id,
        detail={"reason": reason},
    )


def reruns(session: Session, task_ids: list[int]) -> dict[int, int]:
    """How many times the sweep has brought back the run of each task."""
    counted = session.execute(
        select(AuditEvent.subject_id, func.count())
        .where(AuditEvent.subject_type == "approval_task", AuditEvent.action == RERUN)
        .where(AuditEvent.subject_id.in_(task_ids))
        .group_by(AuditEvent.subject_id)
    )
    return {task_id: count for task_id, count in counted.all()}


def waiting_tasks(session: Session, *, decided_since: dt.datetime) -> list[ApprovalTask]:
    """Every task whose flow run should be waiting or going on: the pending ones with a run, and those decided
    since `decided_since` whose subject still waits with nothing pending — a decision the run has not carried
    over yet."""
    pending = list(
        session.scalars(
            select(ApprovalTask).where(ApprovalTask.status == "pending", ApprovalTask.flow_run_id.is_not(None))
        )
    )
    open_subjects = {(task.process, task.subject_id) for task in pending}
    decided: list[ApprovalTask] = []
    for process, (table, waiting) in SUBJECTS.items():
        decided += [
            task
            for task in session.scalars(
                select(ApprovalTask)
                .join(table, table.id == ApprovalTask.subject_id)
                .where(
                    ApprovalTask.process == process,
                    ApprovalTask.status == "decided",
                    ApprovalTask.decided_at >= decided_since,
                    ApprovalTask.flow_run_id.is_not(None),
                    table.status == waiting,
                )
            )
            if (task.process, task.subject_id) not in open_subjects
        ]
    return pending + decided
