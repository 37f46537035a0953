"""Credit-limit changes: who approves, confirmation below exposure, temporary limits, sub-limits, and the
re-check of blocked orders when a limit takes effect."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.orm import Session

from kamflow import approvals, audit
from kamflow.credit import limits, orders, standing
from kamflow.credit.tables import CreditTerms
from kamflow.errors import InvalidInput, NotFound, NotPermitted
from tests.conftest import NOW, TODAY, customer
from tests.unit.credit.conftest import answer, change, counts, headroom, order


def exposure(session: Session, code: str) -> Decimal:
    return standing.standing(session, customer(session, code), on=TODAY).exposure.total


def test_a_limit_below_the_current_exposure_needs_a_confirmation(session: Session) -> None:
    low = exposure(session, "C0001") - Decimal("0.01")
    before = counts(session)
    with pytest.raises(InvalidInput, match="below the current exposure") as refused:
        change(session, "C0001", low)
    assert refused.value.field == "confirm" and counts(session) == before
    row = change(session, "C0001", low, confirm=True, reason="shrinking business")
    assert row.status == "applied" and customer(session, "C0001").credit_limit == low
    applied = audit.trail(session, subject_type="credit_limit_change", subject_id=row.id)[-1]
    assert applied.action == "limit_applied" and applied.detail["confirmed_below_exposure"] is True


def test_an_increase_up_to_the_threshold_applies_at_once(session: Session) -> None:
    old = customer(session, "C0001").credit_limit
    assert old is not None
    row = change(session, "C0001", old + 100000)
    assert row.status == "applied" and row.decision["outcome"] == "approve"
    assert customer(session, "C0001").credit_limit == old + 100000


def approve(session: Session, row: Any, action: str, login: str = "commercial") -> Any:
    task = answer(
        session,
        process=limits.PROCESS,
        subject_id=row.id,
        role=row.decision["role"],
        requester=row.requester.login,
        login=login,
        action=action,
    )
    return limits.apply_answer(session, subject_id=row.id, task_id=task.id, now=NOW)


def test_an_increase_above_the_threshold_waits_for_the_commercial_director(session: Session) -> None:
    old = customer(session, "C0001").credit_limit
    assert old is not None
    row = change(session, "C0001", old + Decimal("100000.01"))
    assert row.status == "pending" and row.decision["role"] == "commercial_director"
    assert customer(session, "C0001").credit_limit == old
    row = approve(session, row, "approve")
    assert row.status == "applied" and customer(session, "C0001").credit_limit == old + Decimal("100000.01")
    actions = [
        (e.actor, e.action) for e in audit.trail(session, subject_type="credit_limit_change", subject_id=row.id)
    ]
    assert actions == [("rules", "limit_change_escalate"), ("commercial", "limit_change_approve"),
                       ("commercial", "limit_applied")]  # fmt: skip


def test_a_rejected_increase_changes_nothing(session: Session) -> None:
    old = customer(session, "C0001").credit_limit
    assert old is not None
    row = approve(session, change(session, "C0001", old * 3), "reject")
    assert row.status == "rejected" and customer(session, "C0001").credit_limit == old


def test_a_kam_asks_and_the_credit_controller_decides(session: Session) -> None:
    old = customer(session, "C0001").credit_limit
    assert old is not None
    row = change(session, "C0001", old + 1000, requester="kam.north1")
    assert row.status == "pending" and row.decision["role"] == "credit_controller"
    with pytest.raises(NotPermitted):
        change(session, "C0001", old + 1000, requester="kam.south1")


def test_a_temporary_limit_ends_after_its_last_day(session: Session) -> None:
    client = customer(session, "C0001")
    base, until = client.credit_limit, TODAY + dt.timedelta(days=10)
    assert base is not None
    row = change(session, "C0001", base + 50000, until=until)
    assert row.status == "applied" and client.credit_limit == base
    on_last_day = standing.limits(session, client, on=until)
    assert (on_last_day.total, on_last_day.temporary_until) == (base + 50000, until)
    assert standing.limits(session, client, on=until + dt.timedelta(days=1)).total == base


def test_a_sub_limit_blocks_orders_above_it(session: Session) -> None:
    open_orders = standing.standing(session, customer(session, "C0001"), on=TODAY).exposure.open_orders
    row = change(session, "C0001", open_orders + 100, category="open_orders")
    assert row.status == "applied" and session.get(CreditTerms, row.customer_id) is not None
    assert order(session, "C0001", "100").status == "approved"
    blocked = order(session, "C0001", "0.01")
    assert [r["rule"] for r in blocked.decision["reasons"]] == ["open-orders-sublimit", "within-limit"]


def blocked_with_task(session: Session, amount: Decimal) -> Any:
    check = order(session, "C0001", amount)
    assert check.status == "blocked"
    approvals.open_task(
        session,
        process=orders.PROCESS,
        subject_id=check.id,
        title="blocked",
        explanation="",
        role=check.decision["role"],
        requester=check.requester,
        flow_run_id=None,
        now=NOW,
        deadline=dt.timedelta(hours=48),
    )
    return check


def test_a_new_limit_re_checks_blocked_orders_oldest_first(session: Session) -> None:
    room = headroom(session, "C0001")
    first = blocked_with_task(session, room + 3000)
    second = blocked_with_task(session, room + 1000)
    old = customer(session, "C0001").credit_limit
    assert old is not None
    row = change(session, "C0001", old + 4000)  # room for the first, not for both
    assert row.status == "applied" and row.released == [first.id]
    assert (first.status, first.order.status, second.status) == ("released", "open", "blocked")
    task = approvals.current(session, process=orders.PROCESS, subject_id=first.id)
    assert task is not None and (task.status, task.action, task.actor_id) == ("decided", "release", None)
    assert [e.action for e in audit.trail(session, subject_type="order_credit_check", subject_id=first.id)] == [
        "order_block",
        "order_released_on_recheck",
    ]
    still = audit.trail(session, subject_type="order_credit_check", subject_id=second.id)[-1]
    assert still.action == "order_still_blocked_on_recheck" and "over-limit" in [r["rule"] for r in still.reasons]
    assert first.decision["reasons"][0]["rule"] == "within-limit" and first.rules_version == still.rules_version


def test_the_view_names_the_released_orders_oldest_first(session: Session) -> None:
    owed = exposure(session, "C0001")
    assert change(session, "C0001", owed + 500).status == "applied"  # room for neither order
    first = blocked_with_task(session, Decimal("1000.00"))
    second = blocked_with_task(session, Decimal("2000.00"))
    row = change(session, "C0001", owed + 3500)  # room for both
    assert row.released == [first.id, second.id]
    assert limits.view(session, row).released_orders == [first.order.number, second.order.number]


@pytest.mark.parametrize(
    ("changes", "error", "field"),
    [
        ({"category": "overdue", "until": "2026-04-01"}, InvalidInput, "until"),
        ({"until": "2026-03-15"}, InvalidInput, "until"),
        ({"customer": "C9999"}, NotFound, "customer"),
    ],
)
def test_a_bad_change_names_its_field_and_writes_nothing(
    session: Session, changes: dict[str, str], error: type[Exception], field: str
) -> None:
    before = counts(session)
    with pytest.raises(error) as raised:
        change(session, "C0001", "999999999", **changes)
    assert getattr(raised.value, "field", None) == field and counts(session) == before


@pytest.mark.parametrize(("field", "value"), [("amount", "-1"), ("category", "everything"), ("until", "soon")])
def test_the_request_is_typed(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as invalid:
        limits.LimitChangeIn.model_validate(
            {"customer": "C0001", "amount": "1", "requester": "credit", field: value}
        )
    assert invalid.value.errors()[0]["loc"] == (field,)


def test_no_limit_set_is_not_checked_and_zero_is_no_credit(session: Session) -> None:
    client = customer(session, "C0001")
    client.credit_limit = None
    assert order(session, "C0001", "999999999").status == "approved"
    client.credit_limit = Decimal("0.00")
    blocked = order(session, "C0001", "0.01")  # the open orders before it exceed 0 already
    assert blocked.status == "blocked" and blocked.decision["reasons"][0]["rule"] == "over-limit"


def test_a_zero_sub_limit_gives_no_credit_on_it(session: Session) -> None:
    assert change(session, "C0001", "0", category="open_orders", confirm=True).status == "applied"
    blocked = order(session, "C0001", "0.01")
    assert blocked.status == "blocked" and blocked.decision["reasons"][0]["rule"] == "open-orders-sublimit"


def test_an_overdue_tolerance_not_set_leaves_overdue_unchecked(session: Session) -> None:
    now = standing.standing(session, customer(session, "C0002"), on=TODAY)
    assert now.exposure.overdue > 0 and now.limits.overdue == Decimal("0.00")  # the demo tolerates none
    assert "overdue" in [r["rule"] for r in order(session, "C0002", "1").decision["reasons"]]
    cleared = approve(session, change(session, "C0002", None, category="overdue"), "approve")
    assert cleared.status == "applied" and cleared.old_limit == Decimal("0.00") and cleared.new_limit is None
    assert standing.standing(session, customer(session, "C0002"), on=TODAY).limits.overdue is None
    assert "overdue" not in [r["rule"] for r in order(session, "C0002", "1").decision["reasons"]]


def test_clearing_the_total_limit_goes_to_the_commercial_director_and_prints_no_limit(session: Session) -> None:
    cleared = change(session, "C0001", None)
    assert cleared.status == "pending" and cleared.decision["role"] == "commercial_director"
    assert [r["rule"] for r in cleared.decision["reasons"]] == ["limit-cleared"]
    cleared = approve(session, cleared, "approve")
    assert cleared.status == "applied" and customer(session, "C0001").credit_limit is None
    shown = standing.exposure_view(standing.standing(session, customer(session, "C0001"), on=TODAY))
    assert shown.credit_limit is None and ", no limit\n" in shown.text() and "limit 0.00" not in shown.text()
    assert [line.text().split()[-2:] for line in shown.categories][-1] == ["no", "limit"]
    assert "→ no limit" in limits.view(session, cleared).text()
    again = change(session, "C0001", "1000", confirm=True)
    assert again.status == "applied" and [r["rule"] for r in again.decision["reasons"]] == ["first-limit"]
