"""`kamflow order prepayment|change|cancel`: a release against prepayment counts once the prepayment is recorded,
and the prepayment lowers exposure; a changed or cancelled order, and an arrived prepayment, re-check the
customer's blocked orders (released ones audited as kamflow's, with the rule-set version)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from kamflow import approvals, audit, clock
from kamflow.credit import orders
from kamflow.credit.tables import OrderCreditCheck
from tests.conftest import NOW
from tests.unit.credit.conftest import answer, order

Kamflow = Callable[..., tuple[int, Any]]


@pytest.fixture
def fresh(kamflow: Kamflow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Kamflow:
    """C9101, with a total limit of 10,000 and nothing owed, on the demo's business date."""
    monkeypatch.setattr(clock, "now", lambda: NOW)
    path = tmp_path / "customers.csv"
    path.write_text(
        "code,name,customer_class,company_type,kam,credit_limit,currency,payment_terms_days\n"
        "C9101,Pedidos S.L.,B,private,kam.north1,10000.00,EUR,30\n",
        encoding="utf-8",
    )
    assert kamflow("import", "customers", str(path))[0] == 0
    return kamflow


def open_orders(kamflow: Kamflow) -> Decimal:
    code, view = kamflow("credit", "exposure", "C9101", "--as", "credit")
    assert code == 0, view
    return Decimal(next(line["amount"] for line in view["categories"] if line["category"] == "open orders"))


def blocked(session: Session, amount: str) -> OrderCreditCheck:
    check = order(session, "C9101", amount)
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
    session.commit()
    return check


def actions(session: Session, check: OrderCreditCheck) -> list[tuple[str, str]]:
    return [
        (e.actor, e.action) for e in audit.trail(session, subject_type="order_credit_check", subject_id=check.id)
    ]


def test_a_release_against_prepayment_counts_once_the_prepayment_is_recorded(
    fresh: Kamflow, session: Session
) -> None:
    check = order(session, "C9101", "12000.00")
    task = answer(
        session,
        process=orders.PROCESS,
        subject_id=check.id,
        role="credit_controller",
        requester="kam.north1",
        login="credit",
        action="release_with_prepayment",
        amount="3000.00",
    )
    orders.apply_answer(session, subject_id=check.id, task_id=task.id, now=NOW)
    session.commit()
    number = check.order.number
    assert (check.status, check.order.status) == ("awaiting_prepayment", "awaiting_prepayment")
    assert open_orders(fresh) == 0  # not released yet: not in exposure

    code, part = fresh(
        "order", "prepayment", number, "--amount", "2000.00", "--on", "2026-03-16", "--as", "credit"
    )
    assert code == 0 and part["status"] == "awaiting_prepayment" and part["prepaid"] == "2000.00"
    code, whole = fresh("order", "prepayment", number, "--amount", "1000.00", "--as", "credit")
    assert code == 0 and whole["status"] == "open"
    assert open_orders(fresh) == Decimal("9000.00")  # 12,000 less the 3,000 prepaid
    session.expire_all()
    assert check.status == "released"
    assert actions(session, check)[-3:] == [
        ("credit", "prepayment_received"),
        ("credit", "prepayment_received"),
        ("kamflow", "order_released_on_prepayment"),
    ]
    code, refused = fresh("order", "prepayment", number, "--amount", "9000.01", "--as", "credit")
    assert (code, refused["field"]) == (2, "amount")
    code, verified = fresh("audit", "verify")
    assert verified["ok"] and verified["disagreeing"] == 0, verified["texts"]


@pytest.mark.parametrize(
    "command",
    [("cancel", "--reason", "customer withdrew"), ("change", "--amount", "4000.00")],
    ids=["cancel", "change"],
)
def test_a_cancelled_or_smaller_order_re_checks_the_blocked_ones(
    fresh: Kamflow, session: Session, command: tuple[str, ...]
) -> None:
    first = order(session, "C9101", "8000.00")
    assert first.status == "approved"
    second = blocked(session, "5000.00")  # 8,000 + 5,000 > 10,000
    code, done = fresh("order", command[0], first.order.number, *command[1:], "--as", "kam.north1")
    assert code == 0, done
    assert done["released_orders"] == [second.order.number]
    session.expire_all()
    assert (second.status, second.order.status) == ("released", "open")
    event = audit.trail(session, subject_type="order_credit_check", subject_id=second.id)[-1]
    assert (event.actor, event.action, event.rules_version) == (
        "kamflow",
        "order_released_on_recheck",
        second.rules_version,
    )


def test_an_open_order_may_not_grow_and_a_refused_change_changes_nothing(fresh: Kamflow, session: Session) -> None:
    first = order(session, "C9101", "8000.00")
    session.commit()
    code, refused = fresh("order", "change", first.order.number, "--amount", "8000.01", "--as", "kam.north1")
    assert (code, refused["field"]) == (2, "amount") and "as a new order" in refused["message"]
    code, refused = fresh("order", "cancel", "SO-NOPE", "--as", "kam.north1")
    assert (code, refused["field"]) == (4, "order")
    code, refused = fresh("order", "cancel", first.order.number, "--as", "kam.south1")
    assert code == 3
    session.expire_all()
    assert (first.order.amount, first.order.status) == (Decimal("8000.00"), "open")
    assert actions(session, first) == [("rules", "order_approve")]
