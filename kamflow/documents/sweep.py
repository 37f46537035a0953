"""The overdue sweep of document tasks: reminders at each step's interval, and escalation past the deadline."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager, joinedload

from kamflow import approvals, audit, clock, org
from kamflow.documents import deadlines
from kamflow.documents.chains import Chain
from kamflow.documents.service import chain_of
from kamflow.documents.tables import Document, DocumentStep, DocumentStepTask
from kamflow.models import ApprovalTask, Employee
from kamflow.notify import notices


def sweep(session: Session, *, now: dt.datetime) -> list[ApprovalTask]:
    """Remind whoever has a document task at its step's interval; past the deadline, escalate it (to the owner's
    superior or the configured target) or, with nobody to escalate to, flag it and keep waiting. Returns the
    tasks opened by escalation. Its audit events are written together at the end."""
    on = clock.today(now)
    links = session.scalars(
        select(DocumentStepTask)
        .join(ApprovalTask, ApprovalTask.id == DocumentStepTask.task_id)
        .where(ApprovalTask.status == "pending")
        .options(
            contains_eager(DocumentStepTask.task).joinedload(ApprovalTask.owner).joinedload(Employee.manager),
            joinedload(DocumentStepTask.step).joinedload(DocumentStep.document).joinedload(Document.author),
        )
        .order_by(DocumentStepTask.task_id)
    ).all()
    delegations = org.delegations_on(session, on=on)
    opened: list[ApprovalTask] = []
    events: list[audit.Event] = []
    chains: dict[int, Chain] = {}
    holders = org.Holders(session)
    for link in links:
        task, step = link.task, link.step
        if step.document_id not in chains:
            chains[step.document_id] = chain_of(step.document)
        timing = deadlines.timing_of(step, chains[step.document_id])
        reminded = link.remind_at is not None and link.remind_at <= now
        if reminded:
            link.reminders += 1
            link.remind_at = deadlines.next_reminder(now, timing)
            detail = {"to": delegations.acting_for(task.owner).login, "reminder": link.reminders}
            events.append(approvals.task_event(task, "task_reminder", now=now, detail=detail))
        if task.due_at < now:
            due = deadlines.due(now, timing)
            target = deadlines.escalation_target(task, timing, step.document.author, holders)
            if target is None:
                note = "nobody to escalate to; still waiting"
                approvals.keep_waiting(task, now=now, due_at=due, note=note, events=events)
            else:
                successor = approvals.escalate(
                    session, task, to=target, now=now, due_at=due, events=events, delegations=delegations
                )
                deadlines.link(session, successor, step, timing, now=now)
                opened.append(successor)
        if reminded and task.status == "pending":  # an escalated task's successor is announced instead
            notices.announce(session, task, "reminder", now=now, delegations=delegations)
    audit.record_many(session, events)
    return opened
