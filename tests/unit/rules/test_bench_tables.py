"""The rule sets written again by hand in bench/bench_rules.py (plain Python and zen-engine's tables are made
from them) decide exactly as the rule files do: when a rule file changes, its benchmark twin must change too."""

from __future__ import annotations

import pytest

from bench.bench_rules import DISCOUNT, REVIEW, Table
from rules.engine import get_ruleset


@pytest.mark.parametrize("table", [DISCOUNT, REVIEW], ids=lambda table: table.ruleset)
def test_the_benchmark_table_decides_as_the_rule_file(table: Table) -> None:
    facts = table.random_facts(3000, 11)
    decided = get_ruleset(table.ruleset).decide_many(facts)
    got = [(one.outcome, one.role, one.fired) for one in decided]
    want = [table.plain(one) for one in facts]
    wrong = [(index, g, w) for index, (g, w) in enumerate(zip(got, want, strict=True)) if g != w]
    assert not wrong, f"{len(wrong)} of {len(facts)} differ, first: {wrong[0]}"
    assert len({verdict[0] for verdict in want}) >= 3, "the random facts reach too few outcomes to tell"
