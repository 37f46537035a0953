"""Run control for people's commands: start a flow run through its deployment and wait until the domain database
shows what it did; record a person's answer and resume the run that waited for it; withdraw a request and end
its run."""

from __future__ import annotations

import logging
import threading
from typing import Any, cast
from uuid import UUID

from pydantic import BaseModel

from flows.human import record_answer
from flows.processes import PROCESSES, Decided, decided_view, waits_of
from flows.runs import cancel_run, deployment_path, resume_waiting, wait_for
from kamflow import approvals, clock, org, started
from kamflow.db import unit_of_work
from kamflow.errors import ServiceUnavailable
from kamflow.i18n import _
from kamflow.views import View

logger = logging.getLogger(__name__)


def start_run(deployment: str, parameters: dict[str, Any]) -> str:
    """Start a flow run of a deployment without waiting for it; returns its id. A runner that has just started
    may not have registered its deployments yet: give it a moment."""
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError
    from prefect.settings import PREFECT_API_URL

    def started() -> str | None:
        try:
            return str(cast(FlowRun, run_deployment(deployment, parameters=parameters, timeout=0)).id)
        except ObjectNotFound:
            return None
        except PrefectHTTPStatusError as exc:  # it answered, after its client's own tries: a busy database, a key
            raise ServiceUnavailable(
                _("Prefect's API at {api} refused to start {deployment}: {error}").format(
                    deployment=deployment, api=PREFECT_API_URL.value(), error=exc
                )
            ) from exc
        except Exception as exc:  # no answer: the Prefect client raises many kinds
            raise ServiceUnavailable(
                _("could not start {deployment} at {api}: {error}; is `kamflow serve` running?").format(
                    deployment=deployment, api=PREFECT_API_URL.value(), error=exc
                )
            ) from exc

    return wait_for(_("deployment {deployment}").format(deployment=deployment), started, timeout=30)


def start(process: str, request: BaseModel) -> View:
    """Check the request as the process does (writing nothing if it is wrong), start its flow run through the
    process's deployment, and return its subject once it stands still: decided, or waiting with its task open."""
    how = PROCESSES[process].start
    assert how is not None, f"{process} is not started by a command"
    with unit_of_work() as session:
        how.prepare(session, request)
        session.rollback()
    run_id = start_run(deployment_path(process), {how.parameter: request.model_dump(mode="json")})

    def settled() -> View | None:
        with unit_of_work() as session:
            return how.settled(session, run_id)

    return wait_for(_("flow run {run}").format(run=run_id), settled, run=UUID(run_id))


class Answer(BaseModel):
    action: str
    discount_pct: str | None = None
    amount: str | None = None
    comment: str = ""
    content: str | None = None


RECORDED = "recorded"
"""What stands for the approval code in the answer a command resumes a run with: the command recorded the
decision itself (the person's identity proven by the caller), and the run reads only the task the answer names."""


def decide(task_id: int, *, login: str, answer: Answer) -> Decided:
    """Record `login`'s answer to the task in the domain database at once — in one transaction the task is
    decided, with the same checks the flow applies (they may decide it; the process's business check), and the
    answer is carried onto its subject — and return the subject as it then stands, with the process it belongs
    to. The waiting run is resumed meanwhile, on a thread of its own (a command's process ends once it has; a
    server goes on serving), and goes on from the recorded decision: the next step of a chain, the report, the end
    of the run. Writes nothing and raises when the answer may not be given."""
    now = clock.now()
    with unit_of_work() as session:
        task = approvals.get(session, task_id)
        org.employee(session, login)
        waits = waits_of(task)
        given = waits.answer.model_validate(
            {"approver": login, "approval_code": RECORDED, "task": task_id, **answer.model_dump(exclude_none=True)}
        )
        record_answer(session, task, given, check_for=waits.check_for, then=waits.apply, now=now)
        shown = decided_view(session, task)
        flow_run_id = task.flow_run_id
    assert shown is not None, f"task {task_id} is decided"
    if flow_run_id is not None:  # not waited for here: the decision is shown as soon as it is recorded
        threading.Thread(
            target=_go_on,
            args=(UUID(flow_run_id), given.model_dump(mode="json")),
            kwargs={"what": _("task {task}").format(task=task_id)},
            name=f"resume {flow_run_id}",
        ).start()
    return shown


def _go_on(flow_run_id: UUID, run_input: dict[str, Any], *, what: str) -> None:
    """Resume the run that waited for a decision already recorded. Were it not waiting any more (cancelled,
    crashed, or it found the decision on its own before it suspended), the decision stands and that is logged."""
    try:
        resume_waiting(flow_run_id, run_input=run_input, what=what)
    except Exception as stuck:  # a thread of its own: whatever stops it (Prefect unreachable too) is only logged
        logger.warning("%s is decided, but its flow run %s did not resume: %s", what, flow_run_id, stuck)


def withdraw(process: str, subject_id: int, *, login: str, reason: str) -> Decided:
    """Take back a request that still waits for a person (only its requester, or whoever stands in for them):
    its open task is closed, it is marked withdrawn (audited) in one transaction, and then its waiting flow run is
    cancelled. Returns the subject as it then stands."""
    with unit_of_work() as session:
        task = approvals.current(session, process=process, subject_id=subject_id)
        row = started.withdraw(
            session,
            process=process,
            subject_id=subject_id,
            person=org.employee(session, login),
            reason=reason,
            now=clock.now(),
        )
        flow_run_id = row.flow_run_id
        shown = None if task is None else decided_view(session, task)
    if flow_run_id is not None:
        cancel_run(UUID(flow_run_id), reason=f"{process} {subject_id} withdrawn by {login}")
    assert shown is not None, f"{process} {subject_id} was waiting without a task"
    return shown
