"""A document task's deadlines, in business days of the company's calendar: when it falls due, when its owner
is next reminded, and whom it goes to when it is late."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from kamflow import org
from kamflow.documents import text
from kamflow.documents.chains import Chain, Timing
from kamflow.documents.tables import DocumentStep, DocumentStepTask
from kamflow.models import ApprovalTask, Employee
from kamflow.settings import get_settings


def due(now: dt.datetime, timing: Timing) -> dt.datetime:
    """When a task given at `now` falls due: the step's deadline in business days."""
    return text.add_business_days(now, timing.deadline_days, get_settings().tz)


def next_reminder(now: dt.datetime, timing: Timing) -> dt.datetime | None:
    """When the owner of a task is next reminded after `now`, at the step's interval; None for a step that
    reminds nobody."""
    every = timing.remind_every_days
    return text.add_business_days(now, every, get_settings().tz) if every else None


def link(session: Session, task: ApprovalTask, step: DocumentStep, timing: Timing, *, now: dt.datetime) -> None:
    """A task joined to its document step, with its first reminder."""
    session.add(
        DocumentStepTask(task_id=task.id, step_id=step.id, remind_at=next_reminder(now, timing), reminders=0)
    )
    session.flush()


def timing_of(step: DocumentStep, chain: Chain) -> Timing:
    if step.kind == "revise":
        return chain.revision
    return next(s for s in chain.stages[step.stage_index].steps if s.name == step.name)


def escalation_target(
    task: ApprovalTask, timing: Timing, author: Employee, holders: org.Holders
) -> Employee | None:
    """Whom a late task goes to; never the author, never the task's own owner. A role's holder is looked up once
    per owner in a sweep (`holders`)."""
    if timing.escalate.to == "none":
        return None
    if timing.escalate.to == "role":
        target: Employee | None = holders.of(str(timing.escalate.role), task.owner)
    else:
        target = task.owner.manager
    while target is not None and target.id == author.id:
        target = target.manager
    return None if target is None or target.id == task.owner_id else target
