"""Decisions per second of the discount rule set, against plain Python and zen-engine, measured in one run.

    python bench/bench_rules.py [--n 100000] [--seed 7] [--million]

Generates N random discount fact sets (seeded; boundaries on purpose: exactly at the norm, 10 points
above it, at the ceiling) and decides them with RuleSet.decide (one engine session per decision),
RuleSet.decide_many (1000 per session), `plain_decide` (the same thresholds written as plain Python) and
zen-engine (pyproject's `bench` extra) evaluating the same thresholds as a JDM decision table, one call per
fact set and with its batch call. Prints each rate, its ratio to plain Python, and decide_many's ratio to
zen-engine's faster rate; fails if any decision disagrees. Rates are per second of this process's CPU
time (all its threads), so that other work on the machine skews them less. With --million, it also
decides a million fact sets with decide_many and prints the process's resident memory along the way.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from rules.engine import get_ruleset

Facts = dict[str, Any]
Verdict = tuple[str, str | None, list[str]]

CLASS_BONUS = {"A": Decimal(5), "B": Decimal("2.5"), "C": Decimal(0)}


def random_facts(n: int, seed: int) -> list[Facts]:
    """N discount fact sets as kamflow computes them; norms 5–30% by column (1–5) and class (A–C)."""
    rnd = random.Random(seed)
    sets = []
    for _ in range(n):
        customer_class = rnd.choice("ABC")
        column = rnd.randint(1, 5)
        norm = 5 * column + CLASS_BONUS[customer_class]
        anywhere = Decimal(rnd.randint(0, 4500)) / 100
        discount = rnd.choice([norm, norm + 10, Decimal(35), anywhere, anywhere.quantize(Decimal("0.1"))])
        overdue = Decimal(0) if rnd.random() < 0.7 else Decimal(rnd.randint(1, 500_000)) / 100
        sets.append(
            {
                "customer_class": customer_class,
                "price_column": column,
                "discount_pct": discount,
                "norm_pct": norm,
                "excess_pct": discount - norm,
                "promotion_active": rnd.random() < 0.15,
                "overdue_amount": overdue,
                "order_total": Decimal(rnd.randint(10_000, 50_000_000)) / 100,
            }
        )
    return sets


def plain_decide(facts: Facts) -> Verdict:
    """rules/discount.yaml written as plain Python: outcome, role and the ids of the rules that fire."""
    discount, norm = facts["discount_pct"], facts["norm_pct"]
    fired = [
        rule
        for rule, fires in (
            ("ceiling", discount > 35),
            ("far-above-norm", facts["excess_pct"] > 10),
            ("above-norm", discount > norm),
            ("promotion", facts["promotion_active"] and discount > 0),
            ("overdue", facts["overdue_amount"] > 0),
            ("within-norm", discount <= norm),
        )
        if fires
    ]
    return combine(fired)


def combine(fired: list[str]) -> Verdict:
    """The discount rule set's outcome and role for the rules that fired (reject beats escalate beats
    approve; the commercial director above the department head)."""
    if "ceiling" in fired:
        return "reject", None, fired
    if "far-above-norm" in fired:
        return "escalate", "commercial_director", fired
    if fired != ["within-norm"]:
        return "escalate", "department_head", fired
    return "approve", None, fired


ZEN_RULES = [  # rule id, then a unary test per input column ("" for any), as in rules/discount.yaml
    ("ceiling", {"discount_pct": "> 35"}),
    ("far-above-norm", {"excess_pct": "> 10"}),
    ("above-norm", {"discount_pct": "> norm_pct"}),
    ("promotion", {"promotion_active": "true", "discount_pct": "> 0"}),
    ("overdue", {"overdue_amount": "> 0"}),
    ("within-norm", {"discount_pct": "<= norm_pct"}),
]
ZEN_INPUTS = ["discount_pct", "excess_pct", "promotion_active", "overdue_amount"]


def zen_decision_table() -> dict[str, Any]:
    """The discount thresholds as a JSON Decision Model: one decision table, hit policy `collect`, a row
    per rule, giving the ids of the rules that match in table order."""
    rows = [
        {"_id": rule, "rule": f"'{rule}'", **{i: tests.get(i, "") for i in ZEN_INPUTS}}
        for rule, tests in ZEN_RULES
    ]
    table = {
        "hitPolicy": "collect",
        "inputs": [{"id": name, "name": name, "field": name} for name in ZEN_INPUTS],
        "outputs": [{"id": "rule", "name": "rule", "field": "rule"}],
        "rules": rows,
    }
    at = {"x": 0, "y": 0}
    return {
        "nodes": [
            {"id": "in", "type": "inputNode", "name": "facts", "position": at},
            {"id": "table", "type": "decisionTableNode", "name": "discount", "position": at, "content": table},
            {"id": "out", "type": "outputNode", "name": "decision", "position": at},
        ],
        "edges": [
            {"id": "in-table", "sourceId": "in", "targetId": "table", "type": "edge"},
            {"id": "table-out", "sourceId": "table", "targetId": "out", "type": "edge"},
        ],
    }


def zen_context(facts: Facts) -> dict[str, Any]:
    """zen-engine takes no Decimal: numbers go in as floats."""
    return {name: float(value) if type(value) is Decimal else value for name, value in facts.items()}


def zen_deciders() -> tuple[Callable[[list[Facts]], list[Verdict]], Callable[[list[Facts]], list[Verdict]]]:
    """zen-engine deciding the same thresholds: one `evaluate` per fact set, and `evaluate_batch`."""
    try:
        import zen
    except ImportError:
        raise SystemExit("zen-engine is missing: pip install -e '.[bench]' (zen-engine==2.1.3)") from None
    model = zen_decision_table()
    one = zen.ZenEngine().create_decision(json.dumps(model))
    engine = zen.ZenEngine({"loader": {"type": "static", "content": {"discount": model}}})

    def verdict(result: Any) -> Verdict:  # zen's rows: {"rule": ...}
        return combine([row["rule"] for row in result])

    def single(facts: list[Facts]) -> list[Verdict]:
        return [verdict(one.evaluate(zen_context(f))["result"]) for f in facts]

    def batch(facts: list[Facts]) -> list[Verdict]:
        answers = engine.evaluate_batch([{"key": "discount", "context": zen_context(f)} for f in facts])
        return [verdict(answer["data"]["result"]) for answer in answers]

    return single, batch


def rate(n: int, work: Callable[[], Sequence[Any]]) -> tuple[float, list[Verdict]]:
    """Decisions per second of `work`, and its verdicts (the decisions themselves are let go, so that the
    next measurement does not pay for collecting garbage around them)."""
    start = time.process_time()
    results = work()
    per_second = n / (time.process_time() - start)
    return per_second, [r if isinstance(r, tuple) else (r.outcome, r.role, r.fired) for r in results]


def resident_mb() -> float:
    """This process's resident memory (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def million(facts: list[Facts]) -> None:
    """Decide a million fact sets in batches of len(facts), printing resident memory as it goes."""
    ruleset = get_ruleset("discount")
    rounds = 1_000_000 // len(facts)
    print(f"1M decisions, decide_many of {len(facts)} x {rounds}; resident memory:")
    print(f"  before            {resident_mb():8.1f} MB")
    start = time.process_time()
    for round_ in range(1, rounds + 1):
        ruleset.decide_many(facts)
        if round_ in (1, rounds // 10, rounds // 2, rounds):
            print(f"  after {round_ * len(facts):>9,}   {resident_mb():8.1f} MB")
    print(f"  {rounds * len(facts) / (time.process_time() - start):,.0f} decisions/s over the million")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=100_000, help="fact sets to decide")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--million", action="store_true", help="also decide 1M fact sets and print memory")
    args = parser.parse_args()
    facts = random_facts(args.n, args.seed)
    ruleset = get_ruleset("discount")
    zen_single, zen_batch = zen_deciders()

    runs = {
        "plain Python": rate(args.n, lambda: [plain_decide(one) for one in facts]),
        "RuleSet.decide": rate(args.n, lambda: [ruleset.decide(one) for one in facts]),
        "RuleSet.decide_many": rate(args.n, lambda: ruleset.decide_many(facts)),
        "zen-engine evaluate": rate(args.n, lambda: zen_single(facts)),
        "zen-engine batch": rate(args.n, lambda: zen_batch(facts)),
    }
    plain = runs["plain Python"][0]
    print(f"discount rule set, {args.n} random fact sets (seed {args.seed}), version {ruleset.version[:12]}")
    for label, (measured, _) in runs.items():
        print(f"  {label:<22}{measured:>12,.0f} decisions/s   {measured / plain:.3f} x plain")
    zen = max(runs["zen-engine evaluate"][0], runs["zen-engine batch"][0])
    print(f"  decide_many / zen-engine (its faster way): {runs['RuleSet.decide_many'][0] / zen:.2f}")
    expected = runs["plain Python"][1]
    wrong = {
        label: sum(got != want for got, want in zip(verdicts, expected, strict=True))
        for label, (_, verdicts) in runs.items()
    }
    if any(wrong.values()):
        raise SystemExit(f"decisions that disagree with plain Python: {wrong}")
    if args.million:
        million(facts[:10_000])


if __name__ == "__main__":
    main()
