"""Credit control end to end on the demo company: the real CLI, a real runner process, a real Prefect API — one
test per process (an order's release, a limit change that releases blocked orders and ends their runs, a solvency
check decided by the department head). Each flow's logic is tested in process in tests/flows/test_credit.py.

The stack's demo company is generated as of the real today and shared with other tests: amounts are taken
relative to the customer's headroom at the start of each test."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from sqlalchemy import func, select

from flows.labels import artifact_key
from kamflow import approvals, audit, clock
from kamflow.credit import orders, standing
from kamflow.credit.tables import CreditLimitChange, OrderCreditCheck
from kamflow.db import unit_of_work
from kamflow.models import AuditEvent, Order
from tests.conftest import customer
from tests.integration.conftest import Stack, logs, wait_until

pytestmark = pytest.mark.integration


def cli(stack: Stack, *args: str, code: int = 0) -> dict[str, Any]:
    done = stack.kamflow(*args, "--json")
    assert done.returncode == code, done.stdout + done.stderr + logs(stack.settings.data_dir / "runner.log")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def exposure(code: str = "C0001") -> dict[str, Any]:
    """What `kamflow credit exposure CODE --json` says, read in this process."""
    with unit_of_work() as session:
        shown = standing.exposure_view(standing.standing(session, customer(session, code), on=clock.today()))
        return shown.model_dump(mode="json")


def over_limit(by: Decimal | int, code: str = "C0001") -> Decimal:
    """An order amount that takes the customer's exposure over its limit (earlier tests may have done so)."""
    with unit_of_work() as session:
        now = standing.standing(session, customer(session, code), on=clock.today())
        assert now.limits.total is not None, f"{code} has no total limit"
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
    """The artifact under the key, made this installation's."""
    keys = [artifact_key(key)]
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=keys)))
    return str(found[0].data) if found else None


def trail(check_id: int) -> list[AuditEvent]:
    with unit_of_work() as session:
        return audit.trail(session, subject_type="order_credit_check", subject_id=check_id)


def counts() -> tuple[int, ...]:
    with unit_of_work() as session:
        tables = (Order, OrderCreditCheck, CreditLimitChange, AuditEvent)
        return tuple(session.scalar(select(func.count()).select_from(t)) or 0 for t in tables)


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


def test_a_weak_key_accounts_solvency_check_waits_for_the_department_head_who_decides_it(live: Stack) -> None:
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
