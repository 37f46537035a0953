"""Decisions by the real durable-rules engine agree with plain Python: in bulk, from threads, per operator."""

from __future__ import annotations

import operator
import random
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bench.bench_rules import plain_decide, random_facts
from rules.conditions import AllOf, AnyOf, Leaf, Not
from rules.driver import CHUNK
from rules.engine import RULES_DIR, Decision, FactsRefused, get_ruleset, load_ruleset, load_ruleset_text
from rules.spec import parse_rule_file


def verdicts(decisions: list[Any]) -> list[tuple[str, str | None, list[str]]]:
    return [(decision.outcome, decision.role, decision.fired) for decision in decisions]


def test_a_hundred_thousand_batch_decisions_agree_with_plain_python() -> None:
    ruleset = get_ruleset("discount")
    for seed in range(10):
        facts = random_facts(10_000, seed)
        assert verdicts(ruleset.decide_many(facts)) == [plain_decide(one) for one in facts]


def test_one_by_one_decisions_agree_and_free_their_sessions() -> None:
    ruleset = get_ruleset("discount")
    facts = random_facts(3_000, 99)  # more than the engine's 1024 live sessions
    assert verdicts([ruleset.decide(one) for one in facts]) == [plain_decide(one) for one in facts]


def test_decisions_from_eight_threads_at_once_agree() -> None:
    ruleset = get_ruleset("discount")
    facts = random_facts(16_000, 8)
    start = threading.Barrier(8)

    def work(worker: int) -> list[Any]:
        mine = facts[worker * 2_000 : (worker + 1) * 2_000]
        start.wait()
        return ruleset.decide_many(mine[:1_700]) + [ruleset.decide(one) for one in mine[1_700:]]

    with ThreadPoolExecutor(8) as pool:
        decisions = [decision for part in pool.map(work, range(8)) for decision in part]
    assert verdicts(decisions) == [plain_decide(one) for one in facts]


def test_the_same_rule_set_loaded_twice_in_one_process_both_decide() -> None:
    path = RULES_DIR / "discount.yaml"
    first, second = load_ruleset(path), load_ruleset(path)
    stored = load_ruleset_text(first.text, "audit trail")
    facts = random_facts(300, 3)
    expected = [plain_decide(one) for one in facts]
    for ruleset in (first, second, stored, first):
        assert ruleset.version == second.version
        assert verdicts(ruleset.decide_many(facts)) == expected


OPERATORS_FILE = """\
ruleset: operators
facts: {x: decimal, y: decimal, n: integer, s: string, b: boolean}
outcomes: [hit]
default: {outcome: hit, reason: "none"}
rules:
  - {id: eq, when: {fact: x, op: eq, value: 1.5}, outcome: hit, reason: "x {x}"}
  - {id: ne, when: {fact: s, op: ne, value: "é\\"q"}, outcome: hit, reason: "s {s}"}
  - {id: lt, when: {fact: x, op: lt, value: 2}, outcome: hit, reason: "x {x}"}
  - {id: le, when: {fact: n, op: le, value: 3}, outcome: hit, reason: "n {n}"}
  - {id: gt, when: {fact: x, op: gt, other: y}, outcome: hit, reason: "x {x} y {y}"}
  - {id: ge, when: {fact: n, op: ge, other: x}, outcome: hit, reason: "n {n} x {x}"}
  - {id: between, when: {fact: y, op: between, value: [0.5, 2.5]}, outcome: hit, reason: "y {y}"}
  - {id: in, when: {fact: s, op: in, value: [a, "é\\"q"]}, outcome: hit, reason: "s {s}"}
  - {id: not-in, when: {fact: n, op: not_in, value: [1, 3]}, outcome: hit, reason: "n {n}"}
  - {id: bool, when: {fact: b, op: eq, value: true}, outcome: hit, reason: "b {b}"}
  - id: any-overlapping
    when: {any: [{fact: x, op: ge, value: 1}, {fact: x, op: ge, value: 2}, {fact: b, op: eq, value: true}]}
    outcome: hit
    reason: "once"
  - id: not-all
    when: {not: {all: [{fact: x, op: lt, other: y}, {fact: s, op: eq, value: a}]}}
    outcome: hit
    reason: "x {x}"
  - id: not-any
    when: {not: {any: [{fact: n, op: eq, value: 2}, {not: {fact: b, op: ne, value: false}}]}}
    outcome: hit
    reason: "n {n}"
  - id: not-between
    when: {not: {fact: x, op: between, value: [1, 2]}}
    outcome: hit
    reason: "x {x}"
  - id: not-in-list
    when: {not: {fact: s, op: in, value: [a, b]}}
    outcome: hit
    reason: "s {s}"
  - id: not-not-in
    when: {not: {fact: n, op: not_in, value: [0, 4]}}
    outcome: hit
    reason: "n {n}"
  - id: not-other
    when:
      not: {any: [{fact: x, op: le, other: y}, {fact: y, op: eq, other: x}, {fact: n, op: ne, other: x}]}
    outcome: hit
    reason: "n {n} x {x}"
"""


COMPARISONS = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


def holds(condition: Leaf | AllOf | AnyOf | Not, facts: dict[str, Any]) -> bool:
    """The condition evaluated in plain Python, on the Decimals themselves."""
    if isinstance(condition, Not):
        return not holds(condition.not_, facts)
    if isinstance(condition, AllOf):
        return all(holds(part, facts) for part in condition.all)
    if isinstance(condition, AnyOf):
        return any(holds(part, facts) for part in condition.any)
    left = facts[condition.fact]
    right = facts[condition.other] if condition.other is not None else condition.value
    if condition.op == "between":
        return bool(right[0] <= left <= right[1])
    if condition.op in ("in", "not_in"):
        return (left in right) == (condition.op == "in")
    return bool(COMPARISONS[condition.op](left, right))


def test_every_operator_and_combination_decides_as_plain_python(tmp_path: Path) -> None:
    (tmp_path / "operators.yaml").write_text(OPERATORS_FILE)
    ruleset = load_ruleset(tmp_path / "operators.yaml")
    rules = parse_rule_file(OPERATORS_FILE, "operators.yaml").rules
    rnd = random.Random(5)
    values = [Decimal("0.5"), Decimal("1"), Decimal("1.50"), Decimal(2), Decimal("2.5"), Decimal(3), 4]
    facts = [
        {
            "x": rnd.choice(values),
            "y": rnd.choice(values),
            "n": rnd.randint(0, 4),
            "s": rnd.choice(["a", "b", 'é"q', '"id":7,\\']),
            "b": rnd.random() < 0.5,
        }
        for _ in range(3_000)
    ]
    expected = [[rule.id for rule in rules if holds(rule.when, one)] or ["default"] for one in facts]
    assert [decision.fired for decision in ruleset.decide_many(facts)] == expected
    assert [ruleset.decide(one).fired for one in facts[:200]] == expected[:200]


NUMBERS_FILE = """\
ruleset: numbers
facts: {small: decimal, big: decimal, count: integer, label: string}
outcomes: [ok]
default: {outcome: ok, reason: "none"}
rules:
  - {id: small-positive, when: {fact: small, op: gt, value: 0}, outcome: ok, reason: "{small}"}
  - {id: small-below-big, when: {fact: small, op: lt, other: big}, outcome: ok, reason: "{big}"}
  - {id: count-above-big, when: {fact: count, op: gt, other: big}, outcome: ok, reason: "{count}"}
"""


@pytest.mark.parametrize(
    ("small", "big", "count", "fired"),
    [
        (Decimal("0.00001"), Decimal("1E+20"), 10**17, ["small-positive", "small-below-big"]),
        (Decimal("1E-300"), Decimal("2E-300"), 0, ["small-positive", "small-below-big"]),
        (Decimal("-1E-7"), Decimal("-1E+16"), -(10**17), ["default"]),
        (Decimal("0.30"), Decimal("0.3"), 1, ["small-positive", "count-above-big"]),
    ],
)
def test_numbers_of_any_size_reach_the_engine(small: Decimal, big: Decimal, count: int, fired: list[str]) -> None:
    ruleset = load_ruleset_text(NUMBERS_FILE, "numbers.yaml")
    facts = {"small": small, "big": big, "count": count, "label": "x"}
    assert ruleset.decide(facts).fired == fired
    assert ruleset.decide_many([facts])[0].fired == fired


def test_rules_are_listed_by_priority_then_file_order_and_the_default_explains_itself() -> None:
    ruleset = load_ruleset_text(
        """\
ruleset: order
facts: {x: integer}
outcomes: [stop, go]
roles: [clerk, boss]
default: {outcome: stop, role: boss, reason: "x is {x}: no rule"}
rules:
  - {id: third, when: {fact: x, op: gt, value: 0}, outcome: go, role: boss, reason: "3"}
  - {id: fourth, when: {fact: x, op: gt, value: 0}, outcome: go, role: clerk, reason: "4"}
  - {id: second, priority: 5, when: {fact: x, op: gt, value: 1}, outcome: stop, role: clerk, reason: "2"}
  - {id: first, priority: 1, when: {fact: x, op: gt, value: 0}, outcome: go, reason: "1"}
""",
        "order.yaml",
    )
    assert ruleset.decide({"x": 1}).fired == ["first", "third", "fourth"]
    assert (ruleset.decide({"x": 1}).outcome, ruleset.decide({"x": 1}).role) == ("go", "boss")
    assert (ruleset.decide({"x": 2}).outcome, ruleset.decide({"x": 2}).role) == ("stop", "clerk")
    default = ruleset.decide({"x": 0})
    assert (default.outcome, default.role, default.fired) == ("stop", "boss", ["default"])
    assert default.reasons[0].text == "x is 0: no rule"


def test_reasons_print_a_string_fact_in_its_words_and_conditions_compare_the_value() -> None:
    ruleset = load_ruleset_text(
        """\
ruleset: words
facts: {role: string, n: integer}
words: {role: {kam: a key account manager, hr: an HR manager}}
outcomes: [ask, go]
roles: [controller]
default: {outcome: go, reason: "{role} may"}
rules:
  - {id: outsider, when: {fact: role, op: in, value: [kam, clerk]}, outcome: ask, role: controller,
     reason: "Asked by {role} for {n}"}
""",
        "words.yaml",
    )
    facts = [{"role": "kam", "n": 1}, {"role": "clerk", "n": 2}, {"role": "hr", "n": 3}]
    texts = ["Asked by a key account manager for 1", "Asked by clerk for 2", "an HR manager may"]
    for decisions in (ruleset.decide_many(facts), [ruleset.decide(one) for one in facts]):
        assert [decision.reasons[0].text for decision in decisions] == texts
        assert [decision.facts["role"] for decision in decisions] == ["kam", "clerk", "hr"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"discount_pct": None}, "missing fact 'discount_pct'"),
        ({"discount_pct": 12.5}, "fact 'discount_pct' must be a Decimal or int, got float"),
        ({"discount_pct": Decimal("NaN")}, "fact 'discount_pct' must be a Decimal or int"),
        ({"discount_pct": Decimal("1E+400")}, "fact 'discount_pct': 1E+400 is too large for the engine"),
        ({"price_column": True}, "fact 'price_column' must be an int, got bool"),
        ({"promotion_active": 1}, "fact 'promotion_active' must be a bool, got int"),
        ({"customer_class": None}, "missing fact 'customer_class'"),
        ({"discount": Decimal(1)}, "unknown fact 'discount'"),
    ],
)
def test_facts_that_do_not_fit_are_refused_naming_the_fact(change: dict[str, Any], message: str) -> None:
    ruleset = get_ruleset("discount")
    facts = {**ruleset.cases[0].facts, **change}
    facts = {name: value for name, value in facts.items() if value is not None}
    with pytest.raises(ValueError, match=re.escape(message)):
        ruleset.decide(facts)
    with pytest.raises(FactsRefused, match=re.escape(f"fact set 1: {message}")) as refused:
        ruleset.decide_many([ruleset.cases[0].facts, facts])
    assert isinstance(refused.value, ValueError) and refused.value.index == 1 and message in refused.value.reason


def test_a_fact_set_that_does_not_fit_past_the_first_chunk_is_refused_by_its_index_in_the_batch() -> None:
    ruleset = get_ruleset("discount")
    facts = random_facts(2 * CHUNK + 10, 4)
    facts[CHUNK + 5] = {**facts[CHUNK + 5], "promotion_active": 1}
    message = f"fact set {CHUNK + 5}: fact 'promotion_active' must be a bool, got int"
    with pytest.raises(FactsRefused, match=re.escape(message)) as refused:
        ruleset.decide_many(facts)
    assert refused.value.index == CHUNK + 5
    del facts[CHUNK + 5]
    assert verdicts(ruleset.decide_many(facts)) == [plain_decide(one) for one in facts]


def test_rule_values_of_any_size_reach_the_engine() -> None:
    ruleset = load_ruleset_text(
        """\
ruleset: sizes
facts: {x: decimal}
outcomes: [ok]
default: {outcome: ok, reason: "none"}
rules:
  - {id: tiny, when: {fact: x, op: gt, value: 0.00001}, outcome: ok, reason: "{x}"}
  - {id: huge, when: {fact: x, op: ge, value: 1.0e+20}, outcome: ok, reason: "{x}"}
  - {id: negative-tiny, when: {fact: x, op: lt, value: -1.5e-300}, outcome: ok, reason: "{x}"}
""",
        "sizes.yaml",
    )
    fired = [
        one.fired
        for one in ruleset.decide_many([{"x": Decimal(v)} for v in ("0.00001", "0.000011", "1E+20", "-1")])
    ]
    assert fired == [["default"], ["tiny"], ["tiny", "huge"], ["negative-tiny"]]


def test_batch_decisions_are_the_models_validation_would_make() -> None:
    for decision in get_ruleset("discount").decide_many(random_facts(300, 4)):
        again = Decision.model_validate(decision.model_dump())
        assert again == decision and again.model_dump_json() == decision.model_dump_json()
        assert decision.model_fields_set == set(Decision.model_fields)
        assert all(reason.model_fields_set == {"rule", "text"} for reason in decision.reasons)


def test_facts_from_json_are_typed_exactly_and_checked() -> None:
    ruleset = get_ruleset("discount")
    stored = ruleset.decide(ruleset.cases[1].facts).facts
    typed = ruleset.typed_facts(stored)
    assert typed["discount_pct"] == Decimal("12.50") and str(typed["discount_pct"]) == "12.50"
    assert ruleset.decide(typed).facts == stored
    with pytest.raises(ValueError, match="fact 'norm_pct' must be a decimal number, got 'twelve'"):
        ruleset.typed_facts({**stored, "norm_pct": "twelve"})
    with pytest.raises(ValueError, match="fact 'norm_pct' must be a Decimal or int, got float"):
        ruleset.typed_facts({**stored, "norm_pct": 12.5})
    with pytest.raises(ValueError, match="unknown fact 'colour'"):
        ruleset.typed_facts({**stored, "colour": "red"})
