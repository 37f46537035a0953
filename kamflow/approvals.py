"""Approval tasks: open one for a role, decide it once, escalate it when its deadline passes."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from collections.abc import Callable, Collection
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, joinedload

from kamflow import audit, clock, org
from kamflow.errors import InvalidInput, NotFound, NotPermitted
from kamflow.i18n import N_, _
from kamflow.models import ApprovalTask, Employee
from kamflow.notify import notices

Check = Callable[[ApprovalTask, dict[str, Any]], None]
CheckFor = Callable[[Session, ApprovalTask], Check]

OUTCOMES = {
    "approve": "APPROVED",
    "counter": "COUNTERED",
    "reject": "REJECTED",
    "release": "RELEASED",
    "release_with_prepayment": "RELEASED WITH PREPAYMENT",
    "approve_limit": "LIMIT APPROVED",
    "prepayment": "PREPAYMENT ONLY",
    "return": "RETURNED",
    "revise": "REVISED",
}
"""A person's answer (a task's `action`) as its outcome reads."""
STATUSES = (N_("pending"), N_("decided"), N_("escalated"), N_("cancelled"))
"""A task's statuses in words, for the catalog."""


def outcome(action: str) -> str:
    return OUTCOMES.get(action, action.upper().replace("_", " "))


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
        raise NotFound(_("no approval task {task}").format(task=task_id), field="task")
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
    """Open the first task of a subject for its approver up the line from the requester; idempotent."""
    existing = current(session, process=process, subject_id=subject_id)
    if existing is not None:
        return existing
    return add_task(
        session,
        process=process,
        subject_id=subject_id,
        title=title,
        explanation=explanation,
        role=role,
        owner=approver(session, role=role, requester=requester),
        requester=requester,
        flow_run_id=flow_run_id,
        now=now,
        due_at=now + deadline,
    )


def approver(session: Session, *, role: str, requester: Employee) -> Employee:
    """Who decides what `requester` asked for, when the rules send it to `role`: approvals go up the line. The
    holder of the role for the requester, unless that is the requester, someone below them, or a peer holding the
    requester's own role (a department head's own request): then the requester's nearest active superior."""
    holder = org.holder_of(session, role=role, near=requester)
    if holder.id != requester.id and requester not in org.superiors(holder) and requester.role != role:
        return holder
    above = next((boss for boss in org.superiors(requester) if boss.active), None)
    if above is None:
        raise NotPermitted(
            _("nobody above {login} may decide what they ask for").format(login=requester.login), field="requester"
        )
    return above


def add_task(
    session: Session,
    *,
    process: str,
    subject_id: int,
    title: str,
    explanation: str,
    role: str,
    owner: Employee,
    requester: Employee,
    flow_run_id: str | None,
    now: dt.datetime,
    due_at: dt.datetime,
    level: int = 1,
    events: list[audit.Event] | None = None,
    notice: notices.Kind = "opened",
    delegations: org.Delegations | None = None,
) -> ApprovalTask:
    """A new pending task for `owner`, audited (at once, or by adding the event to a sweep's `events`, written
    together by `audit.record_many`) and announced to whoever may act on it (`notice`: opened, or escalated;
    `delegations`: those in force, when a sweep has read them). Not idempotent: processes with several tasks per
    subject guard it with their own state."""
    task = ApprovalTask(
        process=process,
        subject_id=subject_id,
        title=title,
        explanation=explanation,
        level=level,
        role=role,
        owner_id=owner.id,
        requester_id=requester.id,
        status="pending",
        flow_run_id=flow_run_id,
        refused_inputs=0,
        created_at=now,
        due_at=due_at,
        payload={},
    )
    session.add(task)
    session.flush()
    opened = task_event(
        task,
        "task_opened",
        now=now,
        detail={
            "process": process,
            "subject_id": subject_id,
            "owner": owner.login,
            "role": role,
            "due_at": task.due_at.isoformat(),
        },
    )
    if events is None:
        audit.record(session, **vars(opened))
    else:
        events.append(opened)
    notices.announce(session, task, notice, now=now, delegations=delegations)
    return task


def task_event(task: ApprovalTask, action: str, *, now: dt.datetime, detail: dict[str, Any]) -> audit.Event:
    """An audit event of what kamflow itself did with a task."""
    return audit.Event(
        at=now, actor="kamflow", action=action, subject_type="approval_task", subject_id=task.id, detail=detail
    )


def pending(session: Session, *, process: str, subject_id: int) -> list[ApprovalTask]:
    """Every task of a subject still waiting for someone, oldest first."""
    return list(
        session.scalars(
            select(ApprovalTask)
            .where(
                ApprovalTask.process == process,
                ApprovalTask.subject_id == subject_id,
                ApprovalTask.status == "pending",
            )
            .options(joinedload(ApprovalTask.owner))
            .order_by(ApprovalTask.id)
        )
    )


def answered(
    session: Session, *, process: str, subject_id: int, login: str, task_id: int | None, on: dt.date
) -> ApprovalTask:
    """The task an answer is for: the one it names, else the first pending one `login` may act on, else the
    first pending one (deciding it then refuses `login`, with the reason)."""
    named = session.get(ApprovalTask, task_id) if task_id is not None else None
    if named is not None and named.process == process and named.subject_id == subject_id:
        return named
    waiting = pending(session, process=process, subject_id=subject_id)
    delegations = org.delegations_on(session, on=on)
    mine = [task for task in waiting if delegations.acting_for(task.owner).login == login]
    if mine or waiting:
        return (mine or waiting)[0]
    found = current(session, process=process, subject_id=subject_id)
    if found is None:
        raise NotFound(
            _("no approval task for {process} {subject}").format(process=process, subject=subject_id), field="task"
        )
    return found


def assignee(session: Session, task: ApprovalTask, *, on: dt.date) -> Employee:
    """Who may act on the task on a date: its owner or the owner's delegate."""
    return org.acting_for(session, task.owner, on=on)


def waiting_key(session: Session, *, process: str, subject_id: int) -> str:
    """The key of the subject's next wait for input: it moves on with every refused input and every decision,
    and only with what the waiting flow itself writes (an escalation meanwhile keeps the key)."""
    refused, decided = session.execute(
        select(
            func.coalesce(func.sum(ApprovalTask.refused_inputs), 0),
            func.count().filter(ApprovalTask.status == "decided"),
        ).where(ApprovalTask.process == process, ApprovalTask.subject_id == subject_id)
    ).one()
    return f"{process}-{subject_id}-{refused}" + (f"-{decided}" if decided else "")


def verify_actor(session: Session, task: ApprovalTask, *, login: str, on: dt.date) -> Employee:
    """Refuse anyone but the assignee or their valid delegate, and always the requester."""
    if task.status != "pending":
        raise InvalidInput(
            _("task {task} is already {status}").format(task=task.id, status=_(task.status)), field="task"
        )
    actor = org.employee(session, login)
    if actor.id == task.requester_id:
        raise NotPermitted(
            _("{login} asked for this and may not decide it (task {task})").format(login=login, task=task.id),
            field="approver",
        )
    who = assignee(session, task, on=on)
    if who.id != actor.id:
        raise NotPermitted(
            _("task {task} is for {owner}, not {login}").format(task=task.id, owner=who.login, login=login),
            field="approver",
        )
    return actor


def approval_code(task: ApprovalTask, *, login: str, secret: bytes) -> str:
    """The personal one-time code that proves an answer comes from `login` for this task.

    Prefect's resume carries no identity, so the answer must. The code is bound to the task (and so to the
    document version it asks about), the person and the moment the task was opened, and it is spent the first
    time it is presented: an accepted answer decides the task, and no code opens a decided, escalated or
    cancelled task again; a refused answer counts against the task, and every code of the task changes."""
    message = f"{task.id}|{login}|{task.created_at.isoformat()}|{task.refused_inputs}".encode()
    digest = base64.b32encode(hmac.new(secret, message, hashlib.sha256).digest()).decode()
    return f"{digest[:4]}-{digest[4:8]}"


def verify_code(task: ApprovalTask, *, login: str, code: str, secret: bytes) -> None:
    if not hmac.compare_digest(code.strip().upper(), approval_code(task, login=login, secret=secret)):
        raise NotPermitted(
            _("wrong approval code for task {task} and {login}").format(task=task.id, login=login),
            field="approval_code",
        )


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
    if not claim(session, task, by=actor, action=action, comment=comment, payload=payload, now=now):
        raise InvalidInput(
            _(
                "task {task} is not waiting for an answer any more: another answer, an escalation or a withdrawal "
                "came first"
            ).format(task=task.id),
            field="task",
        )
    return task


def claim(
    session: Session,
    task: ApprovalTask,
    *,
    by: Employee | None,
    action: str,
    comment: str,
    payload: dict[str, Any],
    now: dt.datetime,
) -> bool:
    """The one write that decides a task, in every process: the guarded UPDATE that makes only the first answer
    count, and the decision's audit event. `by` is the person who decided (checked by `decide`): the event is
    `task_decided`, signed by them (and for whom, when they stand in). With no person, kamflow settles the task
    itself (a re-check released the subject): `task_closed`. A person's decision is announced to the requester.
    False, writing nothing, when the task is no longer pending — someone else decided it, or it was escalated or
    cancelled meanwhile."""
    claimed = session.execute(
        update(ApprovalTask)
        .where(ApprovalTask.id == task.id, ApprovalTask.status == "pending")
        .values(
            status="decided",
            actor_id=None if by is None else by.id,
            action=action,
            comment=comment,
            payload=payload,
            decided_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    session.refresh(task)
    owner = task.owner.login
    if by is None:
        actor, event = "kamflow", "task_closed"
        detail: dict[str, Any] = {"action": action, "comment": comment, "owner": owner}
    else:
        on_behalf = "" if by.id == task.owner_id else f" for {owner}"
        actor, event = by.login, "task_decided"
        detail = {
            "action": action,
            "outcome": outcome(action),
            "comment": comment,
            "payload": payload,
            "owner": owner,
            "signed": f"{by.login}{on_behalf}",
            "name": by.full_name,
            "position": by.position,
        }
    audit.record(
        session, at=now, actor=actor, action=event, subject_type="approval_task", subject_id=task.id, detail=detail
    )
    if by is not None:
        notices.announce(session, task, "decided", now=now)
    return True


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


def escalate(
    session: Session,
    task: ApprovalTask,
    *,
    to: Employee,
    now: dt.datetime,
    due_at: dt.datetime,
    events: list[audit.Event],
    delegations: org.Delegations,
) -> ApprovalTask:
    """Close a late task as escalated and open its successor one level up, for `to` (announced to them or whoever
    stands in for them under the sweep's `delegations`); the audit events go to the sweep's `events`."""
    task.status = "escalated"
    successor = add_task(
        session,
        process=task.process,
        subject_id=task.subject_id,
        title=task.title,
        explanation=task.explanation,
        role=to.role,
        owner=to,
        requester=session.get_one(Employee, task.requester_id),
        flow_run_id=task.flow_run_id,
        now=now,
        due_at=due_at,
        level=task.level + 1,
        events=events,
        notice="escalated",
        delegations=delegations,
    )
    detail = {"from": task.owner.login, "to": to.login, "new_task": successor.id}
    events.append(task_event(task, "task_escalated", now=now, detail=detail))
    return successor


def keep_waiting(
    task: ApprovalTask, *, now: dt.datetime, due_at: dt.datetime, note: str, events: list[audit.Event]
) -> None:
    """A late task with nobody to escalate to: flag it (audited, in the sweep's `events`) and give it a new
    deadline."""
    task.due_at = due_at
    events.append(task_event(task, "deadline_passed", now=now, detail={"owner": task.owner.login, "note": note}))


def cancel(session: Session, task: ApprovalTask, *, now: dt.datetime, reason: str) -> None:
    """A pending task nobody needs to decide any more (its step is settled or its chain ended)."""
    task.status = "cancelled"
    audit.record(
        session,
        at=now,
        actor="kamflow",
        action="task_cancelled",
        subject_type="approval_task",
        subject_id=task.id,
        detail={"owner": task.owner.login, "reason": reason},
    )


def escalate_overdue(
    session: Session, *, now: dt.datetime, deadline: dt.timedelta, exclude: Collection[str] = ()
) -> list[ApprovalTask]:
    """Past its deadline a task goes to the owner's superior; at the top it stays and is flagged again
    after another deadline. Never a silent failure: every step is audited (in one statement). Processes in
    `exclude` keep their own deadlines."""
    overdue = session.scalars(
        select(ApprovalTask)
        .where(ApprovalTask.status == "pending", ApprovalTask.due_at < now, ApprovalTask.process.not_in(exclude))
        .options(joinedload(ApprovalTask.owner).joinedload(Employee.manager))
    ).all()
    opened: list[ApprovalTask] = []
    events: list[audit.Event] = []
    delegations = org.delegations_on(session, on=clock.today(now))
    for task in overdue:
        boss = task.owner.manager
        if boss is None:
            note = "no higher level; still waiting"
            keep_waiting(task, now=now, due_at=now + deadline, note=note, events=events)
        else:
            successor = escalate(
                session, task, to=boss, now=now, due_at=now + deadline, events=events, delegations=delegations
            )
            opened.append(successor)
    audit.record_many(session, events)
    return opened


def pending_for(session: Session, person: Employee, *, on: dt.date) -> list[ApprovalTask]:
    """The tasks a person may act on today: their own and those delegated to them."""
    owners = org.delegations_on(session, on=on).represented_by(person)
    return list(
        session.scalars(
            select(ApprovalTask)
            .where(ApprovalTask.status == "pending", ApprovalTask.owner_id.in_(owners))
            .options(joinedload(ApprovalTask.owner))
            .order_by(ApprovalTask.id)
        )
    )
