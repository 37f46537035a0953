"""Flow `approval-deadlines`: tasks past their deadline go up one level. `kamflow serve` runs it on a timer.

Document chains keep their own deadlines, reminders and escalation targets (kamflow.documents)."""

from __future__ import annotations

from prefect import flow

from kamflow import approvals, clock
from kamflow.db import unit_of_work
from kamflow.documents import service as documents
from kamflow.settings import get_settings


@flow(name="approval-deadlines", log_prints=False)
def approval_deadlines() -> list[int]:
    """Escalate overdue approval tasks and remind document steps; returns the ids of the tasks opened one level
    up."""
    now = clock.now()
    with unit_of_work() as session:
        opened = approvals.escalate_overdue(
            session, now=now, deadline=get_settings().approval_deadline, exclude=(documents.PROCESS,)
        )
        opened += documents.sweep(session, now=now)
        return [task.id for task in opened]
