"""Solvency checks on the demo company: facts, risk class, decision, what is recorded and audited."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from kamflow import audit
from kamflow.credit import reports, solvency
from kamflow.credit.tables import CreditCheck, FinancialStatement
from kamflow.errors import InvalidInput, NotFound, NotPermitted
from kamflow.models import ApprovalTask, Customer, RuleSetVersion
from tests.conftest import NOW, customer
from tests.unit.credit.conftest import answer


def check(session: Session, code: str, **changes: Any) -> CreditCheck:
    values = {"customer": code, "requester": "credit"} | changes
    request = solvency.SolvencyCheckIn.model_validate(values)
    return solvency.submit(session, request=request, flow_run_id=None, now=NOW)


def rules(row: CreditCheck) -> list[str]:
    return [reason["rule"] for reason in row.reasons]


def test_the_healthy_key_account_is_class_a_and_gets_the_proposed_limit(session: Session) -> None:
    row = check(session, "C0001", requester="kam.north1")
    assert (row.risk_class, row.outcome, row.status, row.decision) == (
        "A",
        "approve_limit",
        "decided",
        "approve_limit",
    )
    assert row.approved_limit == row.proposed_limit > 0 and row.formula.startswith("12-month sales ")
    assert row.scores["altman"]["zone"] == "safe" and row.scores["altman"]["model"] == "Z′"  # C0001 is private
    assert row.snapshot["statement"]["period_end"] == "2025-12-31" and row.snapshot["overdue"] == "0.00"
    assert rules(row) == ["default", "approve-limit"]
    [event] = audit.trail(session, subject_type="credit_check", subject_id=row.id)
    assert (event.action, event.rules_version) == ("solvency_approve_limit", row.rules_version)
    assert event.detail["class_rules_version"] == row.class_rules_version and event.detail["risk_class"] == "A"
    assert session.get(RuleSetVersion, row.rules_version) and session.get(RuleSetVersion, row.class_rules_version)
    assert "Z′ = " in reports.solvency_markdown(row)


def head_asks_prepayment(session: Session, row: CreditCheck) -> ApprovalTask:
    """The department head's answer on an escalated check: prepayment."""
    return answer(
        session,
        process=solvency.PROCESS,
        subject_id=row.id,
        role="department_head",
        requester="credit",
        login="head.north",
        action="prepayment",
    )


def test_a_key_account_in_distress_with_overdue_debt_goes_to_the_department_head(session: Session) -> None:
    row = check(session, "C0002")
    assert (row.risk_class, row.outcome, row.status, row.decision) == ("D", "escalate", "pending", None)
    assert row.decisions["solvency"]["role"] == "department_head"
    assert {"distress-zone", "overdue", "key-account-weak", "key-account-distress"} <= set(rules(row))
    row = solvency.apply_answer(session, subject_id=row.id, task_id=head_asks_prepayment(session, row).id, now=NOW)
    assert (row.status, row.decision, row.approved_limit) == ("decided", "prepayment", None)
    assert audit.trail(session, subject_type="credit_check", subject_id=row.id)[-1].actor == "head.north"


@pytest.mark.parametrize(
    ("payload", "proposed", "message"),
    [
        ({"action": "prepayment", "amount": "100"}, "1000", "takes no amount"),
        ({"action": "approve_limit"}, "0", "nothing was proposed"),
    ],
)
def test_the_answer_must_fit(session: Session, payload: dict[str, Any], proposed: str, message: str) -> None:
    row = check(session, "C0002")
    row.proposed_limit = Decimal(proposed)
    with pytest.raises(InvalidInput, match=message):
        solvency.check_answer(row)(None, payload)  # type: ignore[arg-type]


def newcomer(session: Session) -> Customer:
    client = Customer(
        code="C8888", name="Nuevo S.L.", customer_class="C", company_type="private",
        kam_id=customer(session, "C0001").kam_id, credit_limit=Decimal("0.00"), currency="EUR",
        payment_terms_days=30,
    )  # fmt: skip
    session.add(client)
    session.flush()
    return client


def test_a_newcomer_without_statements_or_history_buys_against_prepayment(session: Session) -> None:
    newcomer(session)
    row = check(session, "C8888", purpose="first_order", order_amount="50000")
    assert (row.risk_class, row.decision, row.proposed_limit) == ("C", "prepayment", Decimal(0))
    assert rules(row) == ["no-statements", "no-history", "no-limit-basis"] and row.scores == {}
    assert "No financial statements on file." in reports.solvency_markdown(row)


def test_a_large_first_order_without_history_goes_to_the_department_head(session: Session) -> None:
    client = newcomer(session)
    session.add(
        FinancialStatement(
            customer_id=client.id, period_end=dt.date(2025, 12, 31), currency="EUR",
            current_assets=Decimal("400000"), current_liabilities=Decimal("250000"), inventory=Decimal("120000"),
            total_assets=Decimal("1000000"), total_liabilities=Decimal("600000"), equity=Decimal("400000"),
            retained_earnings=Decimal("150000"), ebit=Decimal("90000"), sales=Decimal("1800000"),
        )
    )  # fmt: skip
    row = check(session, "C8888", purpose="first_order", order_amount="50000.01")
    assert (row.outcome, row.status) == ("escalate", "pending")
    assert row.scores["altman"]["score"] == "2.59"  # the Z′ of this statement (see test_facts)
    assert "large-first-order" in rules(row) and "no-statements" not in rules(row)


@pytest.mark.parametrize(
    ("changes", "error", "field"),
    [({"customer": "C9999"}, NotFound, "customer"), ({"requester": "kam.south1"}, NotPermitted, "requester")],
)
def test_who_may_ask_and_about_whom(
    session: Session, changes: dict[str, str], error: type[Exception], field: str
) -> None:
    with pytest.raises(error) as raised:
        check(session, "C0001", **changes)
    assert getattr(raised.value, "field", None) == field


def test_the_demo_companys_statements_put_c0001_in_the_safe_zone_and_c0002_in_distress(session: Session) -> None:
    zones = {code: check(session, code).scores["altman"]["zone"] for code in ("C0001", "C0002")}
    assert zones == {"C0001": "safe", "C0002": "distress"}
