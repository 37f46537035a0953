"""The `money` fact type: a `decimal` in every respect but how reasons print it (90,000.00); decimals grouped."""

from __future__ import annotations

import random
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from rules.engine import RuleFileError, get_ruleset, load_ruleset, load_ruleset_text
from tests.unit.rules.test_decisions import OPERATORS_FILE

PRINTED = """\
ruleset: printed
facts: {amount: money, number: decimal, year: integer}
outcomes: [ok]
default: {outcome: ok, reason: "differ"}
rules:
  - id: same
    when: {fact: amount, op: eq, other: number}
    outcome: ok
    reason: "{amount} | {number} | {year}"
"""


PRINTINGS: list[tuple[Any, str, str]] = [
    (Decimal("106355.82"), "106,355.82", "106,355.82"),
    (Decimal("90000"), "90,000.00", "90,000"),
    (90000, "90,000.00", "90,000"),
    (Decimal("1800.50"), "1,800.50", "1,800.5"),
    (Decimal("2600.00"), "2,600.00", "2,600"),
    (Decimal("13.5"), "13.50", "13.5"),
    (Decimal("1.29"), "1.29", "1.29"),
    (Decimal("999.99"), "999.99", "999.99"),
    (Decimal("1000"), "1,000.00", "1,000"),
    (Decimal("-1200"), "-1,200.00", "-1,200"),
    (-1200, "-1,200.00", "-1,200"),
    (Decimal("-999.5"), "-999.50", "-999.5"),
    (Decimal("-0.5"), "-0.50", "-0.5"),
    (Decimal("0"), "0.00", "0"),
    (0, "0.00", "0"),
    (Decimal("0.00"), "0.00", "0"),
    (Decimal("-0.00"), "0.00", "0"),
    (Decimal("123456789012.34"), "123,456,789,012.34", "123,456,789,012.34"),
    (10**14, "100,000,000,000,000.00", "100,000,000,000,000"),
    (Decimal("1234.56789"), "1,234.56789", "1,234.56789"),  # never rounded: the reason shows what was compared
    (Decimal("0.005"), "0.005", "0.005"),
    (Decimal("7.12500"), "7.125", "7.125"),
    (Decimal("1E+5"), "100,000.00", "100,000"),
    (Decimal("-2.5E+3"), "-2,500.00", "-2,500"),
    (Decimal("1.5E-7"), "0.00000015", "0.00000015"),
    (Decimal("-0E-8"), "0.00", "0"),
]
"""A value of a money and a decimal fact, and how reasons print each."""


@pytest.mark.parametrize(("value", "money", "decimal"), PRINTINGS)
def test_reasons_print_money_as_people_read_amounts_and_decimals_grouped(
    value: Any, money: str, decimal: str
) -> None:
    ruleset = load_ruleset_text(PRINTED, "printed.yaml")
    facts = {"amount": value, "number": value, "year": 2026}
    for decision in (ruleset.decide(facts), ruleset.decide_many([facts, facts])[1]):
        assert [reason.text for reason in decision.reasons] == [f"{money} | {decimal} | 2026"]
        assert (
            decision.facts["amount"] == decision.facts["number"] == (value if type(value) is int else str(value))
        )


def test_a_batch_prints_each_value_as_it_prints_it_alone() -> None:
    """Reasons print a batch's values all at once: mixed (ints, exponents, -0.5 beside -0.00) they print as each
    does alone."""
    ruleset = load_ruleset_text(PRINTED, "printed.yaml")
    facts = [{"amount": value, "number": value, "year": 2026} for value, _, _ in PRINTINGS]
    texts = [decision.reasons[0].text for decision in ruleset.decide_many(facts)]
    assert texts == [f"{money} | {decimal} | 2026" for _, money, decimal in PRINTINGS]


def test_a_money_fact_decides_as_a_decimal_fact_under_every_operator() -> None:
    as_money = OPERATORS_FILE.replace("{x: decimal, y: decimal,", "{x: money, y: decimal,")
    assert as_money != OPERATORS_FILE
    decimals, money = load_ruleset_text(OPERATORS_FILE, "o.yaml"), load_ruleset_text(as_money, "o.yaml")
    rnd = random.Random(3)
    values = [
        Decimal("0.5"),
        Decimal("1"),
        Decimal("1.50"),
        Decimal(2),
        Decimal("2.5"),
        Decimal(3),
        4,
        Decimal("-0"),
    ]
    facts = [
        {
            "x": rnd.choice(values),
            "y": rnd.choice(values),
            "n": rnd.randint(0, 4),
            "s": "a",
            "b": rnd.random() < 0.5,
        }
        for _ in range(2_000)
    ]
    fired = [decision.fired for decision in decimals.decide_many(facts)]
    assert [decision.fired for decision in money.decide_many(facts)] == fired
    assert len({tuple(one) for one in fired}) > 20  # the facts fire many different combinations


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (12.5, "fact 'amount' must be a Decimal or int, got float 12.5"),
        ("12.50", "fact 'amount' must be a Decimal or int, got str '12.50'"),
        (True, "fact 'amount' must be a Decimal or int, got bool True"),
        (Decimal("NaN"), "fact 'amount' must be a Decimal or int"),
        (Decimal("-Infinity"), "fact 'amount' must be a Decimal or int"),
        (Decimal("1E+400"), "fact 'amount': 1E+400 is too large for the engine"),
    ],
)
def test_a_money_fact_is_checked_as_a_decimal_fact(value: Any, message: str) -> None:
    ruleset = load_ruleset_text(PRINTED, "printed.yaml")
    with pytest.raises(ValueError, match=re.escape(message)):
        ruleset.decide({"amount": value, "number": Decimal(1), "year": 2026})
    with pytest.raises(ValueError, match=re.escape(f"fact set 1: {message}")):
        ruleset.decide_many([{"amount": 1, "number": 1, "year": 1}, {"amount": value, "number": 1, "year": 1}])


def test_money_facts_from_json_are_read_exactly() -> None:
    ruleset = load_ruleset_text(PRINTED, "printed.yaml")
    typed = ruleset.typed_facts({"amount": "90000.10", "number": "1E+1", "year": 2026})
    assert typed == {"amount": Decimal("90000.10"), "number": Decimal(10), "year": 2026}
    assert str(typed["amount"]) == "90000.10"
    assert ruleset.decide(typed).reasons[0].text == "differ"
    with pytest.raises(ValueError, match="fact 'amount' must be a decimal number, got 'lots'"):
        ruleset.typed_facts({"amount": "lots", "number": "1", "year": 2026})
    with pytest.raises(ValueError, match="fact 'amount' must be a Decimal or int, got float"):
        ruleset.typed_facts({"amount": 1.5, "number": "1", "year": 2026})


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("op: eq, other: number}", "op: gt, value: lots}", "value 'lots' does not fit amount (money)"),
        ("op: eq, other: number}", "op: gt, value: 1.0e+400}", "value 1.0E+400 is too large for the engine"),
        ("op: eq, other: number}", "op: between, value: [2, 1]}", "between [2, 1]: low is above high"),
        ("number: decimal", "number: string", "amount (money) cannot be compared with number (string)"),
        (
            "outcomes:",
            "words: {amount: {'0': nothing}}\noutcomes:",
            "words are for string facts, not amount (money)",
        ),
        ("amount: money", "amount: mony", "'decimal', 'money', 'integer', 'string' or 'boolean'"),
    ],
)
def test_a_rule_file_misusing_a_money_fact_is_refused(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert PRINTED.count(old) == 1
    path = tmp_path / "printed.yaml"
    path.write_text(PRINTED.replace(old, new))
    with pytest.raises(RuleFileError, match=re.escape(message)):
        load_ruleset(path)


def test_shipped_rule_sets_print_amounts_with_separators_and_cents() -> None:
    discount = get_ruleset("discount")
    case = next(case for case in discount.cases if case.name.startswith("overdue receivables send"))
    decision = discount.decide({**case.facts, "order_total": Decimal("106355.8")})
    assert decision.reasons[0].text == "The customer has 1,250.40 overdue; this order is 106,355.80"
    solvency = get_ruleset("solvency")
    case = next(
        case for case in solvency.cases if case.name == "an increase above 100000 goes to the department head"
    )
    assert solvency.decide(case.facts).reasons[0].text == (
        "The proposed limit 150,000.01 is 100,000.01 above the current 50,000.00, more than 100,000"
    )
