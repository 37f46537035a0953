"""What a review adds up to, and how the Prefect UI and the CLI show it: pure, no database, no Prefect."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from kamflow.credit.facts import money
from kamflow.reports import words

CHANGES = {
    "overdue": "overdue",
    "dunnable": "overdue not on hold",
    "serious_overdue": "seriously overdue",
    "exposure": "exposure",
}


def _signed(value: Decimal | int) -> str:
    return f"{value:+,.2f}" if isinstance(value, Decimal) else f"{value:+,d}"


@dataclass
class Totals:
    """Customers per dunning level and money per currency, for a batch, a shard or a whole review."""

    customers: int = 0
    raised: int = 0
    levels: dict[int, int] = field(default_factory=dict)
    money: dict[str, dict[str, Decimal]] = field(default_factory=dict)

    def add(self, *, currency: str, level: int, raised: bool, amounts: Mapping[str, Decimal]) -> None:
        self.customers += 1
        self.raised += raised
        self.levels[level] = self.levels.get(level, 0) + 1
        self._add_money(currency, amounts)

    def _add_money(self, currency: str, amounts: Mapping[str, Decimal]) -> None:
        sums = self.money.setdefault(currency, {})
        for name, amount in amounts.items():
            sums[name] = sums.get(name, Decimal(0)) + amount

    def merge(self, other: Totals) -> Totals:
        merged = Totals(
            self.customers + other.customers,
            self.raised + other.raised,
            dict(self.levels),
            {currency: dict(amounts) for currency, amounts in self.money.items()},
        )
        for level, count in other.levels.items():
            merged.levels[level] = merged.levels.get(level, 0) + count
        for currency, amounts in other.money.items():
            merged._add_money(currency, amounts)
        return merged

    def to_json(self) -> dict[str, Any]:
        return {
            "customers": self.customers,
            "raised": self.raised,
            "levels": {str(level): count for level, count in sorted(self.levels.items())},
            "money": {c: {n: str(a) for n, a in amounts.items()} for c, amounts in sorted(self.money.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Totals:
        return cls(
            customers=data.get("customers", 0),
            raised=data.get("raised", 0),
            levels={int(level): count for level, count in data.get("levels", {}).items()},
            money={c: {n: Decimal(a) for n, a in amounts.items()} for c, amounts in data.get("money", {}).items()},
        )


@dataclass(frozen=True)
class ReviewSummary:
    business_date: dt.date
    status: str
    shards: int
    rules_version: str
    bucket_labels: list[str]
    channels: dict[int, str]  # dunning level -> channel
    totals: Totals
    tasks: dict[str, int]  # collection tasks of this business date, per action
    top_risks: list[dict[str, Any]]
    previous_date: dt.date | None = None
    previous: Totals | None = None

    def levels_table(self) -> list[dict[str, Any]]:
        """Customers per dunning level, and the change since the previous review."""
        before = self.previous.levels if self.previous else {}
        return [
            {
                "level": level,
                "channel": words(self.channels.get(level, "none")),
                "customers": self.totals.levels.get(level, 0),
                "change": self.totals.levels.get(level, 0) - before.get(level, 0),
            }
            for level in sorted({0, *self.channels, *self.totals.levels})
        ]

    def markdown(self) -> str:
        lines = [
            f"# Credit review of {self.business_date}: {self.status}",
            "",
            f"{self.totals.customers:,} customers reviewed in {self.shards} shard(s); {self.totals.raised:,} "
            f"rose a dunning level. Rules `credit_review` version `{self.rules_version[:12]}`.",
            "",
            "| currency | not due | " + " | ".join(self.bucket_labels) + " | overdue | not on hold | "
            "exposure | interest | fees |",
            "|---" * (len(self.bucket_labels) + 7) + "|",
        ]
        for currency, sums in sorted(self.totals.money.items()):
            cells = [sums.get(name, Decimal(0)) for name in ("not_due", *self.bucket_labels)]
            cells += [
                sums.get(name, Decimal(0)) for name in ("overdue", "dunnable", "exposure", "interest", "fees")
            ]
            lines.append(f"| {currency} | " + " | ".join(money(cell) for cell in cells) + " |")
        tasks = ", ".join(f"{words(action)} {count:,}" for action, count in sorted(self.tasks.items())) or "none"
        lines += ["", f"Collection tasks for this date: {tasks}.", ""]
        lines += self._changes()
        return "\n".join(lines)

    def _changes(self) -> list[str]:
        if self.previous is None or self.previous_date is None:
            return ["No previous review to compare with."]
        lines = [f"## Changes since the review of {self.previous_date}", ""]
        lines.append(f"- customers reviewed: {_signed(self.totals.customers - self.previous.customers)}")
        for currency, sums in sorted(self.totals.money.items()):
            before = self.previous.money.get(currency, {})
            for name, label in CHANGES.items():
                change = sums.get(name, Decimal(0)) - before.get(name, Decimal(0))
                lines.append(f"- {label} ({currency}): {_signed(change)}")
        dunned = sum(count for level, count in self.totals.levels.items() if level)
        dunned_before = sum(count for level, count in self.previous.levels.items() if level)
        lines.append(f"- customers in dunning: {dunned:,} ({_signed(dunned - dunned_before)})")
        return lines
