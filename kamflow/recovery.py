"""The domain side of the recovery sweep (`flows.recovery`): what kamflow writes when a task's flow run was
cancelled — its tasks and its subject close as cancelled — or deleted — the subject and its tasks are tied to the
fresh run that takes its place — and how often a run was brought back."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kamflow import approvals, audit, started
from kamflow.models import ApprovalTask, AuditEvent

CANCELLED = "cancelled"
RERUN = "run_rerun"
"""The audit action of a run brought back by the sweep (on each of its tasks): started again, or replaced by a
fresh run (its detail then names the run it `replaces`)."""


def withdraw(session: Session, *, process: str, subject_id: int, now: dt.datetime, reason: str) -> None:
    """Cancel every pending task of the subject (audited) and, when it still waits for a person, close the subject
    as cancelled too (`started.close`: a blocked order with its check, a document's open steps; audited)."""
    for task in approvals.pending(session, process=process, subject_id=subject_id):
        approvals.cancel(session, task, now=now, reason=reason)
    k = started.kind(process)
    row = cast(started.Subject | None, session.get(k.table, subject_id))
    if row is not None and row.status in k.waiting:
        started.close(
            session,
            row,
            process=process,
            status=CANCELLED,
            actor="kamflow",
            action="subject_cancelled",
            now=now,
            detail={"reason": reason},
        )


def request_of(session: Session, *, process: str, subject_id: int, run_id: str) -> BaseModel | None:
    """The request the subject was started from, as its flow takes it (`started.Kind.request_of`), while the
    subject is tied to the flow run `run_id`; None once it is tied to another (a sweep replaced that run
    already)."""
    k = started.kind(process)
    row = cast(started.Subject | None, session.get(k.table, subject_id))
    return None if row is None or row.flow_run_id != run_id else k.request_of(session, row)


def replace_run(
    session: Session,
    *,
    process: str,
    subject_id: int,
    tasks: list[ApprovalTask],
    old: str,
    new: str,
    now: dt.datetime,
    detail: dict[str, Any],
) -> bool:
    """Tie the subject and its tasks from the deleted flow run `old` to the run `new` that takes its place, audited
    on each task (`RERUN` with `detail`); the new run finds its subject by its id and its tasks by the subject.
    False, writing nothing, when the subject is no longer tied to `old` (another sweep got there first)."""
    k = started.kind(process)
    moved = session.execute(
        update(k.table).where(k.table.id == subject_id, k.table.flow_run_id == old).values(flow_run_id=new)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        return False
    session.execute(
        update(ApprovalTask)
        .where(ApprovalTask.id.in_([task.id for task in tasks]), ApprovalTask.flow_run_id == old)
        .values(flow_run_id=new)
    )
    audit.record_many(session, [approvals.task_event(task, RERUN, now=now, detail=detail) for task in tasks])
    return True


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
    for process, k in started.KINDS.items():
        table = k.table
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
                    table.status.in_(k.waiting),
                )
            )
            if (task.process, task.subject_id) not in open_subjects
        ]
    return pending + decided
