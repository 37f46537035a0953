"""A rule set's own cases, run: what each gave against what it expects, and the rules no case fires."""

from __future__ import annotations

from dataclasses import dataclass

from rules.engine import Case, Decision, RuleSet


@dataclass(frozen=True)
class CaseResult:
    case: Case
    decision: Decision

    @property
    def passed(self) -> bool:
        expect = self.case.expect
        return (self.decision.outcome, self.decision.role, self.decision.fired) == (
            expect.outcome,
            expect.role,
            expect.fired,
        )


@dataclass(frozen=True)
class CaseReport:
    ruleset: RuleSet
    results: list[CaseResult]
    uncovered: list[str]
    """Ids of the rules that no case fires, in listing order."""

    @property
    def failed(self) -> list[CaseResult]:
        return [result for result in self.results if not result.passed]


def run_cases(ruleset: RuleSet) -> CaseReport:
    """Decide every case of the rule set (in one batch) and compare with what the case expects."""
    decisions = ruleset.decide_many([case.facts for case in ruleset.cases])
    fired = {rule for decision in decisions for rule in decision.fired}
    return CaseReport(
        ruleset=ruleset,
        results=[CaseResult(case, decision) for case, decision in zip(ruleset.cases, decisions, strict=True)],
        uncovered=[rule.id for rule in ruleset.listed if rule.id not in fired],
    )
