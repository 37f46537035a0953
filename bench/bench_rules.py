"""Decisions per second of two rule sets, against plain Python and zen-engine's fastest path, in one run.

    python bench/bench_rules.py [--n 100000] [--seed 7] [--million]

For the discount rule set (rules/discount.yaml) and the nightly review's (rules/credit_review.yaml), generates
N random fact sets (seeded; boundaries on purpose: exactly at a threshold, just above it) and decides them with
RuleSet.decide (one engine session per decision), RuleSet.decide_many (1000 per session), the rules written
again as plain Python (`Table`), and zen-engine (pyproject's `bench` extra) evaluating them as a JDM decision
table (hit policy `collect`, a row per rule) by every path its Python API has:

- `ZenEngine().create_decision(json).evaluate(context)`, one call per fact set;
- `ZenEngine(loader).evaluate_batch(requests)`, all fact sets in one call (spread over its threads);
- `ZenEngine({"loader": {"type": "static", ...}}).evaluate(key, context)`, a loader with static content;
- `ZenEngine({"loader": lambda key: content}).evaluate(key, context)` with `content` a precompiled
  `ZenDecisionContent` (when the installed zen-engine has it), which zen's Python docs recommend for optimal
  performance.

decide_many is compared with the fastest of these, whichever it is in the run (the loader paths, 70k-90k/s
here; ARCHITECTURE.md, "Known sharp edges"): the line says which path and the ratio. zen-engine takes no
Decimal, so its contexts (Decimals as floats) are made before its clock starts, while decide_many's time
includes reading the Decimals: if anything, zen is favoured. Fails if any decision disagrees with plain
Python. Rates are per second of this process's CPU time (all its threads), so that other work on the machine
skews them less. With --million, it also decides a million discount fact sets with decide_many and prints the
process's resident memory along the way.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from rules.engine import get_ruleset

Facts = dict[str, Any]
Verdict = tuple[str, str | None, list[str]]
Decider = Callable[[list[Facts]], list[Verdict]]


@dataclass(frozen=True)
class Table:
    """A rule set written again by hand, to check it against: `fired` (its conditions in plain Python, giving
    the ids of the rules that fire in listing order), each rule's outcome, role and zen-engine unary tests (one
    per input column), the outcomes in precedence, the roles in ascending authority and the default."""

    ruleset: str
    fired: Callable[[Facts], list[str]]
    rules: dict[str, tuple[str, str | None, dict[str, str]]]
    outcomes: tuple[str, ...]
    roles: tuple[str, ...]
    default: tuple[str, str | None]
    random_facts: Callable[[int, int], list[Facts]]

    def plain(self, facts: Facts) -> Verdict:
        return self.combine(self.fired(facts))

    def combine(self, fired: list[str]) -> Verdict:
        """Outcome, role and rule ids of the rules that fired: the first outcome in precedence, the highest
        role among the rules with that outcome."""
        if not fired:
            return (*self.default, ["default"])
        outcome = min((self.rules[rule][0] for rule in fired), key=self.outcomes.index)
        roles = [role for rule in fired for out, role, _ in [self.rules[rule]] if out == outcome and role]
        return outcome, max(roles, key=self.roles.index) if roles else None, fired

    def zen_model(self) -> dict[str, Any]:
        """The rules as a JSON Decision Model: one decision table, hit policy `collect`, a row per rule, giving
        the ids of the rules that match in table order."""
        inputs = list(dict.fromkeys(column for _, _, tests in self.rules.values() for column in tests))
        ids = {column: f"c{k}" for k, column in enumerate(inputs)}  # a column may be an expression over facts
        rows = [
            {"_id": rule, "rule": f"'{rule}'", **{ids[column]: tests.get(column, "") for column in inputs}}
            for rule, (_, _, tests) in self.rules.items()
        ]
        table = {
            "hitPolicy": "collect",
            "inputs": [{"id": ids[column], "name": column, "field": column} for column in inputs],
            "outputs": [{"id": "rule", "name": "rule", "field": "rule"}],
            "rules": rows,
        }
        at = {"x": 0, "y": 0}
        return {
            "nodes": [
                {"id": "in", "type": "inputNode", "name": "facts", "position": at},
                {
                    "id": "table",
                    "type": "decisionTableNode",
                    "name": self.ruleset,
                    "position": at,
                    "content": table,
                },
                {"id": "out", "type": "outputNode", "name": "decision", "position": at},
            ],
            "edges": [
                {"id": "in-table", "sourceId": "in", "targetId": "table", "type": "edge"},
                {"id": "table-out", "sourceId": "table", "targetId": "out", "type": "edge"},
            ],
        }


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


def discount_fired(facts: Facts) -> list[str]:
    """rules/discount.yaml's conditions as plain Python: the ids of the rules that fire, in listing order."""
    discount, norm = facts["discount_pct"], facts["norm_pct"]
    return [
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


DISCOUNT = Table(
    ruleset="discount",
    fired=discount_fired,
    rules={
        "ceiling": ("reject", None, {"discount_pct": "> 35"}),
        "far-above-norm": ("escalate", "commercial_director", {"excess_pct": "> 10"}),
        "above-norm": ("escalate", "department_head", {"discount_pct": "> norm_pct"}),
        "promotion": ("escalate", "department_head", {"promotion_active": "true", "discount_pct": "> 0"}),
        "overdue": ("escalate", "department_head", {"overdue_amount": "> 0"}),
        "within-norm": ("approve", None, {"discount_pct": "<= norm_pct"}),
    },
    outcomes=("reject", "escalate", "approve"),
    roles=("department_head", "commercial_director", "director"),
    default=("escalate", "department_head"),
    random_facts=random_facts,
)


def plain_decide(facts: Facts) -> Verdict:
    """rules/discount.yaml written as plain Python: outcome, role and the ids of the rules that fire."""
    return DISCOUNT.plain(facts)


CHANNELS = ("none", "kam_call", "letter", "stop_shipments", "legal")
"""The dunning channel of each level (0: none), as kamflow/review/dunning.yaml has them."""


def random_review_facts(n: int, seed: int) -> list[Facts]:
    """N fact sets of the nightly review (rules/credit_review.yaml's facts), with its thresholds hit exactly
    and just missed: utilisation 100 and 85.01, payment days 3, a change of 15 days, a serious share of 25%; a
    tenth without a limit set, and some with a limit of 0 (no credit)."""
    rnd = random.Random(seed)
    cent = Decimal("0.01")

    def pick(*boundaries: Decimal, low: int, high: int) -> Decimal:
        return rnd.choice([*boundaries, Decimal(rnd.randint(low, high)) / 100])

    sets = []
    for _ in range(n):
        has_limit = rnd.random() >= 0.1
        limit = Decimal(rnd.randint(0, 500) * 1000) if has_limit else Decimal(0)
        utilisation = (
            pick(Decimal(100), Decimal("85.01"), Decimal(85), low=0, high=15_000) if limit else Decimal(0)
        )
        exposure = (limit * utilisation / 100).quantize(cent) if limit else Decimal(rnd.randint(0, 900_000))
        overdue = Decimal(0) if rnd.random() < 0.5 else (exposure * rnd.randint(1, 100) / 100).quantize(cent)
        level = rnd.randint(0, 4) if overdue else 0
        promise_active = rnd.random() < 0.2
        sets.append(
            {
                "customer_class": rnd.choice("ABC"),
                "overdue_amount": overdue,
                "oldest_overdue_days": rnd.randint(1, 200) if overdue else 0,
                "serious_overdue_amount": (
                    overdue * rnd.choice([Decimal(0), Decimal("0.5"), Decimal(1)])
                ).quantize(cent),
                "serious_overdue_days": 60,
                "serious_overdue_share_pct": pick(Decimal(25), Decimal("25.01"), low=0, high=10_000),
                "exposure": exposure,
                "has_limit": has_limit,
                "credit_limit": limit,
                "utilisation_pct": utilisation,
                "payment_days": pick(Decimal(3), Decimal("3.01"), low=-500, high=6_000),
                "payment_days_change": pick(Decimal(15), Decimal("15.01"), Decimal(0), low=-2_000, high=3_000),
                "dunning_level": level,
                "level_raised": level > 0 and rnd.random() < 0.4,
                "dunning_channel": CHANNELS[level],
                "promise_active": promise_active,
                "promise_broken": not promise_active and rnd.random() < 0.05,
                "altman_zone": rnd.choice(["safe", "grey", "distress", "none"]),
            }
        )
    return sets


def review_fired(facts: Facts) -> list[str]:
    """rules/credit_review.yaml's conditions as plain Python: the ids of the rules that fire, in file order."""
    utilisation, overdue, raised = facts["utilisation_pct"], facts["overdue_amount"], facts["level_raised"]
    return [
        rule
        for rule, fires in (
            ("dunning-level", raised),
            ("stop-shipments", facts["dunning_channel"] in CHANNELS[3:] and not facts["promise_active"]),
            ("over-limit", facts["has_limit"] and facts["exposure"] > facts["credit_limit"]),
            (
                "good-payer-near-limit",
                Decimal("85.01") <= utilisation <= 100 and overdue == 0 and facts["payment_days"] <= 3,
            ),
            ("paying-later", facts["payment_days_change"] > 15),
            ("distress-with-overdue", facts["altman_zone"] == "distress" and overdue > 0),
            (
                "key-account-serious-overdue",
                facts["customer_class"] == "A" and facts["serious_overdue_share_pct"] > 25,
            ),
            ("broken-promise", facts["promise_broken"]),
            ("legal-action", raised and facts["dunning_channel"] == "legal"),
        )
        if fires
    ]


REVIEW = Table(
    ruleset="credit_review",
    fired=review_fired,
    rules={
        "dunning-level": ("dunning", None, {"level_raised": "true"}),
        "stop-shipments": (
            "block_orders",
            None,
            {"dunning_channel": '"stop_shipments", "legal"', "promise_active": "false"},
        ),
        "over-limit": ("propose_limit_change", None, {"has_limit": "true", "exposure - credit_limit": "> 0"}),
        "good-payer-near-limit": (
            "propose_limit_change",
            None,
            {"utilisation_pct": "[85.01..100]", "overdue_amount": "0", "payment_days": "<= 3"},
        ),
        "paying-later": ("propose_limit_change", None, {"payment_days_change": "> 15"}),
        "distress-with-overdue": (
            "propose_limit_change",
            None,
            {"altman_zone": '"distress"', "overdue_amount": "> 0"},
        ),
        "key-account-serious-overdue": (
            "escalate",
            "department_head",
            {"customer_class": '"A"', "serious_overdue_share_pct": "> 25"},
        ),
        "broken-promise": ("escalate", "department_head", {"promise_broken": "true"}),
        "legal-action": ("escalate", "department_head", {"level_raised": "true", "dunning_channel": '"legal"'}),
    },
    outcomes=("escalate", "block_orders", "propose_limit_change", "dunning", "none"),
    roles=("department_head",),
    default=("none", None),
    random_facts=random_review_facts,
)


def zen_context(facts: Facts) -> dict[str, Any]:
    """zen-engine takes no Decimal: numbers go in as floats."""
    return {name: float(value) if type(value) is Decimal else value for name, value in facts.items()}


def zen_paths(table: Table) -> dict[str, Callable[[list[dict[str, Any]]], list[Verdict]]]:
    """zen-engine deciding the table by each path its Python API has, from contexts made by zen_context."""
    try:
        import zen
    except ImportError:
        raise SystemExit("zen-engine is missing: pip install -e '.[bench]' (zen-engine==2.1.3)") from None
    model = table.zen_model()
    text = json.dumps(model)
    key = table.ruleset

    def verdict(result: Any) -> Verdict:  # zen's rows: {"rule": ...}
        return table.combine([row["rule"] for row in result])

    def one_by_one(evaluate: Callable[[dict[str, Any]], Any]) -> Callable[[list[dict[str, Any]]], list[Verdict]]:
        return lambda contexts: [verdict(evaluate(context)["result"]) for context in contexts]

    static = zen.ZenEngine({"loader": {"type": "static", "content": {key: model}}})

    def batch(contexts: list[dict[str, Any]]) -> list[Verdict]:
        answers = static.evaluate_batch([{"key": key, "context": context} for context in contexts])
        return [verdict(answer["data"]["result"]) for answer in answers]

    paths = {
        "create_decision.evaluate": one_by_one(zen.ZenEngine().create_decision(text).evaluate),
        "evaluate_batch": batch,
        "ZenEngine static loader": one_by_one(partial(static.evaluate, key)),
    }
    if hasattr(zen, "ZenDecisionContent"):
        content = zen.ZenDecisionContent(text)
        compiled = zen.ZenEngine({"loader": lambda _: content})
        paths["ZenEngine ZenDecisionContent"] = one_by_one(partial(compiled.evaluate, key))
    return paths


def rate(n: int, work: Callable[[], Sequence[Any]]) -> tuple[float, list[Verdict]]:
    """Decisions per second of `work`, and its verdicts (the decisions themselves are let go, so that the
    next measurement does not pay for collecting garbage around them)."""
    start = time.process_time()
    results = work()
    per_second = n / (time.process_time() - start)
    return per_second, [r if isinstance(r, tuple) else (r.outcome, r.role, r.fired) for r in results]


def compare(table: Table, n: int, seed: int) -> None:
    """Decide N random fact sets of the table's rule set every way; print each rate, and decide_many's ratio to
    zen-engine's fastest path; SystemExit if any decision disagrees with plain Python."""
    facts = table.random_facts(n, seed)
    ruleset = get_ruleset(table.ruleset)
    contexts = [zen_context(one) for one in facts]
    runs = {
        "plain Python": rate(n, lambda: [table.plain(one) for one in facts]),
        "RuleSet.decide": rate(n, lambda: [ruleset.decide(one) for one in facts]),
        "RuleSet.decide_many": rate(n, lambda: ruleset.decide_many(facts)),
    }
    zen = {f"zen {label}": rate(n, partial(decide, contexts)) for label, decide in zen_paths(table).items()}
    runs |= zen
    plain = runs["plain Python"][0]
    print(f"{table.ruleset} rule set, {n} random fact sets (seed {seed}), version {ruleset.version[:12]}")
    for label, (measured, _) in runs.items():
        print(f"  {label:<34}{measured:>12,.0f} decisions/s   {measured / plain:.3f} x plain")
    fastest = max(zen, key=lambda label: zen[label][0])
    ratio = runs["RuleSet.decide_many"][0] / zen[fastest][0]
    print(f"  decide_many / zen-engine's fastest ({fastest}): {ratio:.2f}")
    expected = runs["plain Python"][1]
    wrong = {
        label: sum(got != want for got, want in zip(verdicts, expected, strict=True))
        for label, (_, verdicts) in runs.items()
    }
    if any(wrong.values()):
        raise SystemExit(f"{table.ruleset}: decisions that disagree with plain Python: {wrong}")


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
    for table in (DISCOUNT, REVIEW):
        compare(table, args.n, args.seed)
    if args.million:
        million(random_facts(10_000, args.seed))


if __name__ == "__main__":
    main()
