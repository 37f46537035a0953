"""Ageing and the ratios of a customer's receivables: pure functions over plain values.

Days overdue = business date - due date; an amount due today or later is not due and sits in no overdue
bucket. Bucket bounds are inclusive upper bounds: with bounds (30, 60, 90) the buckets are 1-30, 31-60,
61-90 and over 90 days overdue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from kamflow.i18n import _

CENT = Decimal("0.01")
TENTH = Decimal("0.1")
DAYS_IN_YEAR = 365


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Bucket:
    label: str
    low: int  # days overdue, inclusive
    high: int | None  # days overdue, inclusive; None: no upper bound

    def due_window(self, as_of: dt.date) -> tuple[dt.date | None, dt.date]:
        """The due dates whose amounts fall in this bucket on `as_of`: (earliest or None, latest), inclusive."""
        earliest = None if self.high is None else as_of - dt.timedelta(days=self.high)
        return earliest, as_of - dt.timedelta(days=self.low)


OPEN_ENDED = "over "
"""How the label of the last bucket, which has no upper bound, begins: `over 90`."""


def buckets(bounds: Sequence[int]) -> list[Bucket]:
    """(30, 60, 90) -> 1-30, 31-60, 61-90, over 90."""
    if not bounds or list(bounds) != sorted(set(bounds)) or bounds[0] < 1:
        raise ValueError(f"bucket bounds must be distinct, ascending and at least 1 day: {list(bounds)}")
    lows = [1, *(bound + 1 for bound in bounds)]
    made = [Bucket(f"{low}-{high}", low, high) for low, high in zip(lows, bounds, strict=False)]
    return [*made, Bucket(f"{OPEN_ENDED}{bounds[-1]}", lows[-1], None)]


def shown(label: str) -> str:
    """A bucket's label as kept (`31-60`, `over 90`) as the reader reads it: 31-60 days / más de 90 días."""
    over = label.removeprefix(OPEN_ENDED)
    return _("{label} days").format(label=label) if over == label else _("over {days} days").format(days=over)


def days_overdue(as_of: dt.date, due: dt.date) -> int:
    return (as_of - due).days


def dso(receivable: Decimal, sales: Decimal, window_days: int) -> Decimal | None:
    """Days sales outstanding: open receivables over the sales of the last `window_days`, in days."""
    if sales <= 0:
        return None
    return (receivable / sales * window_days).quantize(TENTH, rounding=ROUND_HALF_UP)


def interest(amount_days: Decimal, rate_pct: Decimal | None) -> Decimal:
    """Simple late-payment interest: sum over overdue amounts of amount x days overdue, at a yearly rate."""
    if not rate_pct:
        return Decimal("0.00")
    return cents(amount_days * rate_pct / 100 / DAYS_IN_YEAR)
