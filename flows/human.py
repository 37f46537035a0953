"""The one way every process waits for a person.

The task lives in the domain database; the flow run is suspended (no process is held while it waits) and
resumed with a typed answer from the Prefect UI's form or `kamflow decide`. On resume the flow re-runs from
the top, finds its task in the database and reads the answer; an answer from someone who may not decide is
refused, audited, and the run waits again under a new key.
"""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput
from prefect.runtime import flow_run
from pydantic import Field

from kamflow import approvals, clock, org
from kamflow.db import unit_of_work
from kamflow.errors import KamflowError
from kamflow.models import ApprovalTask
from kamflow.settings import get_settings


class ApprovalInput(RunInput):
    """What every approver answers; each process adds its own action and fields."""

    approver: str = Field(
        description="Your kamflow login. Only the task's assignee (or their delegate) may decide."
    )
    comment: str = Field(default="", max_length=2000, description="Your comment; it goes into the audit trail.")

    def payload(self) -> dict[str, Any]:
        """The process-specific part of the answer, JSON-safe."""
        return self.model_dump(mode="json", exclude={"approver", "comment"})


def task_markdown(task: ApprovalTask, *, assignee: str) -> str:
    return (
        f"## {task.title}\n\n{task.explanation}\n\n"
        f"**Task {task.id}** for **{assignee}** ({task.role}), due {task.due_at:%Y-%m-%d %H:%M} UTC.\n\n"
        "Enter your login, choose an action and submit."
    )


def human_step(
    *,
    process: str,
    subject_id: int,
    title: str,
    explanation: str,
    role: str,
    requester: str,
    answer: type[ApprovalInput],
    check: approvals.Check,
) -> ApprovalTask:
    """Open (or find) the subject's approval task and return it once a permitted person has decided it."""
    logger = get_run_logger()
    settings = get_settings()
    while True:
        now = clock.now()
        with unit_of_work() as session:
            task = approvals.open_task(
                session,
                process=process,
                subject_id=subject_id,
                title=title,
                explanation=explanation,
                role=role,
                requester=org.employee(session, requester),
                flow_run_id=str(flow_run.id),
                now=now,
                deadline=settings.approval_deadline,
            )
            if task.status == "decided":
                return task
            key = approvals.waiting_key(session, process=process, subject_id=subject_id)
            form = answer.with_initial_data(
                description=task_markdown(
                    task, assignee=approvals.assignee(session, task, on=clock.today(now)).login
                )
            )
        given = suspend_flow_run(wait_for_input=form, key=key, timeout=None)
        now = clock.now()
        with unit_of_work() as session:
            live = approvals.current(session, process=process, subject_id=subject_id)
            assert live is not None
            try:
                approvals.decide(
                    session,
                    task=live,
                    login=given.approver,
                    action=str(given.payload().get("action")),
                    comment=given.comment,
                    payload=given.payload(),
                    check=check,
                    now=now,
                    on=clock.today(now),
                )
            except KamflowError as refused:
                session.rollback()
                approvals.refuse(session, task=live, login=given.approver, reason=refused.message, now=now)
                logger.warning("answer refused: %s", refused.message)
