"""A rule file that cannot be used is refused when loaded, with its file, line and rule id in the message."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.engine import RuleFileError, load_ruleset

VALID = """\
ruleset: shop
description: a small valid rule file that each test breaks in one place
facts:
  amount: decimal
  items: integer
  country: string
  member: boolean
outcomes: [reject, escalate, approve]
roles: [clerk, manager]
words: {country: {DE: Germany}}
default: {outcome: escalate, role: clerk, reason: "No rule for {amount}"}
rules:
  - id: too-much
    when: {fact: amount, op: gt, value: 1000}
    outcome: reject
    reason: "Amount {amount} is above 1000"
  - id: large
    when:
      all:
        - {fact: amount, op: between, value: [100, 1000]}
        - {fact: country, op: in, value: [DE, FR]}
    outcome: escalate
    role: manager
    reason: "Amount {amount} in {country} needs a manager"
  - id: small
    when: {not: {fact: amount, op: ge, other: items}}
    outcome: approve
    reason: "Small: {amount}"
cases:
  - name: small is approved
    facts: {amount: 5, items: 10, country: DE, member: true}
    expect: {outcome: approve, role: null, fired: [small]}
"""


def test_the_valid_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text(VALID)
    assert load_ruleset(path).decide({"amount": 5, "items": 10, "country": "DE", "member": True}).fired == [
        "small"
    ]


# test id: (text in VALID, its replacement, rule id, part of the message, text on the line the error names
# when that is not the replacement's first line)
BROKEN: dict[str, tuple[str, str, str | None, str, str]] = {
    "yaml syntax": ("  member: boolean", "  member: boolean: yes", None, "not valid YAML", ""),
    "duplicate key": (
        "  items: integer",
        "  items: integer\n  amount: string",
        None,
        "duplicate key",
        "amount: string",
    ),
    "unknown top-level key": ("description:", "descripton:", None, "descripton: Extra inputs", ""),
    "unknown fact type": ("  items: integer", "  items: int", None, "facts.items: Input should be", ""),
    "bad fact name": ("  country: string", "  Country: string", None, "not a fact name", ""),
    "reserved fact name": ("  country: string", "  id: string", None, "reserved", ""),
    "duplicate outcome": ("escalate, approve]", "escalate, reject]", None, "listed twice", ""),
    "default outcome unknown": (
        "default: {outcome: escalate",
        "default: {outcome: wait",
        None,
        "outcome 'wait' is not one of outcomes",
        "",
    ),
    "rule without outcome": (
        "    outcome: reject\n",
        "",
        "too-much",
        "rules[0].outcome: Field required",
        "  - id: too-much",
    ),
    "unknown key in a rule": (
        "    outcome: reject\n",
        "    outcome: reject\n    owner: me\n",
        "too-much",
        "rules[0].owner: Extra inputs",
        "owner: me",
    ),
    "bad operator": ("op: gt, value: 1000", "op: great, value: 1000", "too-much", "when.op: Input", ""),
    "bad condition shape": ("{fact: amount, op: gt, value: 1000}", "{fuct: x}", "too-much", "condition", ""),
    "unknown fact": ("{fact: amount, op: gt", "{fact: amout, op: gt", "too-much", "unknown fact 'amout'", ""),
    "unknown other fact": ("other: items", "other: itms", "small", "unknown fact 'itms'", ""),
    "value of the wrong type": (
        "op: gt, value: 1000",
        "op: gt, value: lots",
        "too-much",
        "value 'lots' does not fit amount (decimal)",
        "",
    ),
    "float for an integer": (
        "fact: amount, op: ge, other: items",
        "fact: items, op: ge, value: 2.5",
        "small",
        "value 2.5 does not fit items (integer)",
        "",
    ),
    "order operator on a string": (
        "{fact: country, op: in,",
        "{fact: country, op: lt,",
        "large",
        "operator lt compares numbers",
        "",
    ),
    "both value and other": (
        "op: gt, value: 1000}",
        "op: gt, value: 1000, other: items}",
        "too-much",
        "exactly one of value",
        "",
    ),
    "neither value nor other": ("op: gt, value: 1000}", "op: gt}", "too-much", "exactly one of value", ""),
    "between low above high": ("value: [100, 1000]", "value: [1000, 100]", "large", "low is above high", ""),
    "between with one value": ("value: [100, 1000]", "value: [100]", "large", "[low, high]", ""),
    "empty in list": ("value: [DE, FR]", "value: []", "large", "non-empty list", ""),
    "value too large for the engine": (
        "value: 1000}",
        "value: 1.0e+400}",
        "too-much",
        "value 1.0E+400 is too large for the engine",
        "",
    ),
    "too many alternatives": (
        "FR]}\n",
        "FR]}\n" + "        - {fact: items, op: in, value: [1, 2]}\n" * 8,
        "large",
        "512 alternatives",
        "      all:",
    ),
    "duplicate rule id": ("  - id: small", "  - id: large", "large", "used twice", "large\n    when: {not"),
    "reserved rule id": ("  - id: small", "  - id: default", "default", "reserved", ""),
    "bad rule id": ("  - id: small", "  - id: Small one", "Small one", "not a rule id", ""),
    "outcome not in outcomes": (
        "    outcome: reject",
        "    outcome: refuse",
        "too-much",
        "outcome 'refuse' is not one of outcomes",
        "",
    ),
    "role not in roles": ("    role: manager", "    role: boss", "large", "role 'boss' is not one", ""),
    "escalate without a role": ("    role: manager\n", "", "large", "needs a role", "  - id: large"),
    "unknown fact in a reason": ('"Small: {amount}"', '"Small: {amont}"', "small", "unknown fact {amo", ""),
    "malformed reason": ('"Small: {amount}"', '"Small: {amount"', "small", "reason template", ""),
    "formatted placeholder": ('"Small: {amount}"', '"Small: {amount:.2f}"', "small", "plain {fact}", ""),
    "words for an unknown fact": ("words: {country:", "words: {county:", None, "unknown fact 'county'", ""),
    "words for a fact not a string": (
        "words: {country: {DE: Germany}}",
        'words: {items: {"1": one}}',
        None,
        "words are for string facts, not items (integer)",
        "",
    ),
    "case facts missing one": (
        "country: DE, member: true}",
        "country: DE}",
        None,
        "case 'small is approved': missing fact 'member'",
        "",
    ),
    "case fact of the wrong type": ("items: 10,", "items: ten,", None, "fact 'items' must be an int", ""),
    "case expects an unknown rule": ("fired: [small]", "fired: [tiny]", None, "no rule 'tiny'", ""),
    "case expects an unknown role": (
        "role: null, fired",
        "role: owner, fired",
        None,
        "role 'owner' is not one of roles",
        "",
    ),
    "not named as its file": ("ruleset: shop", "ruleset: store", None, "named as its file, 'shop'", ""),
}


@pytest.mark.parametrize(("old", "new", "rule_id", "message", "marker"), BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_rule_file_is_refused_with_file_line_and_rule(
    tmp_path: Path, old: str, new: str, rule_id: str | None, message: str, marker: str
) -> None:
    assert VALID.count(old) == 1
    text = VALID.replace(old, new)
    line = text[: text.index(marker or new)].count("\n") + 1
    path = tmp_path / "shop.yaml"
    path.write_text(text)
    with pytest.raises(RuleFileError) as raised:
        load_ruleset(path)
    error = raised.value
    assert (error.file, error.line, error.rule_id) == (str(path), line, rule_id)
    assert str(error).startswith(f"{path}:{line}: " + (f"rule {rule_id!r}: " if rule_id else ""))
    assert message in str(error)


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(RuleFileError, match=r"shop.yaml:1: a rule file is a YAML mapping"):
        load_ruleset(path)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match=r"nothing.yaml: cannot read the rule file"):
        load_ruleset(tmp_path / "nothing.yaml")
