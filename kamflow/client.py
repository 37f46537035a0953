"""What a user's command does against the running processes: start a flow run through its deployment,
resume a waiting one with an answer, and read back what the domain database says."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar, cast
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy.orm import Session

from kamflow import approvals, clock, discounts, org
from kamflow.db import unit_of_work
from kamflow.errors import InvalidInput, KamflowError, NotFound
from kamflow.models import DiscountRequest
from kamflow.reports import plain
from kamflow.serving import DISCOUNT_DEPLOYMENT
from kamflow.settings import get_settings

T = TypeVar("T")
WAIT_SECONDS = 90.0


class ServiceUnavailable(KamflowError):
    exit_code = 5
    kind = "unavailable"


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = WAIT_SECONDS) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise ServiceUnavailable(f"timed out waiting for {what}; is `kamflow serve` running?")
        time.sleep(0.2)


def request_view(session: Session, request_id: int) -> dict[str, Any]:
    """The discount request as it stands, with its open task and whoever holds it."""
    row = discounts.get(session, request_id)
    task = approvals.current(session, process=discounts.PROCESS, subject_id=row.id)
    assignee = (
        approvals.assignee(session, task, on=clock.today()).login if task and task.status == "pending" else None
    )
    decision = row.decision
    return {
        "request_id": row.id,
        "status": row.status,
        "customer": row.customer.code,
        "discount_pct": plain(row.discount_pct),
        "granted_pct": None if row.granted_pct is None else plain(row.granted_pct),
        "task_id": task.id if task and task.status == "pending" else None,
        "assignee": assignee,
        "reasons": [{"rule": r["rule"], "text": r["text"]} for r in decision["reasons"]],
        "rules_version": row.rules_version,
        "decided_by": task.actor.login if task and task.actor else None,
        "flow_run_id": row.flow_run_id,
    }


def show_request(request_id: int) -> dict[str, Any]:
    with unit_of_work() as session:
        return request_view(session, request_id)


def decided_request(session: Session, request_id: int) -> dict[str, Any] | None:
    """The request once a person's answer has landed on it (for `kamflow decide`); None while it still waits."""
    view = request_view(session, request_id)
    return None if view["status"] == "pending" else view


def _settled_request(flow_run_id: str) -> dict[str, Any] | None:
    with unit_of_work() as session:
        row = session.query(DiscountRequest).filter_by(flow_run_id=flow_run_id).one_or_none()
        if row is None:
            return None
        task = approvals.current(session, process=discounts.PROCESS, subject_id=row.id)
        if row.status == "pending" and task is None:
            return None
        return request_view(session, row.id)


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


def request_discount(request: discounts.DiscountRequestIn) -> dict[str, Any]:
    """Check the request (writing nothing if it is wrong), start its flow run, return what it decided."""
    with unit_of_work() as session:
        discounts.facts(session, request, on=request.requested_on or clock.today())
        session.rollback()
    run_id = start_run(DISCOUNT_DEPLOYMENT, {"request": request.model_dump(mode="json")})
    return wait_for(f"flow run {run_id}", lambda: _settled_request(run_id))


def resume_waiting(flow_run_id: UUID, *, run_input: dict[str, Any], what: str) -> None:
    """Resume a run waiting for input. A run that has just opened its task may not have suspended yet:
    give it a moment rather than refuse."""
    from prefect import get_client
    from prefect.client.schemas.responses import SetStateStatus
    from prefect.exceptions import ObjectNotFound

    def paused() -> bool | None:
        with get_client(sync_client=True) as client:
            try:
                state = client.read_flow_run(flow_run_id).state
            except ObjectNotFound as exc:
                raise NotFound(f"the flow run of {what} is gone", field="task") from exc
        if state is not None and state.is_final():
            raise InvalidInput(f"{what} is not waiting for an answer any more ({state.name})", field="task")
        return True if state is not None and state.is_paused() else None

    wait_for(f"the flow run of {what} to wait for its answer", paused, timeout=30)
    try:
        with get_client(sync_client=True) as client:
            result = client.resume_flow_run(flow_run_id, run_input=run_input)
    except Exception as exc:  # the Prefect client raises many kinds
        raise InvalidInput(f"{what} is not waiting for an answer any more: {exc}", field="task") from exc
    if result.status != SetStateStatus.ACCEPT:  # another answer got there first: the server aborts this one
        reason = getattr(result.details, "reason", result.status.value)
        raise InvalidInput(f"{what} is not waiting for an answer any more: {reason}", field="task")


class Answer(BaseModel):
    action: str
    discount_pct: str | None = None
    amount: str | None = None
    comment: str = ""
    content: str | None = None


def decide(task_id: int, *, login: str, answer: Answer) -> dict[str, Any]:
    """Check that `login` may give this answer (writing nothing if not), resume the waiting flow run with it
    — the same path as the Prefect UI's form — and return the subject as it then stands, with the process it
    belongs to."""
    from flows.processes import decided_view, process_of  # it imports this module: read here, not at the top

    with unit_of_work() as session:
        task = approvals.get(session, task_id)
        org.employee(session, login)
        run_input = {
            "approver": login,
            "approval_code": approvals.approval_code(task, login=login, secret=get_settings().approval_secret),
            "task": task_id,
            **answer.model_dump(exclude_none=True),
        }
        process = process_of(task)
        check = process.check_for(session, task)
        given = process.answer.model_validate(run_input)
        approvals.verify_actor(session, task, login=login, on=clock.today())
        check(task, given.payload())
        flow_run_id, refused_before = task.flow_run_id, task.refused_inputs
        session.rollback()
    if flow_run_id is None:
        raise NotFound(f"task {task_id} has no waiting flow run", field="task")
    resume_waiting(UUID(flow_run_id), run_input=given.model_dump(mode="json"), what=f"task {task_id}")

    def settled() -> dict[str, Any] | None:
        with unit_of_work() as session:
            now_task = approvals.get(session, task_id)
            if now_task.refused_inputs > refused_before:
                raise InvalidInput(f"the flow refused the answer to task {task_id}", field="task")
            return decided_view(session, now_task)

    return wait_for(f"the answer to task {task_id} to land", settled)
