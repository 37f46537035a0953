"""rules.driver: durable-rules' C engine freed and failing as it should."""

from __future__ import annotations

import gc

import durable_rules_engine
import pytest

from bench.bench_rules import plain_decide, random_facts
from rules import driver
from rules.engine import RULES_DIR, load_ruleset
from tests.unit.rules.test_decisions import verdicts


def test_a_rule_set_no_longer_used_is_freed_in_the_engine_at_the_next_load() -> None:
    ruleset = load_ruleset(RULES_DIR / "discount.yaml")
    handle = ruleset._engine._handle
    del ruleset
    gc.collect()
    assert handle in driver._collected
    kept = load_ruleset(RULES_DIR / "discount.yaml")
    assert driver._collected == []
    assert kept.decide(kept.cases[0].facts).outcome == kept.cases[0].expect.outcome


def test_an_engine_failure_is_raised_and_the_rule_set_decides_on(monkeypatch: pytest.MonkeyPatch) -> None:
    ruleset = load_ruleset(RULES_DIR / "discount.yaml")
    facts = random_facts(50, 1)

    def broken(handle: int, state: int) -> str:
        raise durable_rules_engine.error("broken engine")

    monkeypatch.setattr(durable_rules_engine, "complete_and_start_action", broken)
    with pytest.raises(RuntimeError, match="durable-rules failed: broken engine"):
        ruleset.decide(facts[0])
    with pytest.raises(RuntimeError, match="broken engine"):
        ruleset.decide_many(facts)
    monkeypatch.undo()
    assert verdicts(ruleset.decide_many(facts)) == [plain_decide(one) for one in facts]


def test_a_large_batch_hands_its_objects_to_the_oldest_generation_and_a_paused_collector_stays_paused() -> None:
    ruleset = load_ruleset(RULES_DIR / "discount.yaml")
    decisions = ruleset.decide_many(random_facts(20_000, 2))
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    oldest = {id(each) for each in gc.get_objects(generation=2)}
    assert id(decisions[0]) in oldest and id(decisions[-1].reasons[0]) in oldest
    gc.disable()
    try:
        ruleset.decide_many(random_facts(20_000, 3))
        assert not gc.isenabled()
    finally:
        gc.enable()
