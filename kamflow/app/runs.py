"""Run control for people's commands: start a flow run through its deployment and wait until the domain database
shows what it did, or resume a waiting run with a person's answer."""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from pydantic import BaseModel

from flows.processes import PROCESSES, Decided, decided_view, waits_of
from flows.runs import deployment_path, resume_waiting, wait_for
from kamflow import approvals, clock, org
from kamflow.db import unit_of_work
from kamflow.errors import InvalidInput, NotFound, ServiceUnavailable
from kamflow.settings import get_settings
from kamflow.views import View


def start_run(deployment: str, parameters: dict[str, Any]) -> str:
    """Start a flow run of a deployment without waiting for it; returns its id. A runner that has just started
    may not have registered its deployments yet: give it a moment."""
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL

    def started() -> str | None:
        try:
            return str(cast(FlowRun, run_deployment(deployment, parameters=parameters, timeout=0)).id)
        except ObjectNotFound:
            return None
        except Exception as exc:  # the Prefect client raises many kinds; all mean the service is not there
            raise ServiceUnavailable(
                f"could not start {deployment} at {PREFECT_API_URL.value()}: {exc}; is `kamflow serve` running?"
            ) from exc

    return wait_for(f"deployment {deployment}", started, timeout=30)


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

    return wait_for(f"flow run {run_id}", settled, run=UUID(run_id))


class Answer(BaseModel):
    action: str
    discount_pct: str | None = None
    amount: str | None = None
    comment: str = ""
    content: str | None = None


def decide(task_id: int, *, login: str, answer: Answer) -> Decided:
    """Check that `login` may give this answer (writing nothing if not), resume the waiting flow run with it
    — the same path as the Prefect UI's form — and return the subject as it then stands, with the process it
    belongs to."""
    with unit_of_work() as session:
        task = approvals.get(session, task_id)
        org.employee(session, login)
        run_input = {
            "approver": login,
            "approval_code": approvals.approval_code(task, login=login, secret=get_settings().approval_secret),
            "task": task_id,
            **answer.model_dump(exclude_none=True),
        }
        waits = waits_of(task)
        check = waits.check_for(session, task)
        given = waits.answer.model_validate(run_input)
        approvals.verify_actor(session, task, login=login, on=clock.today())
        check(task, given.payload())
        flow_run_id, refused_before = task.flow_run_id, task.refused_inputs
        session.rollback()
    if flow_run_id is None:
        raise NotFound(f"task {task_id} has no waiting flow run", field="task")
    resume_waiting(UUID(flow_run_id), run_input=given.model_dump(mode="json"), what=f"task {task_id}")

    def settled() -> Decided | None:
        with unit_of_work() as session:
            now_task = approvals.get(session, task_id)
            if now_task.refused_inputs > refused_before:
                raise InvalidInput(f"the flow refused the answer to task {task_id}", field="task")
            return decided_view(session, now_task)

    return wait_for(f"the answer to task {task_id} to land", settled, run=UUID(flow_run_id))
