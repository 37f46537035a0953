"""The dunning policy as data and a customer's way through it, night by night on injected dates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kamflow.errors import InvalidInput
from kamflow.models import AuditEvent
from kamflow.review import collection, dunning, service
from kamflow.review.dunning import State, Step, load_policy, step
from kamflow.review.tables import CreditReview
from tests.unit.review.conftest import Ledger, at, review

D = dt.date
POLICY = load_policy()  # the shipped policy: 10 days after due, end of that month, 10 days after the letter


def levels(ledger: Ledger) -> list[tuple[str, int | None, str | None, str]]:
    return [(t.action, t.level, t.channel, t.status) for t in ledger.tasks()]


def done(session: Session, ledger: Ledger, day: dt.date) -> None:
    task = next(t for t in ledger.tasks() if t.status == "open" and t.action == dunning.DUNNING)
    collection.complete_task(session, task_id=task.id, login="kam.north1", note="called", on=day, now=at(day))
    session.commit()


def test_the_shipped_policy_loads() -> None:
    assert [(lv.mode, lv.days, lv.channel) for lv in POLICY.levels] == [
        ("days_after_due", 10, "kam_call"),
        ("end_of_month_after_due", 0, "letter"),
        ("days_after_previous", 10, "stop_shipments"),
        ("days_after_previous", 14, "legal"),
    ]


def test_a_policy_that_does_not_fit_names_file_and_field(tmp_path: Path) -> None:
    text = dunning.POLICY_FILE.read_text().replace("mode: days_after_due ", "mode: days_after_invoice ")
    bad = tmp_path / "dunning.yaml"
    bad.write_text(text)
    with pytest.raises(InvalidInput) as error:
        load_policy(bad)
    assert error.value.field == "levels.0.mode" and str(bad) in error.value.message
    bad.write_text(dunning.POLICY_FILE.read_text().replace("serious_overdue_days: 60", "serious_overdue_days: 45"))
    with pytest.raises(InvalidInput, match="serious_overdue_days must be one of ageing_bounds_days"):
        load_policy(bad)


def test_policy_amounts_are_read_exactly_never_through_float(tmp_path: Path) -> None:
    exact = tmp_path / "dunning.yaml"
    exact.write_text(dunning.POLICY_FILE.read_text().replace("tolerance: 50.00", "tolerance: 1234567890123456.78"))
    assert load_policy(exact).tolerance == Decimal("1234567890123456.78")
    assert POLICY.levels[1].fee == Decimal("5.00") and POLICY.interest_rate_pct == Decimal("8.00")


def test_a_policy_that_is_not_yaml_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "dunning.yaml"
    bad.write_text("levels: [unclosed")
    with pytest.raises(InvalidInput) as error:
        load_policy(bad)
    assert error.value.field == "policy" and str(bad) in error.value.message


@pytest.mark.parametrize(
    ("level", "expected"),
    [(0, D(2024, 1, 25)), (1, D(2024, 1, 31)), (2, D(2024, 2, 11))],
)
def test_each_mode_gives_the_date_a_level_falls_due(level: int, expected: dt.date) -> None:
    due = dunning.falls_due(POLICY.levels[level], oldest_due=D(2024, 1, 15), last_reminder_on=D(2024, 2, 1))
    assert due == expected


@pytest.mark.parametrize(
    ("mode", "days", "oldest_due", "expected"),
    [
        ("end_of_month_after_due", 30, D(2024, 1, 15), D(2024, 2, 29)),  # leap year: 14 Feb falls in February
        ("end_of_month_after_due", 30, D(2023, 1, 15), D(2023, 2, 28)),
        ("end_of_month_after_due", 30, D(2024, 1, 31), D(2024, 3, 31)),  # 1 March: the end of March
        ("end_of_month_after_due", 30, D(2024, 1, 30), D(2024, 2, 29)),  # exactly 29 February
        ("end_of_month_after_due", 0, D(2023, 12, 31), D(2023, 12, 31)),  # a month end is its own month's end
        ("end_of_month_after_due", 1, D(2023, 12, 31), D(2024, 1, 31)),  # across the year
        ("days_after_due", 29, D(2024, 1, 31), D(2024, 2, 29)),
        ("days_after_due", 365, D(2024, 1, 1), D(2024, 12, 31)),  # 2024 has 366 days
        ("days_after_previous", 30, D(2024, 1, 1), D(2024, 3, 1)),  # 30 days after the reminder of 31 January
    ],
)
def test_modes_across_month_ends_and_leap_years(
    mode: dunning.Mode, days: int, oldest_due: dt.date, expected: dt.date
) -> None:
    level = dunning.Level(level=1, name="test", mode=mode, days=days, channel="letter")
    assert dunning.falls_due(level, oldest_due=oldest_due, last_reminder_on=D(2024, 1, 31)) == expected
    if mode == "days_after_previous":
        assert dunning.falls_due(level, oldest_due=oldest_due, last_reminder_on=None) is None


def test_the_step_rules() -> None:
    due, owed = D(2024, 1, 15), Decimal("1000.00")

    def moved(state: State, on: dt.date, *, amount: Decimal = owed, promise: bool = False) -> Step:
        return step(POLICY, state, as_of=on, oldest_due=due, dunnable=amount, promise_active=promise)

    assert moved(State(), D(2024, 1, 24)) == Step(0, raised=False)
    assert moved(State(), D(2024, 1, 25)) == Step(1, raised=True)
    assert moved(State(), D(2024, 1, 25), amount=POLICY.tolerance) == Step(0, raised=False)
    assert moved(State(), D(2024, 1, 25), amount=POLICY.tolerance + Decimal("0.01")) == Step(1, raised=True)
    assert moved(State(), D(2024, 1, 25), promise=True) == Step(0, raised=False)
    not_done = State(1, D(2024, 1, 25), carried_out=False)
    assert moved(not_done, D(2024, 3, 1)) == Step(1, raised=False)
    assert moved(not_done, D(2024, 1, 25)) == Step(1, raised=True)  # the same night again: same answer
    assert moved(not_done, D(2024, 3, 1), amount=Decimal(0)) == Step(0, raised=False, reset=True)
    letter_sent = State(2, D(2024, 1, 31), carried_out=True, last_reminder_on=D(2024, 2, 1))
    assert moved(letter_sent, D(2024, 2, 10)) == Step(2, raised=False)
    assert moved(letter_sent, D(2024, 2, 11)) == Step(3, raised=True)
    assert moved(State(4, D(2024, 3, 1), True, D(2024, 3, 2)), D(2024, 9, 1)) == Step(4, raised=False)


def test_levels_rise_night_by_night_one_at_a_time_once_carried_out(session: Session, ledger: Ledger) -> None:
    ledger.invoice("1000.00", D(2024, 1, 15))

    review(session, D(2024, 1, 24))
    assert ledger.state() is None and ledger.tasks() == []

    review(session, D(2024, 1, 25))
    assert levels(ledger) == [("dunning", 1, "kam_call", "open")]
    assert ledger.tasks()[0].next_action_on == D(2024, 1, 27)
    events = session.scalar(select(func.count()).select_from(AuditEvent))
    review(session, D(2024, 1, 25))  # the same night again: the same review, nothing twice
    assert levels(ledger) == [("dunning", 1, "kam_call", "open")]
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == events
    assert session.scalar(select(func.count()).select_from(CreditReview)) == 2

    review(session, D(2024, 1, 26))
    assert ledger.state().level == 1 and len(ledger.tasks()) == 1  # type: ignore[union-attr]
    done(session, ledger, D(2024, 1, 26))

    review(session, D(2024, 1, 30))
    assert ledger.state().level == 1  # type: ignore[union-attr]
    review(session, D(2024, 1, 31))
    assert levels(ledger)[-1] == ("dunning", 2, "letter", "open")
    assert ledger.tasks()[-1].fee == Decimal("5.00") and ledger.result(D(2024, 1, 31)).fee == Decimal("5.00")
    with pytest.raises(InvalidInput, match="before the latest completed review, of 2024-01-31") as refused:
        service.start_review(session, as_of=D(2024, 1, 29), shards=1, now=at(D(2024, 1, 31)))
    assert refused.value.field == "business_date"
    done(session, ledger, D(2024, 2, 1))

    review(session, D(2024, 2, 10))
    assert ledger.state().level == 2  # type: ignore[union-attr]
    summary = review(session, D(2024, 2, 11))
    assert ledger.state().level == 3  # type: ignore[union-attr]
    assert levels(ledger)[-2:] == [
        ("dunning", 3, "stop_shipments", "open"),
        ("block_orders", None, "stop_shipments", "open"),
    ]
    assert summary.tasks == {"dunning": 1, "block_orders": 1}
    assert {row["level"]: row["change"] for row in summary.levels_table()}[3] == 1


def test_a_long_overdue_customer_still_rises_one_level_per_night(session: Session, ledger: Ledger) -> None:
    ledger.invoice("1000.00", D(2023, 10, 1))
    review(session, D(2024, 1, 25))
    assert ledger.state().level == 1  # type: ignore[union-attr]
    done(session, ledger, D(2024, 1, 25))
    review(session, D(2024, 1, 26))
    assert ledger.state().level == 2  # type: ignore[union-attr]
    done(session, ledger, D(2024, 1, 26))
    review(session, D(2024, 1, 27))  # level 3 waits 10 days after the letter
    assert ledger.state().level == 2  # type: ignore[union-attr]


def test_paying_drops_the_invoice_out_and_the_customer_back_to_level_zero(
    session: Session, ledger: Ledger
) -> None:
    invoice = ledger.invoice("1000.00", D(2024, 1, 15))
    review(session, D(2024, 1, 25))
    ledger.pay(invoice, D(2024, 1, 26), "600.00")
    ledger.pay(invoice, D(2024, 1, 27), "399.99")  # what is left is within the tolerance
    review(session, D(2024, 1, 28))
    assert ledger.state().level == 0  # type: ignore[union-attr]
    assert levels(ledger) == [("dunning", 1, "kam_call", "cancelled")]


def test_a_promise_holds_the_level_until_its_date_and_a_broken_one_goes_to_the_head(
    session: Session, ledger: Ledger
) -> None:
    ledger.invoice("1000.00", D(2024, 1, 15))
    review(session, D(2024, 1, 25))
    done(session, ledger, D(2024, 1, 26))
    promise = collection.PromiseIn(
        customer="C9001", amount=Decimal("1000.00"), promised_for=D(2024, 2, 5), recorded_by="kam.north1"
    )
    collection.record_promise(session, promise, on=D(2024, 1, 26), now=at(D(2024, 1, 26)))
    session.commit()

    review(session, D(2024, 2, 5))  # the letter fell due on 31 January, but the promise holds until today
    assert ledger.state().level == 1  # type: ignore[union-attr]
    review(session, D(2024, 2, 6))
    assert ledger.state().level == 2  # type: ignore[union-attr]
    escalated = [t for t in ledger.tasks() if t.action == "escalate"]
    assert [t.reasons[0]["rule"] for t in escalated] == ["broken-promise"]
    assert escalated[0].assignee_id != ledger.customer.kam_id  # the department head
    assert ledger.result(D(2024, 2, 6)).actions == ["dunning", "escalate"]


def test_a_kept_promise_is_honoured(session: Session, ledger: Ledger) -> None:
    invoice = ledger.invoice("1000.00", D(2024, 1, 15))
    promise = collection.PromiseIn(
        customer="C9001", amount=Decimal("400.00"), promised_for=D(2024, 2, 5), recorded_by="kam.north1"
    )
    row = collection.record_promise(session, promise, on=D(2024, 1, 20), now=at(D(2024, 1, 20)))
    session.commit()
    review(session, D(2024, 1, 25))
    assert ledger.state() is None  # held by the promise
    ledger.pay(invoice, D(2024, 1, 30), "400.00")
    review(session, D(2024, 1, 31))
    session.refresh(row)
    assert (row.status, row.resolved_on) == ("kept", D(2024, 1, 31))
    assert ledger.state().level == 1  # type: ignore[union-attr]  # 600 still overdue: dunning goes on
