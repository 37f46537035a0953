"""Approval tasks: open one for a role, decide it once, escalate it when its deadline passes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kamflow import audit, org
from kamflow.errors import InvalidInput, NotFound, NotPermitted
from kamflow.models import ApprovalTask, Employee

Check = Callable[[ApprovalTask, dict[str, Any]], None]


def current(session: Session, *, process: str, subject_id: int) -> ApprovalTask | None:
    """The latest task of a subject (escalation adds a level; the highest is the live one)."""
    return session.scalar(
        select(ApprovalTask)
        .where(ApprovalTask.process == process, ApprovalTask.subject_id == subject_id)
        .order_by(ApprovalTask.level.desc())
    )


def get(session: Session, task_id: int) -> ApprovalTask:
    task = session.get(ApprovalTask, task_id)
    if task is None:
        raise NotFound(f"no approval task {task_id}", field="task")
    return task


def open_task(
    session: Session,
    *,
    process: str,
    subject_id: int,
    title: str,
    explanation: str,
    role: str,
    requester: Employee,
    flow_run_id: str | None,
    now: dt.datetime,
    deadline: dt.timedelta,
) -> ApprovalTask:
    """Open the first task of a subject for the holder of `role` above the requester; idempotent."""
    existing = current(session, process=process, subject_id=subject_id)
    if existing is not None:
        return existing
    owner = org.holder_of(session, role=role, near=requester)
    task = ApprovalTask(
        process=process,
        subject_id=subject_id,
        title=title,
        explanation=explanation,
        level=1,
        role=role,
        owner_id=owner.id,
        requester_id=requester.id,
        status="pending",
        flow_run_id=flow_run_id,
        refused_inputs=0,
        created_at=now,
        due_at=now + deadline,
        payload={},
    )
    session.add(task)
    session.flush()
    audit.record(
        session,
        at=now,
        actor="kamflow",
        action="task_opened",
        subject_type="approval_task",
        subject_id=task.id,
        detail={
            "process": process,
            "subject_id": subject_id,
            "owner": owner.login,
            "role": role,
            "due_at": task.due_at.isoformat(),
        },
    )
    return task


def assignee(session: Session, task: ApprovalTask, *, on: dt.date) -> Employee:
    """Who may act on the task on a date: its owner or the owner's delegate."""
    return org.acting_for(session, task.owner, on=on)


def waiting_key(session: Session, *, process: str, subject_id: int) -> str:
    """The key of the subject's next wait for input: it moves on with every refused input."""
    refused = session.scalar(
        select(func.coalesce(func.sum(ApprovalTask.refused_inputs), 0)).where(
            ApprovalTask.process == process, ApprovalTask.subject_id == subject_id
        )
    )
    return f"{process}-{subject_id}-{refused}"


def verify_actor(session: Session, task: ApprovalTask, *, login: str, on: dt.date) -> Employee:
    """Refuse anyone but the assignee or their valid delegate, and always the requester."""
    if task.status != "pending":
        raise InvalidInput(f"task {task.id} is already {task.status}", field="task")
    actor = org.employee(session, login)
    if actor.id == task.requester_id:
        raise NotPermitted(f"{login} asked for this and may not decide it (task {task.id})", field="approver")
    who = assignee(session, task, on=on)
    if who.id != actor.id:
        raise NotPermitted(f"task {task.id} is for {who.login}, not {login}", field="approver")
    return actor


def decide(
    session: Session,
    *,
    task: ApprovalTask,
    login: str,
    action: str,
    comment: str,
    payload: dict[str, Any],
    check: Check,
    now: dt.datetime,
    on: dt.date,
) -> ApprovalTask:
    """Record a person's decision exactly once; raises (and writes nothing) when it is not theirs to make."""
    actor = verify_actor(session, task, login=login, on=on)
    check(task, payload)
    claimed = session.execute(
        update(ApprovalTask)
        .where(ApprovalTask.id == task.id, ApprovalTask.status == "pending")
        .values(
            status="decided",
            actor_id=actor.id,
            action=action,
            comment=comment,
            payload=payload,
            decided_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise InvalidInput(f"task {task.id} was decided by someone else meanwhile", field="task")
    session.refresh(task)
    on_behalf = "" if actor.id == task.owner_id else f" for {task.owner.login}"
    audit.record(
        session,
        at=now,
        actor=actor.login,
        action="task_decided",
        subject_type="approval_task",
        subject_id=task.id,
        detail={
            "action": action,
            "comment": comment,
            "payload": payload,
            "owner": task.owner.login,
            "signed": f"{actor.login}{on_behalf}",
        },
    )
    return task


def refuse(session: Session, *, task: ApprovalTask, login: str, reason: str, now: dt.datetime) -> None:
    """An input that may not decide the task: count it (the wait moves to a new key) and audit it."""
    task.refused_inputs += 1
    audit.record(
        session,
        at=now,
        actor=login or "unknown",
        action="input_refused",
        subject_type="approval_task",
        subject_id=task.id,
        detail={"reason": reason},
    )


def escalate_overdue(session: Session, *, now: dt.datetime, deadline: dt.timedelta) -> list[ApprovalTask]:
    """Past its deadline a task goes to the owner's superior; at the top it stays and is flagged again
    after another deadline. Never a silent failure: every step is audited."""
    overdue = session.scalars(
        select(ApprovalTask).where(ApprovalTask.status == "pending", ApprovalTask.due_at < now)
    ).all()
    opened: list[ApprovalTask] = []
    for task in overdue:
        boss = task.owner.manager
        if boss is None:
            task.due_at = now + deadline
            audit.record(
                session,
                at=now,
                actor="kamflow",
                action="deadline_passed",
                subject_type="approval_task",
                subject_id=task.id,
                detail={"owner": task.owner.login, "note": "no higher level; still waiting"},
            )
            continue
        task.status = "escalated"
        successor = ApprovalTask(
            process=task.process,
            subject_id=task.subject_id,
            title=task.title,
            explanation=task.explanation,
            level=task.level + 1,
            role=boss.role,
            owner_id=boss.id,
            requester_id=task.requester_id,
            status="pending",
            flow_run_id=task.flow_run_id,
            refused_inputs=0,
            created_at=now,
            due_at=now + deadline,
            payload={},
        )
        session.add(successor)
        session.flush()
        audit.record(
            session,
            at=now,
            actor="kamflow",
            action="task_escalated",
            subject_type="approval_task",
            subject_id=task.id,
            detail={"from": task.owner.login, "to": boss.login, "new_task": successor.id},
        )
        opened.append(successor)
    return opened


def pending_for(session: Session, person: Employee, *, on: dt.date) -> list[ApprovalTask]:
    """The tasks a person may act on today: their own and those delegated to them."""
    pending = session.scalars(
        select(ApprovalTask).where(ApprovalTask.status == "pending").order_by(ApprovalTask.id)
    ).all()
    return [task for task in pending if assignee(session, task, on=on).id == person.id]
