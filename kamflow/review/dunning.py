"""The dunning policy as data (`dunning.yaml`, checked with pydantic) and how a customer moves through it.

A customer rises at most one level per review, and only once the previous level was carried out; a level
falls due by its mode (`falls_due`), as OCA's account_credit_control and ERPNext compute it: some days after
the due date of the oldest overdue invoice, at the end of the month in which that due date plus some days
falls, or some days after the previous reminder was carried out. When
nothing above the small-amount tolerance is overdue any more (paid invoices drop out, invoices on hold do
not count), the customer is back at level 0. A promise to pay that has not fallen due holds the level.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from kamflow.policy import Strict, Versioned
from kamflow.policy import read as read_policy
from kamflow.review.ageing import Bucket, buckets
from kamflow.settings import get_settings

POLICY_FILE = Path(__file__).with_name("dunning.yaml")

Mode = Literal["days_after_due", "end_of_month_after_due", "days_after_previous"]
Channel = Literal["kam_call", "letter", "stop_shipments", "legal"]
Action = Literal["block_orders", "propose_limit_change", "escalate"]
DUNNING = "dunning"
LIMIT_CHANGE: Action = "propose_limit_change"
Amount = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2)]


class Level(Strict):
    level: int = Field(ge=1, description="1, 2, 3 ... in order")
    name: str = Field(min_length=1)
    mode: Mode = Field(description="How the date this level falls due is computed")
    days: int = Field(ge=0, description="Days added by the mode")
    channel: Channel
    fee: Amount = Field(default=Decimal(0), description="Charged when the customer reaches this level")
    act_within_days: int = Field(default=0, ge=0, description="Next-action date of the task: review date + this")


class ActionPolicy(Strict):
    channel: Channel | None = None
    act_within_days: int = Field(default=0, ge=0)


class Policy(Versioned):
    audit_name = "dunning"

    ageing_bounds_days: list[int] = Field(min_length=1, description="Inclusive upper bounds of the buckets")
    serious_overdue_days: int = Field(description="Overdue beyond this many days counts as serious")
    dso_window_days: int = Field(ge=1, description="Sales window of the DSO")
    payment_window_days: int = Field(ge=1, description="Payments looked at for the payment behaviour")
    tolerance: Amount = Field(description="Overdue (not on hold) at or below this is not dunned")
    interest_rate_pct: Decimal | None = Field(default=None, ge=0, le=100, description="Yearly, simple")
    levels: list[Level] = Field(min_length=1)
    actions: dict[Action, ActionPolicy]

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        buckets(self.ageing_bounds_days)
        if self.serious_overdue_days not in self.ageing_bounds_days:
            raise ValueError("serious_overdue_days must be one of ageing_bounds_days")
        if [level.level for level in self.levels] != list(range(1, len(self.levels) + 1)):
            raise ValueError("levels must be numbered 1, 2, 3 ... in order")
        if self.levels[0].mode == "days_after_previous":
            raise ValueError("the first level has no previous reminder to count from")
        return self

    @property
    def ageing(self) -> list[Bucket]:
        return buckets(self.ageing_bounds_days)

    @property
    def serious_from(self) -> int:
        """Where the seriously overdue buckets start in `ageing`: after the bound of `serious_overdue_days`."""
        return self.ageing_bounds_days.index(self.serious_overdue_days) + 1

    def channel(self, level: int) -> str:
        return self.levels[level - 1].channel if level else "none"

    def fee(self, level: int) -> Decimal:
        return self.levels[level - 1].fee if level else Decimal(0)


def load_policy(path: Path = POLICY_FILE) -> Policy:
    """The policy in a YAML file (amounts read exactly, never through float); InvalidInput naming the file and
    the field when it does not fit."""
    return read_policy(path, Policy)


def current() -> Policy:
    """The policy of the settings' `dunning_policy` file, else the shipped one."""
    return load_policy(get_settings().dunning_policy or POLICY_FILE)


@dataclass(frozen=True)
class State:
    level: int = 0
    raised_on: dt.date | None = None
    carried_out: bool = False
    last_reminder_on: dt.date | None = None


@dataclass(frozen=True)
class Step:
    level: int
    raised: bool  # the review of this business date set the level
    reset: bool = False  # nothing left to dun: back to level 0


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def falls_due(level: Level, *, oldest_due: dt.date, last_reminder_on: dt.date | None) -> dt.date | None:
    """The first business date a customer may reach `level`; None while there is no previous reminder.

    `days_after_due`: the due date + days; `end_of_month_after_due`: the last day of the month in which the
    due date + days falls (30 days after 15 January 2024 is 14 February: due on 29 February, not on 1 March);
    `days_after_previous`: the day the previous reminder was carried out + days."""
    days = dt.timedelta(days=level.days)
    if level.mode == "days_after_due":
        return oldest_due + days
    if level.mode == "end_of_month_after_due":
        return month_end(oldest_due + days)
    return None if last_reminder_on is None else last_reminder_on + days


def step(
    policy: Policy,
    state: State,
    *,
    as_of: dt.date,
    oldest_due: dt.date | None,
    dunnable: Decimal,
    promise_active: bool,
) -> Step:
    """The customer's level after the review of `as_of`. Re-running a date gives the same answer."""
    if oldest_due is None or dunnable <= policy.tolerance:
        return Step(0, raised=False, reset=state.level > 0)
    if state.level and state.raised_on == as_of:
        return Step(state.level, raised=True)
    held = promise_active or (state.level > 0 and not state.carried_out)
    if held or state.level >= len(policy.levels):
        return Step(state.level, raised=False)
    due = falls_due(policy.levels[state.level], oldest_due=oldest_due, last_reminder_on=state.last_reminder_on)
    if due is not None and as_of >= due:
        return Step(state.level + 1, raised=True)
    return Step(state.level, raised=False)


def promise_outcome(
    *, amount: Decimal, promised_for: dt.date, paid_since: Decimal, as_of: dt.date
) -> Literal["open", "kept", "broken"]:
    """A promise to pay is kept once the customer has paid its amount since it was recorded, broken when its
    date has passed without that, and open (holding the dunning level) until then."""
    if paid_since >= amount:
        return "kept"
    return "open" if as_of <= promised_for else "broken"
