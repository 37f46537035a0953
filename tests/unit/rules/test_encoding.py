"""rules.encoding: fact values as the engine reads them."""

from __future__ import annotations

import random
from decimal import Decimal

from rules import encoding
from rules.engine import load_ruleset_text


def test_the_engine_reads_short_decimals_as_their_floats() -> None:
    """Decimals of one fact all Decimal and short go to the engine as their own strings; mixed with an int
    they go as float(): the engine must read both the same (up to 15 significant digits)."""
    ruleset = load_ruleset_text(
        """\
ruleset: reading
facts: {as_text: decimal, as_float: decimal}
outcomes: [ok]
default: {outcome: ok, reason: "same"}
rules:
  - {id: differ, when: {fact: as_text, op: ne, other: as_float}, outcome: ok, reason: "{as_text} {as_float}"}
""",
        "reading.yaml",
    )
    rnd = random.Random(11)
    values = [
        Decimal(rnd.randint(-(10 ** rnd.randint(1, 15)), 10 ** rnd.randint(1, 15))).scaleb(-rnd.randint(0, 12))
        for _ in range(20_000)
    ]
    values = [value for value in values if "E" not in str(value) and len(str(value)) <= encoding.SHORT_DECIMAL]
    facts = [{"as_text": value, "as_float": value} for value in values] + [{"as_text": Decimal(1), "as_float": 1}]
    assert [decision.fired for decision in ruleset.decide_many(facts)] == [["default"]] * len(facts)
