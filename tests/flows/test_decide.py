"""A person's decision through kamflow's run control (`kamflow.app.runs.decide`, what `kamflow decide` and the
workspace call): recorded in the database at once, with its human part, and the run resumed goes on from it and
decides nothing twice; two decisions at once make one; a requester withdraws a waiting request and its run ends."""

from __future__ import annotations

import threading
from typing import Any, cast
from uuid import UUID

import pytest

from flows.discount import discount_authorization
from flows.documents import document_approval
from flows.processes import Decided
from flows.runs import wait_for
from kamflow import audit
from kamflow.app import runs as run_control
from kamflow.app.runs import Answer
from kamflow.db import unit_of_work
from kamflow.discounts import PROCESS
from kamflow.documents.submission import DocumentIn
from kamflow.errors import InvalidInput
from kamflow.reports import plain
from tests.flows.conftest import Runs, cli, suspended
from tests.flows.test_discount import decisions, status_of, waiting
from tests.flows.test_documents import AGREEMENT, show, task_of
from tests.support import kam_and_norm

pytestmark = pytest.mark.flows


def decided_events(task_id: int) -> list[dict[str, Any]]:
    with unit_of_work() as session:
        events = audit.trail(session, subject_type="approval_task", subject_id=task_id)
    return [e.detail for e in events if e.action == "task_decided"]


def listed(*args: str) -> list[dict[str, Any]]:
    """What a listing command prints with --json (it succeeds)."""
    code, found = cli(*args)
    assert code == 0, found
    return cast(list[dict[str, Any]], found)


def resumed(runs: Runs, run_id: UUID) -> None:
    """Wait until the decision's run control has resumed the run (it does so beside the decision)."""
    wait_for("the run to be resumed", lambda: runs.state(run_id).is_scheduled() or None, timeout=30)


def test_a_counter_offer_lands_at_once_with_its_human_part_and_the_resumed_run_goes_on_from_it(runs: Runs) -> None:
    _, norm = kam_and_norm()
    counter = plain(norm + 1)
    run_id, view = waiting(runs, 2)
    head = view["assignee"]
    decided = run_control.decide(
        view["task_id"],
        login=head,
        answer=Answer(action="counter", discount_pct=str(norm + 1), comment="Halfway."),
    )
    assert status_of(view["request_id"]) == "approved"  # in the database before the run has moved
    shown = decided.model_dump(mode="json")
    assert (shown["process"], shown["status"], shown["verdict"]["outcome"]) == (PROCESS, "approved", "COUNTERED")
    assert shown["verdict"]["by"]["login"] == head and shown["verdict"]["comment"] == "Halfway."
    assert f"COUNTERED {counter}% by " in decided.text() and "'Halfway.'" in decided.text()
    [event] = decided_events(view["task_id"])
    assert (
        (event["outcome"], event["comment"]) == ("COUNTERED", "Halfway.") and event["name"] and event["position"]
    )

    resumed(runs, run_id)
    state = runs.execute(discount_authorization, run_id)
    assert state.is_completed(), state
    assert state.result().granted_pct == norm + 1
    assert len(decided_events(view["task_id"])) == 1  # the run decided nothing again
    assert decisions(view["request_id"]) == ["discount_escalate", "discount_counter"]
    report = runs.artifact(f"discount-request-{view['request_id']}")
    assert report is not None and f"**Decided:** COUNTERED {counter}% by " in report and "Halfway." in report


def test_two_decisions_given_at_once_make_one(runs: Runs) -> None:
    run_id, view = waiting(runs, 2)
    start = threading.Barrier(2)
    results: list[Decided | Exception] = []

    def decide(action: str) -> None:
        start.wait()
        try:
            results.append(
                run_control.decide(view["task_id"], login=view["assignee"], answer=Answer(action=action))
            )
        except InvalidInput as refused:
            results.append(refused)

    both = [threading.Thread(target=decide, args=(action,)) for action in ("approve", "reject")]
    for thread in both:
        thread.start()
    for thread in both:
        thread.join(60)
    [won] = [r for r in results if isinstance(r, Decided)]
    [lost] = [r for r in results if isinstance(r, InvalidInput)]
    assert lost.field == "task"
    resumed(runs, run_id)
    [event] = decided_events(view["task_id"])
    expected = "approved" if event["action"] == "approve" else "rejected"
    assert won.model_dump()["status"] == status_of(view["request_id"]) == expected
    assert runs.execute(discount_authorization, run_id).is_completed()
    assert len(decided_events(view["task_id"])) == 1


def test_a_document_step_decided_by_a_command_lets_the_run_wait_for_the_others_and_the_form_still_decides(
    runs: Runs,
) -> None:
    run_id, state = runs.run(
        document_approval,
        document=DocumentIn(
            doc_type="discount_agreement", content=AGREEMENT, author="kam.south1", fields={"customer": "C0003"}
        ),
    )
    assert suspended(state), state
    view = show(run_id)
    head = task_of(view, "head.south")
    decided = run_control.decide(head, login="head.south", answer=Answer(action="approve", comment="fine"))
    assert [w["assignee"] for w in decided.model_dump()["waiting_for"]] == ["credit"]
    resumed(runs, run_id)
    assert suspended(runs.execute(document_approval, run_id))  # went on, and waits for the credit controller
    assert len(decided_events(head)) == 1
    sheet = runs.artifact(f"document-{view['document_id']}-approval-sheet")
    assert sheet is not None and "Sánchez Romero" in sheet  # the sheet published after the command's decision

    credit = task_of(show(run_id), "credit")
    runs.answer(run_id, task_id=credit, login="credit", action="approve")  # the Prefect UI's form, with a code
    assert suspended(runs.execute(document_approval, run_id)) or runs.state(run_id).is_completed()
    assert [e["outcome"] for e in decided_events(credit)] == ["APPROVED"]


def test_the_requester_withdraws_a_waiting_request_its_run_ends_and_the_head_no_longer_sees_it(runs: Runs) -> None:
    kam, _ = kam_and_norm()
    run_id, view = waiting(runs, 2)
    head = view["assignee"]
    code, refused = cli("withdraw", PROCESS, str(view["request_id"]), "--as", head)
    assert (code, refused["field"]) == (3, "subject_id")
    code, done = cli("withdraw", PROCESS, str(view["request_id"]), "--reason", "order cancelled", "--as", kam)
    assert code == 0 and (done["status"], done["task_id"], done["process"]) == ("withdrawn", None, PROCESS)
    assert runs.state(run_id).is_cancelled()
    assert view["task_id"] not in [t["task_id"] for t in listed("tasks", "--as", head)]
    [mine] = [r for r in listed("requests", "--as", kam) if r["subject_id"] == view["request_id"]]
    assert (mine["process"], mine["status"], mine["task_id"]) == (PROCESS, "withdrawn", None)
    steps = listed("history", PROCESS, str(view["request_id"]), "--as", kam)
    assert [s["what"] for s in steps][-2:] == [
        f"task {view['task_id']} cancelled: withdrawn by {kam}: order cancelled",
        "WITHDRAWN",
    ]
    code, again = cli("withdraw", PROCESS, str(view["request_id"]), "--as", kam)
    assert code == 3 and "only a waiting one" in again["message"]
    with unit_of_work() as session:
        refusals = [
            e.detail["reason"]
            for e in audit.trail(session, subject_type="employee", subject_id=0)
            if e.actor in (kam, head)
        ]
    assert any("may withdraw" in r for r in refusals) and any("only a waiting one" in r for r in refusals)


def test_history_is_read_through_the_access_policy(runs: Runs) -> None:
    _, view = waiting(runs, 2)
    code, refused = cli("history", PROCESS, str(view["request_id"]), "--as", "kam.south1")
    assert code == 3 and refused["field"] == "customer"
    code, missing = cli("history", PROCESS, "999999", "--as", "kam.south1")
    assert code == 4 and missing["field"] == "subject_id"
