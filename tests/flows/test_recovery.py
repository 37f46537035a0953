"""The recovery sweep in this process: a waiting discount request's run cancelled, deleted, crashed, failed, stuck
Pending or Running, or suspended while its task was decided in the database — and what the sweep makes of it.
No runner: a run the sweep schedules again is executed here, as a runner would."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.objects import State
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.states import Cancelled, Crashed, Failed, Pending, Running, Scheduled
from sqlalchemy import func, select

from flows.discount import discount_authorization
from flows.processes import approval_deadlines
from flows.recovery import recover
from flows.runs import WATCH_SECONDS, wait_for, watch
from kamflow import approvals, audit, clock, org
from kamflow.db import unit_of_work
from kamflow.discounts import PROCESS
from kamflow.discounts.tables import DiscountRequest
from kamflow.errors import ServiceUnavailable
from kamflow.models import ApprovalTask
from kamflow.recovery import RERUN
from kamflow.settings import Settings, get_settings, use_settings
from kamflow.timeline import timeline
from tests.flows.conftest import Runs, suspended
from tests.flows.test_discount import status_of, waiting
from tests.support import free_port

pytestmark = pytest.mark.flows


def force(run_id: UUID, state: State) -> None:
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(run_id, state, force=True)


def later() -> dt.datetime:
    """A moment past the grace a stuck run is given."""
    return clock.now() + dt.timedelta(seconds=get_settings().recovery_grace_seconds + 1)


def trail(task_id: int, action: str) -> list[dict[str, Any]]:
    with unit_of_work() as session:
        events = audit.trail(session, subject_type="approval_task", subject_id=task_id)
    return [e.detail for e in events if e.action == action]


def task_of(view: dict[str, Any]) -> ApprovalTask:
    with unit_of_work() as session:
        task = approvals.get(session, view["task_id"])
        session.expunge(task)
    return task


def requests() -> int:
    with unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(DiscountRequest)) or 0


@pytest.mark.parametrize("how", ["cancelled", "deleted"])
def test_a_run_cancelled_or_deleted_closes_its_task_and_its_subject_as_cancelled(runs: Runs, how: str) -> None:
    run_id, view = waiting(runs, above_norm_by=4)
    if how == "cancelled":
        force(run_id, Cancelled())  # the Prefect UI's Cancel
    else:
        with get_client(sync_client=True) as client:
            client.delete_flow_run(run_id)
    done = recover(now=clock.now())
    assert done.withdrawn == [str(run_id)]
    assert task_of(view).status == "cancelled"
    assert status_of(view["request_id"]) == "cancelled"
    [closed] = trail(view["task_id"], "task_cancelled")
    assert ("deleted" if how == "deleted" else "Cancelled") in closed["reason"]
    with unit_of_work() as session:
        # audited on the request itself, so that its history (kamflow history, the workspace) shows it
        subject = audit.trail(session, subject_type="discount_request", subject_id=view["request_id"])
        steps = timeline(session, process=PROCESS, subject_id=view["request_id"])
    assert [e.detail["reason"] for e in subject if e.action == "subject_cancelled"] == [closed["reason"]]
    assert any("cancelled" in step.what for step in steps)
    assert recover(now=clock.now()).withdrawn == []  # once


@pytest.mark.parametrize("state", [Crashed(), Failed(), Pending(), Running()], ids=lambda s: s.name)
def test_a_broken_or_stuck_run_waits_again_for_the_same_task_and_is_decided_once(runs: Runs, state: State) -> None:
    run_id, view = waiting(runs, above_norm_by=4)
    before = requests()
    force(run_id, state)
    stuck = state.type.value in ("PENDING", "RUNNING")
    if stuck:  # within its grace a Pending or Running run is on its way: left alone
        assert recover(now=clock.now()).rerun == []
    done = recover(now=later() if stuck else clock.now())
    assert done.rerun == [str(run_id)]
    assert runs.state(run_id).is_scheduled()
    with get_client(sync_client=True) as client:
        history = [s.type.value for s in client.read_flow_run_states(run_id)]
    assert history[-2:] == (["CRASHED", "SCHEDULED"] if stuck else [state.type.value, "SCHEDULED"])
    [event] = trail(view["task_id"], RERUN)
    assert event["attempt"] == 1 and event["rerun"] is True and state.name in event["why"]
    assert suspended(runs.execute(discount_authorization, run_id))  # the same run waits again
    assert requests() == before and task_of(view).status == "pending"
    runs.answer(run_id, task_id=view["task_id"], login=view["assignee"], action="approve")
    assert runs.execute(discount_authorization, run_id).is_completed()
    assert status_of(view["request_id"]) == "approved"
    assert len(trail(view["task_id"], "task_decided")) == 1


def test_a_run_that_keeps_failing_is_left_to_a_person_audited_once(runs: Runs, settings: Settings) -> None:
    use_settings(settings.model_copy(update={"recovery_reruns": 1}))
    run_id, view = waiting(runs, above_norm_by=4)
    force(run_id, Failed(message="the rules refused"))
    assert recover(now=clock.now()).rerun == [str(run_id)]
    force(run_id, Failed(message="the rules refused"))
    assert recover(now=clock.now()).left == [str(run_id)]
    assert recover(now=clock.now()).left == []
    events = trail(view["task_id"], RERUN)
    assert [e["rerun"] for e in events] == [True, False]
    assert runs.state(run_id).is_failed() and task_of(view).status == "pending"


def test_a_decision_in_the_database_whose_run_never_went_on_is_carried_over(runs: Runs) -> None:
    run_id, view = waiting(runs, above_norm_by=4)
    with unit_of_work() as session:  # the decision is recorded; the resume never reached the run
        task = approvals.get(session, view["task_id"])
        head = org.employee(session, view["assignee"])
        payload = {"action": "approve", "discount_pct": None}
        now = clock.now()
        assert approvals.claim(session, task, by=head, action="approve", comment="", payload=payload, now=now)
    assert recover(now=clock.now()).rerun == []  # decide's own resume may still be on its way
    assert recover(now=later()).rerun == [str(run_id)]
    assert runs.execute(discount_authorization, run_id).is_completed()
    assert status_of(view["request_id"]) == "approved"
    assert len(trail(view["task_id"], "task_decided")) == 1
    assert recover(now=later()).rerun == []


def test_the_deadlines_flow_runs_the_sweep_and_a_live_wait_is_left_alone(runs: Runs) -> None:
    run_id, view = waiting(runs, above_norm_by=4)
    live_id, _ = waiting(runs, above_norm_by=5)
    force(run_id, Crashed())
    assert approval_deadlines() == []
    assert runs.state(run_id).is_scheduled() and suspended(runs.state(live_id))
    assert trail(view["task_id"], RERUN)


def test_a_command_waiting_on_a_run_stops_saying_why_when_the_run_cannot_go_on(runs: Runs) -> None:
    run_id, view = waiting(runs, above_norm_by=4)
    watch(run_id, what="the request")  # suspended: it waits for a person
    force(run_id, Crashed(message="its process was killed"))
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable) as stopped:
        wait_for("the request", lambda: None, timeout=60, run=run_id)
    assert time.monotonic() - started < 2 * WATCH_SECONDS
    assert (
        "is Crashed: its process was killed" in stopped.value.message and "recovery sweep" in stopped.value.message
    )
    with pytest.raises(ServiceUnavailable, match="your answer was not given"):  # `kamflow decide` after a crash
        runs.answer(run_id, task_id=view["task_id"], login=view["assignee"], action="approve")
    force(run_id, Scheduled())  # resumed, but no runner serves the run's deployment
    with pytest.raises(ServiceUnavailable, match="nobody serves its deployment"):
        watch(run_id, what="the request")
    nowhere = {PREFECT_API_URL: f"http://127.0.0.1:{free_port()}/api"}
    with temporary_settings(nowhere), pytest.raises(ServiceUnavailable, match="does not answer"):
        watch(run_id, what="the request")
