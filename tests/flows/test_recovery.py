"""The recovery sweep in this process: a waiting discount request's run cancelled, crashed, failed, stuck Pending
or Running, or suspended while its task was decided in the database; the waiting run of every process people
decide in deleted — and what the sweep makes of it. No runner: a run the sweep schedules again, or starts in place
of a deleted one, is executed here, as a runner would."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from prefect import Flow, get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
from prefect.client.schemas.objects import State
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.states import Cancelled, Crashed, Failed, Pending, Running, Scheduled
from pydantic import BaseModel
from sqlalchemy import func, select

from flows.discount import discount_authorization
from flows.documents import document_approval
from flows.order_credit import credit_limit_change, order_credit_check
from flows.processes import PROCESSES, approval_deadlines
from flows.recovery import HELD, Recovered, recover
from flows.runs import WATCH_SECONDS, deployment_path, wait_for, watch
from flows.solvency import solvency_check
from kamflow import approvals, audit, clock, org, recovery, started
from kamflow.app import runs as run_control
from kamflow.app.runs import Answer, start_run
from kamflow.credit import standing
from kamflow.credit.limits import LimitChangeIn
from kamflow.credit.orders import OrderIn
from kamflow.credit.solvency import SolvencyCheckIn
from kamflow.db import unit_of_work
from kamflow.discounts import PROCESS
from kamflow.discounts.tables import DiscountRequest
from kamflow.documents.submission import DocumentIn
from kamflow.errors import ServiceUnavailable
from kamflow.models import ApprovalTask
from kamflow.recovery import RERUN
from kamflow.settings import Settings, get_settings, use_settings
from kamflow.timeline import timeline
from tests.conftest import customer
from tests.flows.conftest import IN_PROCESS, Runs, deploy, suspended
from tests.flows.test_credit import over_limit
from tests.flows.test_decide import resumed
from tests.flows.test_discount import ask, status_of, waiting
from tests.flows.test_documents import AGREEMENT
from tests.support import free_port, kam_and_norm

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


def test_a_run_cancelled_in_the_prefect_ui_closes_its_task_and_its_subject_as_cancelled(runs: Runs) -> None:
    run_id, view = waiting(runs, above_norm_by=4)
    force(run_id, Cancelled())  # the Prefect UI's Cancel
    done = recover(now=clock.now())
    assert done.withdrawn == [str(run_id)]
    assert task_of(view).status == "cancelled"
    assert status_of(view["request_id"]) == "cancelled"
    [closed] = trail(view["task_id"], "task_cancelled")
    assert "Cancelled" in closed["reason"]
    with unit_of_work() as session:
        # audited on the request itself, so that its history (kamflow history, the workspace) shows it
        subject = audit.trail(session, subject_type="discount_request", subject_id=view["request_id"])
        steps = timeline(session, process=PROCESS, subject_id=view["request_id"])
    assert [e.detail["reason"] for e in subject if e.action == "subject_cancelled"] == [closed["reason"]]
    assert any("cancelled" in step.what for step in steps)
    assert recover(now=clock.now()).withdrawn == []  # once


@pytest.fixture(scope="module")
def served(prefect_api: str) -> None:
    """The deployments of the processes people decide in, named as `kamflow serve` names them
    (`flows.runs.deployment_path`): the sweep starts a fresh run of them. Nobody serves them here either."""
    for process in PROCESSES.values():
        if process.waits is not None:
            deploy(process.flow, process.name)


@dataclass(frozen=True)
class Case:
    """A run that waits for a person: its flow and parameter, the answer that settles its subject, and the
    subject's status then."""

    flow: Flow[..., Any]
    parameter: str
    request: BaseModel
    answer: Answer
    settled: str


def limit_in_force() -> Decimal:
    with unit_of_work() as session:
        limit = standing.standing(session, customer(session, "C0001"), on=clock.today()).limits.total
    assert limit is not None
    return limit


CASES: dict[str, Callable[[], Case]] = {
    "discount": lambda: Case(
        discount_authorization, "request", ask(kam_and_norm()[1] + 4), Answer(action="approve"), "approved"
    ),
    "document step": lambda: Case(
        document_approval,
        "document",
        DocumentIn(
            doc_type="discount_agreement", content=AGREEMENT, author="kam.south1", fields={"customer": "C0003"}
        ),
        Answer(action="reject", comment="no agreement this year"),
        "rejected",
    ),
    "order release": lambda: Case(
        order_credit_check,
        "order",
        OrderIn(customer="C0001", amount=over_limit(300), requester="kam.north1"),
        Answer(action="release"),
        "released",
    ),
    "limit change": lambda: Case(
        credit_limit_change,
        "change",
        LimitChangeIn(
            customer="C0001",
            amount=limit_in_force() + 150000,
            until=clock.today() + dt.timedelta(days=30),
            reason="season",
            requester="credit",
        ),
        Answer(action="approve"),
        "applied",
    ),
    "solvency": lambda: Case(
        solvency_check,
        "request",
        SolvencyCheckIn(customer="C0002", requester="kam.north2"),
        Answer(action="prepayment", comment="settle first"),
        "decided",
    ),
}


def fresh_runs() -> int:
    """The runs of the discount process's served deployment: where the sweep starts fresh runs."""
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(deployment_path(PROCESS))
        return client.count_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))
        )


def parameters(run_id: UUID) -> dict[str, Any]:
    with get_client(sync_client=True) as client:
        return client.read_flow_run(run_id).parameters


@pytest.mark.parametrize("name", CASES)
def test_a_deleted_run_gives_way_to_a_fresh_run_that_waits_for_the_same_task_and_settles_its_subject_once(
    runs: Runs, served: None, name: str
) -> None:
    case = CASES[name]()
    process, k = case.flow.name, started.kind(case.flow.name)
    old, state = runs.run(case.flow, **{case.parameter: case.request})
    assert suspended(state), state
    with unit_of_work() as session:
        subject_id = session.scalar(select(k.table.id).where(k.table.flow_run_id == str(old)))
        assert subject_id is not None
        tasks = [task.id for task in approvals.pending(session, process=process, subject_id=subject_id)]
        subjects = session.scalar(select(func.count()).select_from(k.table))
    with get_client(sync_client=True) as client:
        labelled = client.read_flow_run(old).name
        client.delete_flow_run(old)  # through Prefect's API, as the UI's Delete does

    assert recover(now=clock.now()) == Recovered([], [str(old)], [])
    with unit_of_work() as session:
        row = session.get_one(k.table, subject_id)
        assert isinstance(row, k.table)
        waiting_now = approvals.pending(session, process=process, subject_id=subject_id)
        new = UUID(str(row.flow_run_id))
        assert new != old and row.status in k.waiting
        assert [(t.id, t.flow_run_id) for t in waiting_now] == [(task, str(new)) for task in tasks]
        login = org.acting_for(session, waiting_now[0].owner, on=clock.today()).login
    for task in tasks:
        [event] = trail(task, RERUN)
        assert (event["flow_run_id"], event["replaces"], event["attempt"]) == (str(new), str(old), 1)
        assert "deleted" in event["why"]
    assert runs.state(new).is_scheduled()
    rebuilt = type(case.request).model_validate(parameters(new)[case.parameter])
    given = {field: value for field, value in case.request if value is not None}
    assert {field: getattr(rebuilt, field) for field in given} == given  # what the person asked

    assert suspended(runs.execute(case.flow, new))  # the fresh run waits for the same tasks
    with get_client(sync_client=True) as client:
        shown = client.read_flow_run(new)
    assert shown.name == labelled and f"assignee:{login}" in shown.tags  # as the ops console showed the old one
    assert recover(now=clock.now()) == Recovered([], [], [])  # a live wait is left alone

    run_control.decide(tasks[0], login=login, answer=case.answer)
    with unit_of_work() as session:
        decided = [e.id for e in audit.trail(session, subject_type=k.subject_type, subject_id=subject_id)]
    resumed(runs, new)
    assert runs.execute(case.flow, new).is_completed()
    with unit_of_work() as session:
        settled = session.get_one(k.table, subject_id)
        assert isinstance(settled, k.table) and settled.status == case.settled
        after = [e.id for e in audit.trail(session, subject_type=k.subject_type, subject_id=subject_id)]
        assert after == decided  # the run carried the decision over and decided nothing again
        assert session.scalar(select(func.count()).select_from(k.table)) == subjects  # no new subject
    assert len(trail(tasks[0], "task_decided")) == 1


def test_a_fresh_run_held_by_a_sweep_that_stopped_is_let_go_and_a_failed_tie_deletes_it(
    runs: Runs, served: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, view = waiting(runs, above_norm_by=4)
    with get_client(sync_client=True) as client:
        client.delete_flow_run(old)
    before = fresh_runs()

    def went_away(*_args: Any, **_kwargs: Any) -> bool:
        raise RuntimeError("the database went away")

    with monkeypatch.context() as patched:
        patched.setattr(recovery, "replace_run", went_away)
        with pytest.raises(RuntimeError, match="went away"):
            recover(now=clock.now())
    assert fresh_runs() == before  # the fresh run was deleted again
    assert task_of(view).flow_run_id == str(old) and trail(view["task_id"], RERUN) == []

    assert recover(now=clock.now()).rerun == [str(old)]
    new = UUID(str(task_of(view).flow_run_id))
    force(new, Scheduled(scheduled_time=clock.now() + HELD))  # as a sweep stopped before letting it go leaves it
    assert recover(now=clock.now()).rerun == [str(new)]
    due = runs.state(new).state_details.scheduled_time
    assert runs.state(new).is_scheduled() and due is not None and due <= clock.now()
    assert suspended(runs.execute(discount_authorization, new))


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


def test_a_run_prefect_refuses_to_start_names_its_answer_and_no_answer_asks_for_serve(runs: Runs) -> None:
    """Prefect's API answered with an error (here 409, parameters its deployment's schema refuses; in life a 503
    from its busy database, a 401 from a wrong key): the message gives that answer and does not send the reader to
    look for `kamflow serve`; an API that does not answer does."""
    deployment = f"{discount_authorization.name}/{IN_PROCESS}"
    with pytest.raises(ServiceUnavailable) as refused:
        start_run(deployment, {"request": {"customer": ["not", "a", "code"]}})
    assert refused.value.message.startswith(f"Prefect's API at {PREFECT_API_URL.value()} refused to start")
    assert "409" in refused.value.message and "kamflow serve" not in refused.value.message
    nowhere = {PREFECT_API_URL: f"http://127.0.0.1:{free_port()}/api"}
    with temporary_settings(nowhere), pytest.raises(ServiceUnavailable, match="is `kamflow serve` running"):
        start_run(deployment, {"request": {}})


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
