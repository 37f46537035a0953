"""The order credit check: exposure against the limits, decided by the rules, recorded, audited, released."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.orm import Session

from kamflow import audit, i18n
from kamflow.credit import orders, policy, reports, solvency
from kamflow.errors import InvalidInput, NotFound, NotPermitted
from kamflow.models import RuleSetVersion
from kamflow.settings import Settings, use_settings
from tests.conftest import NOW
from tests.unit.credit.conftest import answer, counts, headroom, order


def fired(check: Any) -> list[str]:
    return [reason["rule"] for reason in check.decision["reasons"]]


def test_a_healthy_key_accounts_order_is_approved_recorded_and_audited(session: Session) -> None:
    check = order(session, "C0001", "1000")
    assert check.status == "approved" and check.order.status == "open"
    assert check.order.number == f"SO-{check.order.id:08d}" and check.order.amount == Decimal("1000.00")
    assert fired(check) == ["within-limit"] and check.decision["facts"]["order_amount"] == "1000"
    [event] = audit.trail(session, subject_type="order_credit_check", subject_id=check.id)
    assert (event.action, event.actor, event.rules_version) == ("order_approve", "rules", check.rules_version)
    assert event.facts["exposure_after"] == check.decision["facts"]["exposure_after"] and event.reasons
    assert session.get(RuleSetVersion, check.rules_version) is not None


def test_exposure_equal_to_the_limit_passes_and_a_cent_more_is_blocked(session: Session) -> None:
    room = headroom(session, "C0001")
    exact = order(session, "C0001", room)
    assert exact.status == "approved"
    assert exact.decision["facts"]["exposure_after"] == exact.decision["facts"]["credit_limit"]
    over = order(session, "C0001", "0.01")
    assert over.status == "blocked" and over.order.status == "blocked"
    assert fired(over) == ["over-limit"] and over.decision["role"] == "credit_controller"
    assert over.decision["facts"]["over_limit_amount"] == "0.01"


def test_far_over_the_limit_goes_to_the_department_head(session: Session) -> None:
    check = order(session, "C0001", headroom(session, "C0001") + Decimal("50000.01"))
    assert check.status == "blocked" and check.decision["role"] == "department_head"
    assert fired(check) == ["over-limit", "far-over-limit"]


def test_overdue_debt_beyond_the_grace_days_blocks(session: Session) -> None:
    check = order(session, "C0002", "100")
    assert check.status == "blocked" and "overdue" in fired(check)
    assert check.decision["facts"]["grace_days"] == 5


def test_the_grace_days_come_from_the_credit_policy(session: Session, settings: Settings, tmp_path: Path) -> None:
    lenient = tmp_path / "credit-policy.yaml"
    lenient.write_text(policy.POLICY_FILE.read_text().replace("grace_days: 5 ", "grace_days: 90 "))
    use_settings(settings.model_copy(update={"credit_policy": lenient}))
    check = order(session, "C0002", "100")
    assert check.decision["facts"]["overdue_amount"] == "0.00" and "overdue" not in fired(check)


def test_a_solvency_check_that_asked_for_prepayment_blocks_orders(session: Session) -> None:
    check = solvency.submit(
        session, request=solvency.SolvencyCheckIn(customer="C0003", requester="credit"), flow_run_id=None, now=NOW
    )
    check.status, check.decision = "decided", "prepayment"
    blocked = order(session, "C0003", "10")
    assert blocked.status == "blocked" and "weak-solvency" in fired(blocked)
    assert blocked.decision["facts"]["risk_class"] == check.risk_class
    with i18n.reading("es"):
        order_reasons = orders.view(session, blocked).reasons
        markdown = reports.order_markdown(blocked)
        check_reasons = solvency.view(session, check).reasons
    blocked_class = check.risk_class
    weak = next(reason.text for reason in order_reasons if reason.rule == "weak-solvency")
    assert weak == f"La última comprobación de solvencia decidió pago anticipado (clase de riesgo {blocked_class})"
    assert weak in markdown
    assert len(check_reasons) == len(check.reasons) and all("{" not in r.text for r in check_reasons)
    assert [r.rule for r in check_reasons] == [r["rule"] for r in check.reasons]
    assert {r.text for r in check_reasons}.isdisjoint(r["text"] for r in check.reasons)  # none left in English


def blocked_order(session: Session) -> Any:
    check = order(session, "C0001", headroom(session, "C0001") + 10)
    assert check.status == "blocked"
    return check


def settle(session: Session, check: Any, **payload: Any) -> Any:
    task = answer(
        session,
        process=orders.PROCESS,
        subject_id=check.id,
        role=check.decision["role"],
        requester=check.requester.login,
        login="credit",
        **payload,
    )
    return orders.apply_answer(session, subject_id=check.id, task_id=task.id, now=NOW)


def test_the_credit_controller_releases_against_a_prepayment_and_it_is_audited(session: Session) -> None:
    check = settle(session, blocked_order(session), action="release_with_prepayment", amount="500.00")
    assert (check.status, check.order.status, check.prepayment_amount) == (
        "awaiting_prepayment",  # released once the prepayment is recorded (test_order_changes)
        "awaiting_prepayment",
        Decimal("500.00"),
    )
    actions = [
        (e.actor, e.action) for e in audit.trail(session, subject_type="order_credit_check", subject_id=check.id)
    ]
    assert actions == [("rules", "order_block"), ("credit", "order_release_with_prepayment")]
    assert orders.apply_answer(session, subject_id=check.id, task_id=1, now=NOW) is check  # once only


def test_a_rejected_order_stays_out_of_exposure(session: Session) -> None:
    check = settle(session, blocked_order(session), action="reject")
    assert (check.status, check.order.status) == ("rejected", "rejected")
    assert order(session, "C0001", "1").status == "approved"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"action": "release_with_prepayment"}, "needs the prepayment"),
        ({"action": "release_with_prepayment", "amount": "1000000000"}, "cannot exceed"),
        ({"action": "release", "amount": "10"}, "takes no amount"),
    ],
)
def test_an_answer_that_does_not_fit_the_order_is_refused(
    session: Session, payload: dict[str, Any], message: str
) -> None:
    verify = orders.check_answer(blocked_order(session))
    with pytest.raises(InvalidInput, match=message) as refused:
        verify(None, payload)  # type: ignore[arg-type]
    assert refused.value.field == "amount"


@pytest.mark.parametrize(
    ("changes", "error", "field"),
    [
        ({"customer": "C9999"}, NotFound, "customer"),
        ({"requester": "kam.south1"}, NotPermitted, "requester"),
        ({"number": "ORD-00000001"}, InvalidInput, "number"),
    ],
)
def test_a_bad_order_names_its_field_and_writes_nothing(
    session: Session, changes: dict[str, str], error: type[Exception], field: str
) -> None:
    before = counts(session)
    with pytest.raises(error) as raised:
        order(session, "C0001", "100", **changes)
    assert getattr(raised.value, "field", None) == field
    assert counts(session) == before


@pytest.mark.parametrize("amount", ["0", "-5", "1.001", "abc"])
def test_an_amount_must_be_a_positive_sum_of_cents(session: Session, amount: str) -> None:
    with pytest.raises(ValidationError) as invalid:
        orders.OrderIn.model_validate({"customer": "C0001", "amount": amount, "requester": "kam.north1"})
    assert invalid.value.errors()[0]["loc"] == ("amount",)


def test_a_rerun_of_the_same_flow_run_decides_nothing_again(session: Session) -> None:
    request = orders.OrderIn(customer="C0001", amount=Decimal("10"), requester="support")
    first = orders.submit(session, request=request, flow_run_id="run-1", now=NOW)
    before = counts(session)
    assert orders.submit(session, request=request, flow_run_id="run-1", now=NOW) is first
    assert counts(session) == before


def test_the_flow_runs_of_released_checks_are_read_in_the_order_given(session: Session) -> None:
    request = orders.OrderIn(customer="C0001", amount=Decimal("10"), requester="support")
    first = orders.submit(session, request=request, flow_run_id="run-1", now=NOW)
    second = order(session, "C0001", "20")
    assert orders.flow_runs(session, [second.id, first.id]) == [(second.id, None), (first.id, "run-1")]
