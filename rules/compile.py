"""Conditions of a checked rule file compiled to durable-rules' JSON expressions.

durable-rules has no `not`, so negation is pushed down to the comparisons (De Morgan; `not lt` is `ge`,
`not in` is every `ne`). Numbers go to the engine as floats: the engine compares doubles.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rules.spec import NUMERIC, AllOf, AnyOf, Leaf, Not

Expression = dict[str, Any]

_DURABLE_OPS = {"ne": "$neq", "lt": "$lt", "le": "$lte", "gt": "$gt", "ge": "$gte"}
_NEGATED = {"eq": "ne", "ne": "eq", "lt": "ge", "le": "gt", "gt": "le", "ge": "lt"}


def compile_condition(
    condition: Leaf | AllOf | AnyOf | Not, fact_types: dict[str, str], negate: bool = False
) -> Expression:
    """The durable-rules expression (inside `{"m": ...}`) true exactly when the condition is (or is not)."""
    if isinstance(condition, Not):
        return compile_condition(condition.not_, fact_types, not negate)
    if isinstance(condition, AllOf | AnyOf):
        parts = condition.all if isinstance(condition, AllOf) else condition.any
        compiled = [compile_condition(part, fact_types, negate) for part in parts]
        return _join("$and" if isinstance(condition, AllOf) != negate else "$or", compiled)
    return _leaf(condition, fact_types[condition.fact], negate)


def _leaf(leaf: Leaf, fact_type: str, negate: bool) -> Expression:
    if leaf.other is not None:
        return _compare(leaf.fact, _NEGATED[leaf.op] if negate else leaf.op, {"$m": leaf.other})
    if leaf.op == "between":
        low, high = (_engine_value(fact_type, value) for value in leaf.value)
        if negate:
            return _join("$or", [_compare(leaf.fact, "lt", low), _compare(leaf.fact, "gt", high)])
        return _join("$and", [_compare(leaf.fact, "ge", low), _compare(leaf.fact, "le", high)])
    if leaf.op in ("in", "not_in"):
        values = [_engine_value(fact_type, value) for value in leaf.value]
        equal = (leaf.op == "in") != negate
        return _join(
            "$or" if equal else "$and", [_compare(leaf.fact, "eq" if equal else "ne", v) for v in values]
        )
    return _compare(leaf.fact, _NEGATED[leaf.op] if negate else leaf.op, _engine_value(fact_type, leaf.value))


def _compare(fact: str, op: str, operand: Any) -> Expression:
    return {fact: operand} if op == "eq" else {_DURABLE_OPS[op]: {fact: operand}}


def _join(op: str, parts: list[Expression]) -> Expression:
    return parts[0] if len(parts) == 1 else {op: parts}


def _engine_value(fact_type: str, value: Any) -> Any:
    return float(value) if fact_type in NUMERIC else value


def engine_number(value: int | Decimal) -> str:
    """A number as JSON durable-rules reads: Python writes 1e-05, the engine needs 1.0e-05."""
    try:
        text = repr(float(value))
    except OverflowError:
        text = "inf"
    if text in ("inf", "-inf"):
        raise ValueError(f"{value} is too large for the engine")
    return text.replace("e", ".0e") if "e" in text and "." not in text else text
