"""The credit policy as data: the shipped file carries the figures the code used to hold, amounts are read
exactly, and a value that does not fit fails naming its key."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from kamflow.credit import policy
from kamflow.errors import InvalidInput


def test_the_shipped_policy_carries_the_credit_figures() -> None:
    shipped = policy.load()
    assert (shipped.grace_days, shipped.history_days, shipped.key_account_classes) == (5, 365, ("A",))
    formula = shipped.proposed_limit
    assert (formula.terms_days_per_month, formula.extra_months, formula.round_down_to) == (30, 1, Decimal(1000))
    assert shipped.enters_orders == ("sales_support", "credit_controller")
    assert shipped.asks_solvency_checks == shipped.asks_limit_changes == ("credit_controller",)
    assert shipped.records_collection == ("credit_controller",)
    assert policy.load() is shipped  # read once


def edited(tmp_path: Path, old: str, new: str) -> Path:
    text = policy.POLICY_FILE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "policy.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_amounts_are_read_exactly(tmp_path: Path) -> None:
    path = edited(tmp_path, "round_down_to: 1000 ", "round_down_to: 1234567890123456.78 ")
    assert policy.load(path).proposed_limit.round_down_to == Decimal("1234567890123456.78")


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("grace_days: 5 ", "grace_days: five ", "grace_days"),
        ("grace_days: 5 ", "grace_days: 91 ", "grace_days"),
        ("history_days: 365 ", "history_days: 0 ", "history_days"),
        ("terms_days_per_month: 30 ", "terms_days_per_month: 0 ", "proposed_limit.terms_days_per_month"),
        ("round_down_to: 1000 ", "round_down_to: 0.001 ", "proposed_limit.round_down_to"),
        ("extra_months: 1 ", "extra_month: 1 ", "proposed_limit.extra_months"),
        ("enters_orders: [sales_support, ", "enters_orders: [[sales_support], ", "enters_orders.0"),
    ],
)
def test_a_bad_value_fails_naming_its_key(tmp_path: Path, old: str, new: str, key: str) -> None:
    path = edited(tmp_path, old, new)
    with pytest.raises(InvalidInput) as error:
        policy.load(path)
    assert error.value.field == key and f"{path}: {key}: " in error.value.message
