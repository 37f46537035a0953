"""Credit control run in this process: orders, limit changes and solvency checks in the shape of `settle` — what
the rules decide at once ends with its report; what waits is decided by the typed answer of whoever it is for."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func, select

from flows.order_credit import credit_limit_change, order_credit_check
from flows.runs import wait_for
from flows.solvency import solvency_check
from kamflow import audit, clock
from kamflow.credit import limits, orders, solvency, standing, views
from kamflow.credit.limits import LimitChangeIn
from kamflow.credit.orders import OrderIn
from kamflow.credit.solvency import SolvencyCheckIn
from kamflow.credit.tables import CreditLimitChange, OrderCreditCheck
from kamflow.db import unit_of_work
from kamflow.models import AuditEvent, Order
from kamflow.settings import Settings, use_settings
from tests.conftest import customer
from tests.flows.conftest import Runs, cli, suspended

pytestmark = pytest.mark.flows


def settled(process: str, run_id: UUID) -> dict[str, Any]:
    """The subject the run made, as the `kamflow` command that started it shows it."""
    with unit_of_work() as session:
        view = views.settled_run(session, process, str(run_id))
    assert view is not None
    return view.model_dump(mode="json")


def exposure(code: str = "C0001") -> dict[str, Any]:
    code_, view = cli("credit", "exposure", code, "--as", "credit")
    assert code_ == 0 and isinstance(view, dict)
    return view


def amount_of(view: dict[str, Any], category: str) -> Decimal:
    return Decimal(next(c["amount"] for c in view["categories"] if c["category"] == category))


def over_limit(by: int, code: str = "C0001") -> Decimal:
    """An order amount that takes the customer's exposure over its limit."""
    with unit_of_work() as session:
        now = standing.standing(session, customer(session, code), on=clock.today())
        assert now.limits.total is not None, f"{code} has no total limit"
        return max(now.limits.total - now.exposure.total, Decimal(0)) + by


def trail(check_id: int) -> list[AuditEvent]:
    with unit_of_work() as session:
        return audit.trail(session, subject_type="order_credit_check", subject_id=check_id)


def counts() -> tuple[int, ...]:
    with unit_of_work() as session:
        tables = (Order, OrderCreditCheck, CreditLimitChange, AuditEvent)
        return tuple(session.scalar(select(func.count()).select_from(t)) or 0 for t in tables)


def test_a_healthy_key_accounts_order_is_approved_at_once_with_its_report_and_counts_as_an_open_order(
    runs: Runs,
) -> None:
    before = exposure()
    run_id, state = runs.run(
        order_credit_check, order=OrderIn(customer="C0001", amount=Decimal("1000.00"), requester="kam.north1")
    )
    assert state.is_completed(), state
    view = settled(orders.PROCESS, run_id)
    assert view["status"] == "approved" and view["task_id"] is None and view["rules_version"]
    assert [r["rule"] for r in view["reasons"]] == ["within-limit"]
    assert state.result().status == "approved"
    after = exposure()
    assert after.keys() == before.keys()
    assert amount_of(after, "open orders") - amount_of(before, "open orders") == Decimal("1000.00")
    report = runs.artifact(f"order-credit-check-{view['check_id']}")
    assert report is not None and f"Order {view['order']} for C0001" in report and "APPROVED" in report
    assert [e.action for e in trail(view["check_id"])] == ["order_approve"]


def test_a_blocked_order_waits_for_the_credit_controller_who_releases_it_against_a_prepayment(runs: Runs) -> None:
    run_id, state = runs.run(
        order_credit_check, order=OrderIn(customer="C0001", amount=over_limit(300), requester="kam.north1")
    )
    assert suspended(state), state
    view = settled(orders.PROCESS, run_id)
    assert (view["status"], view["assignee"]) == ("blocked", "credit") and view["task_id"]
    assert "over-limit" in [r["rule"] for r in view["reasons"]]

    runs.answer(
        run_id,
        task_id=view["task_id"],
        login="credit",
        action="release_with_prepayment",
        amount="300.00",
        comment="ok",
    )
    state = runs.execute(order_credit_check, run_id)
    assert state.is_completed() and state.result().status == "awaiting_prepayment"
    with unit_of_work() as session:
        check = orders.get(session, view["check_id"])
        assert (check.status, check.prepayment_amount, check.order.status) == (
            "awaiting_prepayment",
            Decimal("300.00"),
            "awaiting_prepayment",
        )
    assert [(e.actor, e.action) for e in trail(view["check_id"])][-1] == (
        "credit",
        "order_release_with_prepayment",
    )


def test_an_order_released_by_a_new_limit_while_its_run_still_watches_ends_in_that_run_unanswered(
    runs: Runs, settings: Settings
) -> None:
    """The limit change resumes the blocked order's run while it is in its warm wait: the run finds its task
    decided by kamflow's re-check, leaves the answer that resumed it unread and finishes, as a run resumed from
    the top would."""
    use_settings(settings.model_copy(update={"warm_wait_seconds": 60}))
    run_id = runs.start(
        order_credit_check, order=OrderIn(customer="C0001", amount=over_limit(300), requester="kam.north1")
    )
    changed: list[Any] = []

    def credit_raises_the_limit() -> None:
        wait_for("the order's run to suspend", lambda: True if suspended(runs.state(run_id)) else None, timeout=60)
        with unit_of_work() as session:
            limit = standing.standing(session, customer(session, "C0001"), on=clock.today()).limits.total
        assert limit is not None, "C0001 has no total limit"
        change = LimitChangeIn(customer="C0001", amount=limit + 10000, reason="season", requester="credit")
        changed.append(runs.run(credit_limit_change, change=change))

    credit = threading.Thread(target=credit_raises_the_limit)
    credit.start()
    state = runs.execute(order_credit_check, run_id)
    credit.join(60)
    [(_, change)] = changed
    assert change.is_completed() and state.is_completed(), (change, state)
    view = settled(orders.PROCESS, run_id)
    assert view["status"] == "released" and [view["check_id"]] == change.result().released_orders
    assert [e.action for e in trail(view["check_id"])] == ["order_block", "order_released_on_recheck"]


def test_a_large_temporary_increase_waits_for_the_commercial_director_and_a_low_limit_needs_a_confirmation(
    runs: Runs,
) -> None:
    before = exposure()
    untouched = counts()
    code, low = cli("credit", "limit", "set", "C0001", str(amount_of(before, "total") - 1), "--as", "credit")
    assert (code, low["field"]) == (2, "confirm") and counts() == untouched

    until = clock.today() + dt.timedelta(days=30)
    high = Decimal(before["credit_limit"]) + 150000
    run_id, state = runs.run(
        credit_limit_change,
        change=LimitChangeIn(customer="C0001", amount=high, until=until, requester="credit"),
    )
    assert suspended(state), state
    view = settled(limits.PROCESS, run_id)
    assert (view["status"], view["assignee"]) == ("pending", "commercial") and view["task_id"]
    assert Decimal(exposure()["credit_limit"]) == Decimal(before["credit_limit"])  # not in force while it waits

    runs.answer(run_id, task_id=view["task_id"], login="commercial", action="approve")
    state = runs.execute(credit_limit_change, run_id)
    assert state.is_completed(), state
    with unit_of_work() as session:
        done = views.decided(session, limits.PROCESS, view["change_id"])
    assert done is not None and (done.status, done.decided_by) == ("applied", "commercial")
    now = exposure()
    assert (Decimal(now["credit_limit"]), now["temporary_until"]) == (high, until.isoformat())
    assert now["base_limit"] == before["base_limit"]


def test_a_healthy_customers_solvency_check_is_decided_by_the_rules_with_its_report(runs: Runs) -> None:
    run_id, state = runs.run(solvency_check, request=SolvencyCheckIn(customer="C0001", requester="kam.north1"))
    assert state.is_completed(), state
    healthy = settled(solvency.PROCESS, run_id)
    assert (healthy["risk_class"], healthy["decision"], healthy["status"]) == ("A", "approve_limit", "decided")
    assert healthy["approved_limit"] == healthy["proposed_limit"] and healthy["scores"]["altman"]["zone"] == "safe"
    report = runs.artifact(f"solvency-check-{healthy['check_id']}")
    assert report is not None and "risk class A" in report and "Proposed limit: 12-month sales" in report
