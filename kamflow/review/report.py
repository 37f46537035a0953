"""What a review adds up to, and how the Prefect UI and the CLI show it (in the reader's language): pure, no
database, no Prefect."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter
from typing import Any

from kamflow import i18n, labels
from kamflow.i18n import N_, _, ngettext
from kamflow.reports import words
from kamflow.review import ageing

CHANGES = {
    "overdue": N_("overdue"),
    "dunnable": N_("overdue not on hold"),
    "serious_overdue": N_("seriously overdue"),
    "exposure": N_("exposure"),
}
HEADINGS = {
    # levels_table
    "level": N_("level"),
    "channel": N_("channel"),
    "customers": N_("customers"),
    "change": N_("change"),
    # the top risks
    "customer": N_("customer"),
    "class": N_("class"),
    "overdue": N_("overdue"),
    "seriously overdue": N_("seriously overdue"),
    "exposure": N_("exposure"),
    "decision": N_("decision"),
    "reasons": N_("reasons"),
}
"""The columns of the review's tables as people read them; the rows' keys stay the same in every language."""


def headed(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows keyed by their columns' headings in the reader's language (a Prefect table artifact)."""
    return [{_(HEADINGS[key]) if key in HEADINGS else key: value for key, value in row.items()} for row in rows]


def _signed(value: Decimal | int) -> str:
    """A change as the reader writes it, with its sign: +1,250.00 / +1.250,00, -3."""
    places = 2 if isinstance(value, Decimal) else 0
    return ("+" if value >= 0 else "-") + i18n.number(value if value >= 0 else -value, places)


@dataclass
class Totals:
    """Customers per dunning level and money per currency, for a batch, a shard or a whole review."""

    customers: int = 0
    raised: int = 0
    levels: dict[int, int] = field(default_factory=dict)
    money: dict[str, dict[str, Decimal]] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        currencies: Sequence[str],
        levels: Sequence[int],
        raised: Sequence[bool],
        amounts: Sequence[Mapping[str, Decimal]],
    ) -> Totals:
        """The totals of customers given column by column (each one's currency, dunning level, whether it rose,
        its amounts: the same names for every customer), each amount added up over all of them at once."""
        totals = cls(len(levels), sum(raised), dict(Counter(levels)))
        by_currency: dict[str, list[Mapping[str, Decimal]]] = {}
        for currency, theirs in zip(currencies, amounts, strict=True):
            by_currency.setdefault(currency, []).append(theirs)
        for currency, group in by_currency.items():
            totals.money[currency] = {name: sum(map(itemgetter(name), group), Decimal(0)) for name in group[0]}
        return totals

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
        reviewed = ngettext(
            "{customers} customer reviewed in {shards} shard(s)",
            "{customers} customers reviewed in {shards} shard(s)",
            self.totals.customers,
        ).format(customers=i18n.number(self.totals.customers), shards=self.shards)
        head = [_("currency"), _("not due"), *map(ageing.shown, self.bucket_labels)]
        head += [_(CHANGES["overdue"]), _("not on hold"), _(CHANGES["exposure"]), _("interest"), _("fees")]
        lines = [
            _("# Credit review of {day}: {status}").format(
                day=i18n.day(self.business_date), status=labels.status(self.status)
            ),
            "",
            _("{reviewed}; {raised} rose a dunning level. Rules `credit_review` version `{version}`.").format(
                reviewed=reviewed, raised=i18n.number(self.totals.raised), version=self.rules_version[:12]
            ),
            "",
            "| " + " | ".join(head) + " |",
            "|---" * len(head) + "|",
        ]
        for currency, sums in sorted(self.totals.money.items()):
            cells = [sums.get(name, Decimal(0)) for name in ("not_due", *self.bucket_labels)]
            cells += [
                sums.get(name, Decimal(0)) for name in ("overdue", "dunnable", "exposure", "interest", "fees")
            ]
            lines.append(f"| {currency} | " + " | ".join(i18n.number(cell, 2) for cell in cells) + " |")
        tasks = ", ".join(
            f"{words(action)} {i18n.number(count)}" for action, count in sorted(self.tasks.items())
        ) or _("none")
        lines += ["", _("Collection tasks for this date: {tasks}.").format(tasks=tasks), ""]
        lines += self._changes()
        return "\n".join(lines)

    def _changes(self) -> list[str]:
        if self.previous is None or self.previous_date is None:
            return [_("No previous review to compare with.")]
        lines = [_("## Changes since the review of {day}").format(day=i18n.day(self.previous_date)), ""]
        reviewed = _signed(self.totals.customers - self.previous.customers)
        lines.append(_("- customers reviewed: {change}").format(change=reviewed))
        for currency, sums in sorted(self.totals.money.items()):
            before = self.previous.money.get(currency, {})
            for name, label in CHANGES.items():
                change = sums.get(name, Decimal(0)) - before.get(name, Decimal(0))
                lines.append(f"- {_(label)} ({currency}): {_signed(change)}")
        dunned = sum(count for level, count in self.totals.levels.items() if level)
        dunned_before = sum(count for level, count in self.previous.levels.items() if level)
        lines.append(
            _("- customers in dunning: {customers} ({change})").format(
                customers=i18n.number(dunned), change=_signed(dunned - dunned_before)
            )
        )
        return lines
