"""Flow `approval-deadlines`: tasks past their deadline go up one level. `kamflow serve` runs it on a timer."""

from __future__ import annotations

from prefect import flow

from kamflow import approvals, clock
from kamflow.db import unit_of_work
from kamflow.settings import get_settings


@flow(name="approval-deadlines", log_prints=False)
def approval_deadlines() -> list[int]:
    """Escalate overdue approval tasks; returns the ids of the tasks opened one level up."""
    with unit_of_work() as session:
        opened = approvals.escalate_overdue(session, now=clock.now(), deadline=get_settings().approval_deadline)
        return [task.id for task in opened]
