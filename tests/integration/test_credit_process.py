"""Credit control end to end on the demo company: a real Prefect API, a real runner process, the real CLI.

The stack's demo company is generated as of the real today and shared with other tests: amounts are taken
relative to the customer's headroom at the start of each test."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.flow_runs import resume_flow_run
from sqlalchemy import func, select

from kamflow import approvals, audit, clock
from kamflow.credit import orders, standing
from kamflow.credit.tables import CreditLimitChange, OrderCreditCheck
from kamflow.db import unit_of_work
from kamflow.models import AuditEvent, Order
from tests.conftest import customer
from tests.integration.conftest import Stack, logs, wait_until
from tests.support import approval_code

pytestmark = pytest.mark.integration


def cli(stack: Stack, *args: str, code: int = 0) -> dict[str, Any]:
    done = stack.kamflow(*args, "--json")
    assert done.returncode == code, done.stdout + done.stderr + logs(stack.settings.data_dir / "runner.log")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def exposure(code: str = "C0001") -> dict[str, Any]:
    """What `kamflow credit exposure CODE --json` says, read in this process."""
    with unit_of_work() as session:
        return standing.exposure_view(standing.standing(session, customer(session, code), on=clock.today()))


def amount_of(view: dict[str, Any], category: str) -> Decimal:
    return Decimal(next(c["amount"] for c in view["categories"] if c["category"] == category))


def over_limit(by: Decimal | int, code: str = "C0001") -> Decimal:
    """An order amount that takes the customer's exposure over its limit (earlier tests may have done so)."""
    with unit_of_work() as session:
        now = standing.standing(session, customer(session, code), on=clock.today())
        return max(now.limits.total - now.exposure.total, Decimal(0)) + by


def submit(stack: Stack, amount: Decimal, code: str = "C0001", as_user: str = "kam.north1") -> dict[str, Any]:
    return cli(stack, "order", "submit", "--customer", code, "--amount", str(amount), "--as", as_user)


def run_state(flow_run_id: str) -> Any:
    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(flow_run_id)).state


def status_of(check_id: int) -> str:
    with unit_of_work() as session:
        return orders.get(session, check_id).status


def artifact(key: str) -> str | None:
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    return str(found[0].data) if found else None


def trail(check_id: int) -> list[AuditEvent]:
    with unit_of_work() as session:
        return audit.trail(session, subject_type="order_credit_check", subject_id=check_id)


def counts() -> tuple[int, ...]:
    with unit_of_work() as session:
        tables = (Order, OrderCreditCheck, CreditLimitChange, AuditEvent)
        return tuple(session.scalar(select(func.count()).select_from(t)) or 0 for t in tables)


def test_a_healthy_key_accounts_order_passes_with_a_report_and_bad_orders_write_nothing(live: Stack) -> None:
    before = exposure()
    view = submit(live, Decimal("1000.00"))
    assert view["status"] == "approved" and view["task_id"] is None and view["rules_version"]
    assert [r["rule"] for r in view["reasons"]] == ["within-limit"]
    after = cli(live, "credit", "exposure", "C0001")
    assert after.keys() == before.keys()
    assert amount_of(after, "open orders") - amount_of(before, "open orders") == Decimal("1000.00")
    report = wait_until("the report", lambda: artifact(f"order-credit-check-{view['check_id']}"))
    assert f"Order {view['order']} for C0001" in report and "APPROVED" in report
    assert [e.action for e in trail(view["check_id"])] == ["order_approve"]

    untouched = counts()
    for args, code, field in [
        (["--customer", "C0001", "--amount", "-5"], 2, "amount"),
        (["--customer", "C9999", "--amount", "5"], 4, "customer"),
    ]:
        assert cli(live, "order", "submit", *args, "--as", "kam.north1", code=code)["field"] == field
    assert counts() == untouched


def test_an_order_over_the_limit_waits_for_the_credit_controller_who_releases_it(live: Stack) -> None:
    view = submit(live, over_limit(500))
    assert view["status"] == "blocked" and view["assignee"] == "credit" and view["task_id"]
    assert "over-limit" in [r["rule"] for r in view["reasons"]]
    untouched = counts()
    refused = cli(live, "decide", str(view["task_id"]), "release", "--as", "kam.north1", code=3)
    assert refused["field"] == "approver" and counts() == untouched
    done = cli(
        live, "decide", str(view["task_id"]), "release", "--comment", "long-standing customer", "--as", "credit"
    )
    assert (done["status"], done["decided_by"]) == ("released", "credit")
    released = [e for e in trail(view["check_id"]) if e.action == "order_release"]
    assert len(released) == 1 and released[0].actor == "credit"
    assert released[0].detail["comment"] == "long-standing customer"


def test_a_blocked_order_is_released_against_a_prepayment_through_prefects_client(live: Stack) -> None:
    view = submit(live, over_limit(300))
    wait_until("the run to suspend", lambda: True if run_state(view["flow_run_id"]).is_paused() else None)
    resume_flow_run(
        UUID(view["flow_run_id"]),
        run_input={
            "approver": "credit",
            "approval_code": approval_code(view["task_id"], "credit"),
            "action": "release_with_prepayment",
            "amount": "300.00",
            "comment": "ok",
        },
    )
    assert wait_until("the release", lambda: None if status_of(view["check_id"]) == "blocked" else True)
    with unit_of_work() as session:
        check = orders.get(session, view["check_id"])
        assert (check.status, check.prepayment_amount, check.order.status) == (
            "released",
            Decimal("300.00"),
            "open",
        )
    assert [(e.actor, e.action) for e in trail(view["check_id"])][-1] == (
        "credit",
        "order_release_with_prepayment",
    )


def test_a_limit_increase_re_checks_and_releases_the_blocked_orders(live: Stack) -> None:
    view = submit(live, over_limit(5000))
    assert view["status"] == "blocked"
    limit = Decimal(exposure()["base_limit"])
    change = cli(
        live, "credit", "limit", "set", "C0001", str(limit + 10000), "--reason", "season", "--as", "credit"
    )
    assert change["status"] == "applied" and view["order"] in change["released_orders"]
    assert status_of(view["check_id"]) == "released"
    wait_until(
        "the order's run to finish", lambda: True if run_state(view["flow_run_id"]).is_completed() else None
    )
    assert [e.action for e in trail(view["check_id"])] == ["order_block", "order_released_on_recheck"]
    with unit_of_work() as session:
        task = approvals.current(session, process=orders.PROCESS, subject_id=view["check_id"])
        assert task is not None and (task.status, task.action) == ("decided", "release")
    assert "re-check" in (wait_until("the report", lambda: artifact(f"credit-limit-change-{change['change_id']}")))


def test_a_large_temporary_increase_needs_the_commercial_director_and_a_low_limit_a_confirmation(
    live: Stack,
) -> None:
    before = exposure()
    untouched = counts()
    low = cli(
        live, "credit", "limit", "set", "C0001", str(amount_of(before, "total") - 1), "--as", "credit", code=2
    )
    assert low["field"] == "confirm" and counts() == untouched

    until = (clock.today() + dt.timedelta(days=30)).isoformat()
    high = Decimal(before["credit_limit"]) + 150000
    view = cli(live, "credit", "limit", "set", "C0001", str(high), "--until", until, "--as", "credit")
    assert (view["status"], view["assignee"]) == ("pending", "commercial") and view["task_id"]
    done = cli(live, "decide", str(view["task_id"]), "approve", "--as", "commercial")
    assert (done["status"], done["decided_by"]) == ("applied", "commercial")
    now = exposure()
    assert (Decimal(now["credit_limit"]), now["temporary_until"]) == (high, until)
    assert now["base_limit"] == before["base_limit"]


def test_solvency_checks_decide_by_the_rules_or_wait_for_the_department_head(live: Stack) -> None:
    healthy = cli(live, "credit", "check", "C0001", "--as", "kam.north1")
    assert (healthy["risk_class"], healthy["decision"], healthy["status"]) == ("A", "approve_limit", "decided")
    assert healthy["approved_limit"] == healthy["proposed_limit"] and healthy["scores"]["altman"]["zone"] == "safe"
    report = wait_until("the report", lambda: artifact(f"solvency-check-{healthy['check_id']}"))
    assert "risk class A" in report and "Proposed limit: 12-month sales" in report

    weak = cli(live, "credit", "check", "C0002", "--as", "kam.north2")
    assert (weak["risk_class"], weak["status"], weak["assignee"]) == ("D", "pending", "head.north")
    assert "key-account-distress" in [r["rule"] for r in weak["reasons"]]
    done = cli(
        live, "decide", str(weak["task_id"]), "prepayment", "--comment", "settle first", "--as", "head.north"
    )
    assert (done["decision"], done["decided_by"]) == ("prepayment", "head.north")
    with unit_of_work() as session:
        actions = [
            e.action for e in audit.trail(session, subject_type="credit_check", subject_id=weak["check_id"])
        ]
    assert actions == ["solvency_escalate", "solvency_prepayment"]
