"""Every rule file under rules/ loads, and each of its cases gives the outcome, role and rules it expects."""

from __future__ import annotations

from hashlib import sha256
from pathlib import Path

import pytest

from rules.cases import run_cases
from rules.engine import RULES_DIR, Case, get_ruleset

RULE_FILES = sorted(RULES_DIR.glob("*.yaml"))
CASES = [
    pytest.param(path.stem, case, id=f"{path.stem}: {case.name}")
    for path in RULE_FILES
    for case in get_ruleset(path.stem).cases
]


def test_every_rule_file_carries_cases() -> None:
    assert RULE_FILES
    assert all(get_ruleset(path.stem).cases for path in RULE_FILES)


@pytest.mark.parametrize(("ruleset", "case"), CASES)
def test_case(ruleset: str, case: Case) -> None:
    decision = get_ruleset(ruleset).decide(case.facts)
    assert (decision.outcome, decision.role, decision.fired) == (
        case.expect.outcome,
        case.expect.role,
        case.expect.fired,
    )
    assert all(reason.text and "{" not in reason.text for reason in decision.reasons)


@pytest.mark.parametrize("path", RULE_FILES, ids=[path.stem for path in RULE_FILES])
def test_every_rule_is_fired_by_a_case_of_its_file(path: Path) -> None:
    assert run_cases(get_ruleset(path.stem)).uncovered == []


def test_the_cases_in_one_batch_decide_as_one_by_one() -> None:
    for path in RULE_FILES:
        ruleset = get_ruleset(path.stem)
        batch = ruleset.decide_many([case.facts for case in ruleset.cases])
        assert batch == [ruleset.decide(case.facts) for case in ruleset.cases]
        assert ruleset.decide_many([]) == []


def test_a_discount_decision_explains_itself() -> None:
    ruleset = get_ruleset("discount")
    case = next(case for case in ruleset.cases if case.name == "exactly at the norm is approved")
    decision = ruleset.decide(case.facts)
    assert decision.ruleset == "discount"
    assert decision.version == ruleset.version
    assert ruleset.version == sha256((RULES_DIR / "discount.yaml").read_bytes()).hexdigest()
    expected = "Discount 12.5% is within the norm of 12.5% for price column 3, class B"
    assert decision.reasons[0].text == expected
    assert decision.facts["discount_pct"] == "12.50"  # the Decimal as given, JSON-safe
    assert decision.model_dump(mode="json")["facts"]["promotion_active"] is False


def test_a_credit_limit_decision_names_the_requester_and_the_category_in_words() -> None:
    ruleset = get_ruleset("credit_limit")
    case = next(
        case for case in ruleset.cases if case.name == "a KAM's large request goes to the commercial director"
    )
    assert [reason.text for reason in ruleset.decide(case.facts).reasons] == [
        "Asked by a key account manager: the credit controller decides",
        "The open-orders limit rises by 250,000.00 to 250,000.00, more than 100,000: "
        "the commercial director approves",
    ]


def test_a_credit_review_decision_names_the_dunning_channel_in_words() -> None:
    ruleset = get_ruleset("credit_review")
    case = next(case for case in ruleset.cases if case.name == "stop shipments blocks new orders")
    assert case.facts["dunning_channel"] == "stop_shipments"  # conditions still compare the id
    assert [reason.text for reason in ruleset.decide(case.facts).reasons] == [
        "Dunning level 3 (stop shipments): 3,000.00 overdue, the oldest for 40 days",
        "Dunning is at stop shipments: no new orders until the 3,000.00 overdue is paid",
    ]
