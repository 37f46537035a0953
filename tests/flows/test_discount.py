"""Discount authorization run in this process: `settle` decides what the rules decide at once; the shared human
step suspends the run with its task in the database and decides it from a typed answer; answers from someone
who may not decide are refused, audited and waited past."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from uuid import UUID

import httpx
import pytest
from prefect import get_client
from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter
from sqlalchemy import func, select

from flows.discount import DiscountOutcome, discount_authorization
from flows.human import RELEASED
from flows.processes import decided_view
from flows.runs import wait_for
from kamflow import approvals, audit, clock
from kamflow.db import unit_of_work
from kamflow.discounts import PROCESS
from kamflow.discounts import service as discounts
from kamflow.discounts import views as discount_views
from kamflow.discounts.service import DiscountRequestIn
from kamflow.discounts.tables import DiscountRequest
from kamflow.errors import InvalidInput
from kamflow.models import AuditEvent
from kamflow.reports import plain
from kamflow.settings import Settings, use_settings
from tests.flows.conftest import Runs, cli, suspended
from tests.support import approval_code, kam_and_norm

pytestmark = pytest.mark.flows


def ask(pct: Decimal, *, total: str = "150000") -> DiscountRequestIn:
    kam, _ = kam_and_norm()
    return DiscountRequestIn(
        customer="C0001", price_column=3, discount_pct=pct, order_total=Decimal(total), requester=kam
    )


def waiting(runs: Runs, above_norm_by: int) -> tuple[UUID, dict[str, Any]]:
    """A request above the norm, run until it suspends; the request as `kamflow discount request` shows it."""
    _, norm = kam_and_norm()
    run_id, state = runs.run(discount_authorization, request=ask(norm + above_norm_by))
    assert suspended(state), state
    with unit_of_work() as session:
        view = discount_views.settled_run(session, str(run_id))
    assert view is not None and view.status == "pending"
    return run_id, view.model_dump(mode="json")


def status_of(request_id: int) -> str:
    with unit_of_work() as session:
        return discounts.get(session, request_id).status


def refused_answers(task_id: int) -> list[AuditEvent]:
    with unit_of_work() as session:
        events = audit.trail(session, subject_type="approval_task", subject_id=task_id)
    return [e for e in events if e.action == "input_refused"]


def counts() -> tuple[int, int]:
    with unit_of_work() as session:
        return (
            session.scalar(select(func.count()).select_from(DiscountRequest)) or 0,
            session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
        )


def test_a_request_within_the_norm_is_decided_at_once_with_its_outcome_and_report(runs: Runs) -> None:
    _, norm = kam_and_norm()
    run_id, state = runs.run(discount_authorization, request=ask(norm - 1, total="1000"))
    assert state.is_completed(), state
    outcome = state.result()
    assert isinstance(outcome, DiscountOutcome)
    assert (outcome.status, outcome.granted_pct) == ("approved", norm - 1) and outcome.rules_version
    with unit_of_work() as session:
        assert approvals.current(session, process=PROCESS, subject_id=outcome.request_id) is None
        row = discounts.get(session, outcome.request_id)
        assert row.flow_run_id == str(run_id)
    report = runs.artifact(f"discount-request-{outcome.request_id}")
    assert report is not None and f"Discount request {outcome.request_id}: approved" in report
    assert outcome.rules_version[:12] in report


def test_a_request_above_the_norm_suspends_with_its_task_and_the_heads_answer_decides_it(runs: Runs) -> None:
    run_id, view = waiting(runs, 2)
    assert view["assignee"].startswith("head.") and view["task_id"] and view["rules_version"]
    assert any(r["rule"] == "above-norm" for r in view["reasons"])
    with unit_of_work() as session:
        task = approvals.get(session, view["task_id"])
        assert (task.status, task.flow_run_id) == ("pending", str(run_id))
        assert task in approvals.pending(session, process=PROCESS, subject_id=view["request_id"])

    runs.answer(run_id, task_id=view["task_id"], login=view["assignee"], action="approve", comment="fine")
    assert runs.state(run_id).is_scheduled()  # resumed: ready to run again, from the top
    state = runs.execute(discount_authorization, run_id)
    assert state.is_completed(), state
    assert state.result().status == "approved" and status_of(view["request_id"]) == "approved"
    with unit_of_work() as session:
        actions = [
            e.action for e in audit.trail(session, subject_type="discount_request", subject_id=view["request_id"])
        ]
        assert actions == ["discount_escalate", "discount_approve"]
        task = approvals.get(session, view["task_id"])
        assert (task.status, task.action, task.comment) == ("decided", "approve", "fine")
        decided = [
            e
            for e in audit.trail(session, subject_type="approval_task", subject_id=view["task_id"])
            if e.action == "task_decided"
        ]
        assert [e.actor for e in decided] == [view["assignee"]]


def test_an_answer_from_the_requester_is_refused_and_the_run_waits_again_for_the_heads_counter_offer(
    runs: Runs,
) -> None:
    kam, norm = kam_and_norm()
    run_id, view = waiting(runs, 1)
    runs.answer(run_id, task_id=view["task_id"], login=kam, action="approve")
    assert suspended(runs.execute(discount_authorization, run_id))
    with unit_of_work() as session:
        assert approvals.get(session, view["task_id"]).refused_inputs == 1
    assert [e.actor for e in refused_answers(view["task_id"])] == [kam]
    assert status_of(view["request_id"]) == "pending"

    runs.answer(run_id, task_id=view["task_id"], login=view["assignee"], action="counter", discount_pct=str(norm))
    state = runs.execute(discount_authorization, run_id)
    assert state.is_completed(), state
    with unit_of_work() as session:
        row = discounts.get(session, view["request_id"])
        assert row.granted_pct is not None, row.status
        assert (row.status, plain(row.granted_pct)) == ("approved", plain(norm))


def test_a_code_read_back_from_the_stored_run_input_and_sent_again_cannot_decide(runs: Runs) -> None:
    """A refused answer spends the code it carried, and Prefect keeps no answer readable: reading the run's inputs
    back through Prefect's API finds no code, and the code a refused answer carried, sent again, is refused."""
    run_id, view = waiting(runs, 1)
    head, task_id = view["assignee"], view["task_id"]
    spent = approval_code(task_id, head)
    asked = Decimal(view["discount_pct"])
    runs.answer(run_id, task_id=task_id, login=head, code=spent, action="counter", discount_pct=str(asked + 1))
    assert suspended(runs.execute(discount_authorization, run_id))  # a counter above the request: refused
    with get_client(sync_client=True) as client:
        stored = client.filter_flow_run_input(
            flow_run_id=run_id, key_prefix="suspended", limit=100, exclude_keys=set()
        )
    assert stored and not [i for i in stored if spent in i.value], "an answer's code is left readable in Prefect"

    runs.answer(run_id, task_id=task_id, login=head, code=spent, action="approve")  # the code replayed
    assert suspended(runs.execute(discount_authorization, run_id))
    assert status_of(view["request_id"]) == "pending"
    assert "wrong approval code" in refused_answers(task_id)[-1].detail["reason"]

    runs.answer(run_id, task_id=task_id, login=head, action="approve")  # the head's code as it is now
    assert runs.execute(discount_authorization, run_id).is_completed()
    assert status_of(view["request_id"]) == "approved"
    assert approval_code(task_id, head) != spent


def prefect_post(url: str, body: dict[str, Any]) -> httpx.Response:
    """A POST to Prefect's API as any HTTP client sends it, again while the server says it is busy (503, as
    Prefect's own client retries)."""
    for _ in range(20):
        answer = httpx.post(url, json=body, timeout=30)
        if answer.status_code != 503:
            return answer
        time.sleep(0.5)
    return answer


def test_the_requester_posting_to_prefects_resume_endpoint_with_a_code_read_back_never_decides(
    runs: Runs, settings: Settings, prefect_api: str
) -> None:
    """Under KAMFLOW_AUTH=required the requester goes round kamflow altogether: reads every input Prefect keeps
    for the run and POSTs answers straight to Prefect's resume endpoint — as the head, with a code read back or
    the one the head's refused answer carried, and as themself. The run waits again after each, each refusal is
    audited, and the request stays pending."""
    use_settings(settings.model_copy(update={"auth": "required"}))
    kam, _ = kam_and_norm()
    run_id, view = waiting(runs, 1)
    head, task_id = view["assignee"], view["task_id"]
    spent = approval_code(task_id, head)
    over = str(Decimal(view["discount_pct"]) + 1)
    runs.answer(run_id, task_id=task_id, login=head, code=spent, action="counter", discount_pct=over)
    assert suspended(runs.execute(discount_authorization, run_id))  # the head's answer, refused: its code spent

    stored = prefect_post(f"{prefect_api}/flow_runs/{run_id}/input/filter", {"prefix": "", "limit": 100})
    assert stored.status_code == 200 and stored.json(), stored.text
    read_back = [
        answer.get("approval_code")
        for item in stored.json()
        if isinstance(answer := json.loads(item["value"]), dict) and answer.get("approval_code")
    ]
    assert read_back == [], "an answer's code is left readable in Prefect"

    # as the head with the code the refused answer carried and with another person's; as themself with the code
    # kamflow would make for them now (the requester is refused whatever code they hold)
    tries: list[tuple[str, Callable[[], str]]] = [
        (head, lambda: spent),
        (head, lambda: approval_code(task_id, kam)),
        (kam, lambda: approval_code(task_id, kam)),
    ]
    for approver, code in tries:
        run_input = {"approver": approver, "approval_code": code(), "task": task_id, "action": "approve"}
        posted = prefect_post(f"{prefect_api}/flow_runs/{run_id}/resume", {"run_input": run_input})
        assert posted.status_code in (200, 201) and posted.json()["status"] == "ACCEPT", posted.text
        assert suspended(runs.execute(discount_authorization, run_id)), "the run did not wait again"
    assert status_of(view["request_id"]) == "pending"
    refused = refused_answers(task_id)
    assert [e.actor for e in refused] == [head, head, head, kam]
    assert all("approval code" in e.detail["reason"] for e in refused[1:3])
    assert f"{kam} asked for this and may not decide it" in refused[3].detail["reason"]
    with unit_of_work() as session:
        decided = [
            e
            for e in audit.trail(session, subject_type="approval_task", subject_id=task_id)
            if e.action == "task_decided"
        ]
    assert decided == []


@pytest.mark.parametrize("code_of", ["wrong", "another person's"])
def test_an_answer_without_the_assignees_code_is_refused_audited_and_waited_past(runs: Runs, code_of: str) -> None:
    run_id, view = waiting(runs, 1)
    head = view["assignee"]
    code = "ABCD-EFGH" if code_of == "wrong" else approval_code(view["task_id"], "commercial")
    runs.answer(run_id, task_id=view["task_id"], login=head, code=code, action="approve")
    assert suspended(runs.execute(discount_authorization, run_id))
    [event] = refused_answers(view["task_id"])
    assert event.actor == head and "approval code" in event.detail["reason"]
    assert status_of(view["request_id"]) == "pending"

    runs.answer(run_id, task_id=view["task_id"], login=head, action="approve")
    assert runs.execute(discount_authorization, run_id).is_completed()
    assert status_of(view["request_id"]) == "approved"


def test_the_tasks_command_shows_each_person_their_own_code(runs: Runs) -> None:
    _, view = waiting(runs, 1)
    code, mine = cli("tasks", "--as", view["assignee"])
    assert code == 0
    [task] = [t for t in mine if t["task_id"] == view["task_id"]]
    assert task["approval_code"] == approval_code(view["task_id"], view["assignee"])
    assert task["approval_code"] != approval_code(view["task_id"], "commercial")


def test_the_cli_refuses_the_requester_and_a_second_answer_and_writes_nothing(runs: Runs) -> None:
    kam, _ = kam_and_norm()
    run_id, view = waiting(runs, 2)
    before = counts()
    code, refused = cli("decide", str(view["task_id"]), "approve", "--as", kam)
    assert (code, refused["field"]) == (3, "approver")
    assert counts() == before

    runs.answer(run_id, task_id=view["task_id"], login=view["assignee"], action="reject", comment="no")
    assert runs.execute(discount_authorization, run_id).is_completed()
    with unit_of_work() as session:
        shown = decided_view(session, approvals.get(session, view["task_id"]))
    assert shown is not None and "REJECTED" in shown.text()
    decided = counts()
    code, twice = cli("decide", str(view["task_id"]), "approve", "--as", view["assignee"])
    assert code == 2 and "already decided" in twice["message"]
    assert counts() == decided


def test_a_counter_offer_above_the_request_is_refused_by_the_cli_and_writes_nothing(runs: Runs) -> None:
    _, norm = kam_and_norm()
    _, view = waiting(runs, 2)
    before = counts()
    code, refused = cli(
        "decide", str(view["task_id"]), "counter", "--discount-pct", str(norm + 3), "--as", view["assignee"]
    )
    assert (code, refused["field"]) == (2, "discount_pct")
    assert counts() == before


def test_a_task_past_its_deadline_is_decided_one_level_up(runs: Runs) -> None:
    run_id, view = waiting(runs, 2)
    with unit_of_work() as session:
        [opened] = [
            t
            for t in approvals.escalate_overdue(
                session, now=clock.now() + dt.timedelta(days=3), deadline=dt.timedelta(hours=48)
            )
            if t.subject_id == view["request_id"]
        ]
        task_id = opened.id
    code, late = cli("decide", str(view["task_id"]), "approve", "--as", view["assignee"])
    assert code == 2 and late["field"] == "task"

    runs.answer(run_id, task_id=task_id, login="commercial", action="approve")
    assert runs.execute(discount_authorization, run_id).is_completed()
    with unit_of_work() as session:
        shown = decided_view(session, approvals.get(session, task_id))
    assert shown is not None
    assert (shown.subject.model_dump()["status"], shown.process) == ("approved", PROCESS)


def pending_view(run_id: UUID) -> dict[str, Any] | None:
    """The run's request once its task is open, as `kamflow discount request` shows it."""
    with unit_of_work() as session:
        view = discount_views.settled_run(session, str(run_id))
    return view.model_dump(mode="json") if view is not None and view.status == "pending" else None


def decisions(request_id: int) -> list[str]:
    with unit_of_work() as session:
        trail = audit.trail(session, subject_type="discount_request", subject_id=request_id)
    return [e.action for e in trail]


def test_an_answer_inside_the_warm_wait_goes_on_in_the_same_execution_and_a_second_answer_is_refused(
    runs: Runs, settings: Settings
) -> None:
    """The run suspends and its execution keeps watching it: the head's answer, given meanwhile, is decided by that
    same execution (no second one), Prefect keeps no copy of it, and an answer sent after it finds nothing to
    resume."""
    use_settings(settings.model_copy(update={"warm_wait_seconds": 60}))
    _, norm = kam_and_norm()
    run_id = runs.start(discount_authorization, request=ask(norm + 2))
    late: list[Exception] = []

    def head_answers_twice() -> None:
        view = wait_for("the request to wait", lambda: pending_view(run_id), timeout=60)
        runs.answer(run_id, task_id=view["task_id"], login=view["assignee"], action="approve", comment="warm")
        try:
            runs.answer(run_id, task_id=view["task_id"], login=view["assignee"], action="reject")
        except Exception as exc:  # what the second answer meets is checked below
            late.append(exc)

    head = threading.Thread(target=head_answers_twice)
    head.start()
    started = time.monotonic()
    state = runs.execute(discount_authorization, run_id)
    head.join(60)
    assert state.is_completed(), state
    assert time.monotonic() - started < 30, "the answer waited for the end of the warm window"
    outcome = state.result()
    assert outcome.status == "approved" and decisions(outcome.request_id) == [
        "discount_escalate",
        "discount_approve",
    ]
    [refused] = late
    assert isinstance(refused, InvalidInput) and "not waiting for an answer any more" in refused.message
    with get_client(sync_client=True) as client:
        stored = client.filter_flow_run_input(
            flow_run_id=run_id, key_prefix="suspended", limit=100, exclude_keys=set()
        )
    assert stored and not [i for i in stored if i.key.endswith("response")], "the answer is left in Prefect"


def test_a_run_unanswered_in_the_warm_wait_gives_its_process_back_and_is_answered_later(
    runs: Runs, settings: Settings
) -> None:
    use_settings(settings.model_copy(update={"warm_wait_seconds": 1}))
    run_id, view = waiting(runs, 2)  # the execution ended with the run suspended
    assert status_of(view["request_id"]) == "pending"
    # it said so to Prefect: the production crash detection takes a released run's heartbeats for ended
    released = EventFilter(
        event=EventNameFilter(name=[RELEASED]), resource=EventResourceFilter(id=[f"prefect.flow-run.{run_id}"])
    )
    deadline = time.monotonic() + 30
    with get_client(sync_client=True) as client:
        while not client.read_events(released, limit=1).events:
            assert time.monotonic() < deadline, "no release event"
            time.sleep(0.5)
    runs.answer(run_id, task_id=view["task_id"], login=view["assignee"], action="approve")
    state = runs.execute(discount_authorization, run_id)  # a new execution: the flow runs again from the top
    assert state.is_completed(), state
    assert decisions(view["request_id"]) == ["discount_escalate", "discount_approve"]
