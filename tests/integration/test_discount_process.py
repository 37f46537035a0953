"""Discount authorization end to end: a real Prefect API, a real runner process, the real CLI."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from prefect import get_client
from prefect.flow_runs import resume_flow_run
from sqlalchemy import func, select

from flows.discount import discount_authorization
from kamflow import approvals, audit, clock
from kamflow.db import unit_of_work
from kamflow.discounts import DiscountRequestIn
from kamflow.models import AuditEvent, DiscountRequest
from kamflow.reports import plain
from tests.integration.conftest import Stack, logs, wait_until
from tests.support import approval_code, kam_and_norm

pytestmark = pytest.mark.integration


def request(stack: Stack, pct: Decimal, code: str = "C0001", *, as_user: str | None = None) -> dict[str, Any]:
    kam, _ = kam_and_norm(code)
    done = stack.kamflow(
        "discount",
        "request",
        "--customer",
        code,
        "--column",
        "3",
        "--discount-pct",
        str(pct),
        "--order-total",
        "150000",
        "--as",
        as_user or kam,
        "--json",
    )
    assert done.returncode == 0, done.stdout + done.stderr + logs(stack.settings.data_dir / "runner.log")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def request_status(request_id: int) -> str | None:
    with unit_of_work() as session:
        row = session.get(DiscountRequest, request_id)
        return None if row is None or row.status == "pending" else row.status


def counts() -> tuple[int, int]:
    with unit_of_work() as session:
        return (
            session.scalar(select(func.count()).select_from(DiscountRequest)) or 0,
            session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
        )


def test_an_ordinary_request_is_approved_by_the_flow_in_process(live: Stack) -> None:
    kam, norm = kam_and_norm()
    outcome = discount_authorization(
        DiscountRequestIn(
            customer="C0001",
            price_column=3,
            discount_pct=norm - 1,
            order_total=Decimal("1000"),
            requester=kam,
        )
    )
    assert outcome.status == "approved" and outcome.granted_pct == norm - 1


def test_above_the_norm_waits_for_the_head_and_resumes_through_prefects_client(live: Stack) -> None:
    _, norm = kam_and_norm()
    view = request(live, norm + 2)
    assert view["status"] == "pending" and view["assignee"].startswith("head.")
    assert view["task_id"] and view["rules_version"] and any(r["rule"] == "above-norm" for r in view["reasons"])

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(UUID(view["flow_run_id"]))
        assert run.state is not None and run.state.is_paused()
    code = approval_code(view["task_id"], view["assignee"])
    resume_flow_run(
        run.id,
        run_input={"approver": view["assignee"], "approval_code": code, "action": "approve", "comment": "fine"},
    )
    assert wait_until("the approval", lambda: request_status(view["request_id"])) == "approved"
    with unit_of_work() as session:
        actions = [
            e.action for e in audit.trail(session, subject_type="discount_request", subject_id=view["request_id"])
        ]
        assert actions == ["discount_escalate", "discount_approve"]
        decided = [
            e
            for e in audit.trail(session, subject_type="approval_task", subject_id=view["task_id"])
            if e.action == "task_decided"
        ]
        assert decided[0].actor == view["assignee"]


def test_an_answer_from_the_requester_is_refused_and_the_run_waits_again(live: Stack) -> None:
    _, norm = kam_and_norm()
    view = request(live, norm + 1)
    kam = customer_kam()
    code = approval_code(view["task_id"], kam)
    resume_flow_run(
        UUID(view["flow_run_id"]), run_input={"approver": kam, "approval_code": code, "action": "approve"}
    )

    def refused_and_waiting() -> bool | None:
        with unit_of_work() as session:
            task = approvals.get(session, view["task_id"])
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(UUID(view["flow_run_id"])).state
        return True if task.refused_inputs == 1 and state is not None and state.is_paused() else None

    wait_until("the refusal", refused_and_waiting)
    assert request_status(view["request_id"]) is None
    done = live.kamflow(
        "decide",
        str(view["task_id"]),
        "counter",
        "--discount-pct",
        str(norm),
        "--as",
        view["assignee"],
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["granted_pct"] == plain(norm)


@pytest.mark.parametrize("code_of", ["wrong", "another person's"])
def test_an_answer_without_the_assignees_code_is_refused_audited_and_waited_past(
    live: Stack, code_of: str
) -> None:
    _, norm = kam_and_norm()
    view = request(live, norm + 1)
    head = view["assignee"]
    code = "ABCD-EFGH" if code_of == "wrong" else approval_code(view["task_id"], "commercial")
    resume_flow_run(
        UUID(view["flow_run_id"]), run_input={"approver": head, "approval_code": code, "action": "approve"}
    )

    def refused() -> list[AuditEvent] | None:
        with unit_of_work() as session:
            events = audit.trail(session, subject_type="approval_task", subject_id=view["task_id"])
        return [e for e in events if e.action == "input_refused"] or None

    [event] = wait_until("the refusal", refused)
    assert event.actor == head and "approval code" in event.detail["reason"]
    assert request_status(view["request_id"]) is None
    done = live.kamflow("decide", str(view["task_id"]), "approve", "--as", head, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["status"] == "approved"


def test_tasks_show_each_person_their_own_code(live: Stack) -> None:
    _, norm = kam_and_norm()
    view = request(live, norm + 1)
    mine = json.loads(live.kamflow("tasks", "--as", view["assignee"], "--json").stdout)
    [task] = [t for t in mine if t["task_id"] == view["task_id"]]
    assert task["approval_code"] == approval_code(view["task_id"], view["assignee"])
    assert task["approval_code"] != approval_code(view["task_id"], "commercial")


def customer_kam(code: str = "C0001") -> str:
    return kam_and_norm(code)[0]


def test_the_cli_refuses_the_requester_and_accepts_the_head(live: Stack) -> None:
    _, norm = kam_and_norm()
    view = request(live, norm + 2)
    before = counts()
    mine = live.kamflow("decide", str(view["task_id"]), "approve", "--as", customer_kam(), "--json")
    assert mine.returncode == 3 and json.loads(mine.stdout)["field"] == "approver"
    assert counts() == before
    done = live.kamflow("decide", str(view["task_id"]), "reject", "--comment", "no", "--as", view["assignee"])
    assert done.returncode == 0 and "REJECTED" in done.stdout
    twice = live.kamflow("decide", str(view["task_id"]), "approve", "--as", view["assignee"], "--json")
    assert twice.returncode == 2 and "already decided" in json.loads(twice.stdout)["message"]


def test_a_counter_offer_above_the_request_is_refused_and_writes_nothing(live: Stack) -> None:
    _, norm = kam_and_norm()
    view = request(live, norm + 2)
    before = counts()
    done = live.kamflow(
        "decide",
        str(view["task_id"]),
        "counter",
        "--discount-pct",
        str(norm + 3),
        "--as",
        view["assignee"],
        "--json",
    )
    assert done.returncode == 2 and json.loads(done.stdout)["field"] == "discount_pct"
    assert counts() == before


@pytest.mark.parametrize(
    ("args", "code", "field"),
    [
        (["--customer", "C9999"], 4, "customer"),
        (["--column", "42"], 2, "price_column"),
        (["--discount-pct", "0"], 2, "discount_pct"),
        (["--discount-pct", "100"], 2, "discount_pct"),
        (["--discount-pct", "abc"], 2, "discount_pct"),
        (["--order-total", "-5"], 2, "order_total"),
    ],
)
def test_bad_requests_exit_with_their_code_and_write_nothing(
    live: Stack, args: list[str], code: int, field: str
) -> None:
    base = {"--customer": "C0001", "--column": "3", "--discount-pct": "5", "--order-total": "1000"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    before = counts()
    done = live.kamflow(
        "discount", "request", *[x for kv in base.items() for x in kv], "--as", customer_kam(), "--json"
    )
    assert done.returncode == code, done.stdout + done.stderr
    assert json.loads(done.stdout)["field"] == field
    assert counts() == before


def test_a_task_past_its_deadline_is_decided_one_level_up(live: Stack) -> None:
    _, norm = kam_and_norm()
    view = request(live, norm + 2)
    with unit_of_work() as session:
        [opened] = [
            t
            for t in approvals.escalate_overdue(
                session, now=clock.now() + dt.timedelta(days=3), deadline=dt.timedelta(hours=48)
            )
            if t.subject_id == view["request_id"]
        ]
        task_id = opened.id
    assert live.kamflow("decide", str(view["task_id"]), "approve", "--as", view["assignee"]).returncode == 2
    done = live.kamflow("decide", str(task_id), "approve", "--as", "commercial", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    decided = json.loads(done.stdout)
    assert (decided["status"], decided["process"]) == ("approved", "discount-authorization")


def test_a_waiting_approval_survives_a_restart_of_every_process(live: Stack) -> None:
    _, norm = kam_and_norm()
    view = request(live, norm + 2)
    live.kill_runner()
    live.start_runner()
    tasks = live.kamflow("tasks", "--as", view["assignee"], "--json")
    assert view["task_id"] in [t["task_id"] for t in json.loads(tasks.stdout)]
    done = live.kamflow("decide", str(view["task_id"]), "approve", "--as", view["assignee"], "--json")
    assert done.returncode == 0, done.stdout + done.stderr + logs(live.settings.data_dir / "runner.log")
    assert json.loads(done.stdout)["status"] == "approved"
    with unit_of_work() as session:
        decisions = [
            e
            for e in audit.trail(session, subject_type="discount_request", subject_id=view["request_id"])
            if e.action == "discount_approve"
        ]
        assert len(decisions) == 1
