"""Flow `approval-deadlines`: tasks past their deadline are swept, each process's way (`flows.processes`): most
go up one level by the shared escalation; document chains keep their own deadlines, reminders and escalation
targets. `kamflow serve` runs it on a timer."""

from __future__ import annotations

from prefect import flow

from flows.processes import sweep_overdue
from kamflow import clock
from kamflow.db import unit_of_work


@flow(name="approval-deadlines", log_prints=False)
def approval_deadlines() -> list[int]:
    """Sweep every process's overdue tasks; returns the ids of the tasks opened one level up."""
    with unit_of_work() as session:
        return [task.id for task in sweep_overdue(session, now=clock.now())]
