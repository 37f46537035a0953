"""Ageing to the cent: buckets at their boundaries (upper bound inclusive), instalments, holds, interest."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from kamflow.review import ageing
from kamflow.review.collection import HoldIn, hold_invoice
from tests.unit.review.conftest import Ledger, at, review

D = dt.date
NIGHT = D(2024, 3, 31)


def test_bucket_bounds_are_inclusive_upper_bounds() -> None:
    buckets = ageing.buckets([30, 60, 90])
    assert [b.label for b in buckets] == ["1-30", "31-60", "61-90", "over 90"]
    windows = [bucket.due_window(NIGHT) for bucket in buckets]

    def holding(days: int) -> list[int]:  # the buckets whose due dates hold an amount `days` overdue tonight
        due = NIGHT - dt.timedelta(days=days)
        return [k for k, (earliest, latest) in enumerate(windows) if (earliest or dt.date.min) <= due <= latest]

    found = {days: holding(days) for days in (-5, 0, 1, 30, 31, 60, 61, 90, 91, 4000)}
    assert found == {-5: [], 0: [], 1: [0], 30: [0], 31: [1], 60: [1], 61: [2], 90: [2], 91: [3], 4000: [3]}
    assert buckets[1].due_window(NIGHT) == (D(2024, 1, 31), D(2024, 2, 29))
    assert buckets[3].due_window(NIGHT) == (None, D(2023, 12, 31))


@pytest.mark.parametrize("bounds", [[], [30, 30], [60, 30], [0, 30]])
def test_bucket_bounds_must_ascend_from_one_day(bounds: list[int]) -> None:
    with pytest.raises(ValueError, match="bucket bounds"):
        ageing.buckets(bounds)


def test_ratios_and_interest_to_the_cent() -> None:
    assert ageing.dso(Decimal("1000.00"), Decimal("3000.00"), 90) == Decimal("30.0")
    assert ageing.dso(Decimal("1000.00"), Decimal(0), 90) is None
    assert ageing.interest(Decimal("107950"), Decimal("8")) == Decimal("23.66")  # 107950 x 8 % / 365 = 23.6602
    assert ageing.interest(Decimal("4562.50"), Decimal("8")) == Decimal("1.00")  # exactly 1.00
    assert ageing.interest(Decimal("107950"), None) == Decimal("0.00")


def test_the_review_ages_every_open_amount_into_its_bucket(session: Session, ledger: Ledger) -> None:
    for amount, due in [
        ("100.00", D(2024, 3, 31)),  # due today: not due
        ("200.00", D(2024, 4, 15)),  # not due
        ("10.00", D(2024, 3, 30)),  # 1 day
        ("20.00", D(2024, 3, 1)),  # 30 days: still 1-30
        ("40.00", D(2024, 2, 29)),  # 31 days
        ("80.00", D(2024, 1, 31)),  # 60 days: still 31-60
        ("160.00", D(2024, 1, 30)),  # 61 days
        ("320.00", D(2024, 1, 1)),  # 90 days: still 61-90
        ("640.00", D(2023, 12, 31)),  # 91 days
    ]:
        ledger.invoice(amount, due)
    # 45 days overdue, paid in three instalments, the last after the review date
    ledger.invoice("300.00", D(2024, 2, 15), [(D(2024, 2, 20), "100.00"), (D(2024, 3, 20), "100.00")])
    late = ledger.invoice("300.00", D(2024, 2, 15))
    ledger.pay(late, D(2024, 4, 10), "300.00")
    ledger.invoice("50.00", D(2024, 1, 10), [(D(2024, 1, 5), "25.00"), (D(2024, 1, 20), "25.00")])  # paid off

    review(session, NIGHT)
    got = ledger.result(NIGHT)

    assert got.not_due == Decimal("300.00")
    assert got.buckets == ["30.00", "520.00", "480.00", "640.00"]
    assert got.overdue == Decimal("1670.00")
    assert got.serious_overdue == Decimal("1120.00")  # more than 60 days
    assert got.dunnable == Decimal("1660.00")  # overdue: the 10.00 one day late is inside the 5 grace days
    assert got.oldest_overdue_days == 91
    assert got.exposure == Decimal("1970.00")
    assert got.utilisation == Decimal("19.70")
    # interest on the overdue, amount x days: 20x30 + 40x31 + 80x60 + 160x61 + 320x90 + 640x91 + 100x45 + 300x45
    assert got.interest == ageing.interest(Decimal(121440), Decimal(8)) == Decimal("26.62")


def test_an_invoice_on_hold_is_aged_but_not_dunned(session: Session, ledger: Ledger) -> None:
    ledger.invoice("160.00", D(2024, 1, 30))
    held = ledger.invoice("640.00", D(2023, 12, 31))
    ledger.invoice("99.99", D(2024, 3, 1), disputed=True)  # disputed at the source: on hold too
    hold_invoice(
        session,
        HoldIn(invoice=held.number, reason="goods returned", placed_by="kam.north1"),
        on=D(2024, 3, 1),
        now=at(D(2024, 3, 1)),
    )
    session.commit()

    review(session, NIGHT)
    got = ledger.result(NIGHT)

    assert got.overdue == Decimal("899.99") and got.dunnable == Decimal("160.00")
    assert got.interest == ageing.interest(Decimal(160 * 61), Decimal(8)) == Decimal("2.14")
