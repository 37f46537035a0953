"""The condition language of rule files, and its compilation to durable-rules' JSON expressions.

A condition is a comparison `{fact, op, value | other}` or a combination `{all: [...]}`,
`{any: [...]}`, `{not: ...}`. durable-rules has no `not`, so negation is pushed down to the comparisons
(De Morgan; `not lt` is `ge`, `not in` is every `ne`). Numbers go to the engine as floats: it compares
doubles.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

Op = Literal["eq", "ne", "lt", "le", "gt", "ge", "between", "in", "not_in"]
Expression = dict[str, Any]

DECIMALS: frozenset[str] = frozenset({"decimal", "money"})
"""The fact types holding a Decimal: `money` is a `decimal` in every way but how reasons print it (1,250.40)."""
NUMERIC: frozenset[str] = DECIMALS | {"integer"}
ORDER_OPS: frozenset[str] = frozenset({"lt", "le", "gt", "ge", "between"})
LIST_OPS: frozenset[str] = frozenset({"in", "not_in"})

_DURABLE_OPS = {"ne": "$neq", "lt": "$lt", "le": "$lte", "gt": "$gt", "ge": "$gte"}
_NEGATED = {"eq": "ne", "ne": "eq", "lt": "ge", "le": "gt", "gt": "le", "ge": "lt"}


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Leaf(StrictModel):
    fact: str
    op: Op
    value: Any = None
    other: str | None = None


class AllOf(StrictModel):
    all: list[Condition] = Field(min_length=1)


class AnyOf(StrictModel):
    any: list[Condition] = Field(min_length=1)


class Not(StrictModel):
    not_: Condition = Field(alias="not")


def _condition_kind(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    return next((key for key in ("all", "any", "not") if key in value), "leaf" if "fact" in value else None)


Condition = Annotated[
    Annotated[Leaf, Tag("leaf")]
    | Annotated[AllOf, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[Not, Tag("not")],
    Discriminator(
        _condition_kind,
        custom_error_type="condition",
        custom_error_message="a condition is {fact, op, value|other}, {all: [..]}, {any: [..]} or {not: ..}",
    ),
]


def compile_condition(
    condition: Leaf | AllOf | AnyOf | Not,
    fact_types: Mapping[str, str],
    names: Mapping[str, str] | None = None,
    negate: bool = False,
) -> Expression:
    """The durable-rules expression (inside `{"m": ...}`) true exactly when the condition is (or is not), each
    fact under its name in `names` (default: its own)."""
    if isinstance(condition, Not):
        return compile_condition(condition.not_, fact_types, names, not negate)
    if isinstance(condition, AllOf | AnyOf):
        parts = condition.all if isinstance(condition, AllOf) else condition.any
        compiled = [compile_condition(part, fact_types, names, negate) for part in parts]
        return _join("$and" if isinstance(condition, AllOf) != negate else "$or", compiled)
    fact_type = fact_types[condition.fact]
    if names is not None:
        other = condition.other and names[condition.other]
        condition = condition.model_copy(update={"fact": names[condition.fact], "other": other})
    return _leaf(condition, fact_type, negate)


def facts_in(condition: Leaf | AllOf | AnyOf | Not) -> set[str]:
    """The facts a condition reads."""
    if isinstance(condition, Not):
        return facts_in(condition.not_)
    if isinstance(condition, AllOf | AnyOf):
        parts = condition.all if isinstance(condition, AllOf) else condition.any
        return set().union(*(facts_in(part) for part in parts))
    return {condition.fact} if condition.other is None else {condition.fact, condition.other}


def alternatives(expression: Expression) -> int:
    """How many alternatives durable-rules expands an expression into (its `$or`s multiplied out).
    Each is a path in its network, and a fact matching several fires the rule once per path."""
    if "$or" in expression:
        return sum(alternatives(part) for part in expression["$or"])
    if "$and" in expression:
        return math.prod(alternatives(part) for part in expression["$and"])
    return 1


def _leaf(leaf: Leaf, fact_type: str, negate: bool) -> Expression:
    if leaf.other is not None:
        return _compare(leaf.fact, _NEGATED[leaf.op] if negate else leaf.op, {"$m": leaf.other})
    if leaf.op == "between":
        low, high = (_engine_value(fact_type, value) for value in leaf.value)
        if negate:
            return _join("$or", [_compare(leaf.fact, "lt", low), _compare(leaf.fact, "gt", high)])
        return _join("$and", [_compare(leaf.fact, "ge", low), _compare(leaf.fact, "le", high)])
    if leaf.op in LIST_OPS:
        values = [_engine_value(fact_type, value) for value in leaf.value]
        equal = (leaf.op == "in") != negate
        compared = [_compare(leaf.fact, "eq" if equal else "ne", value) for value in values]
        return _join("$or" if equal else "$and", compared)
    return _compare(leaf.fact, _NEGATED[leaf.op] if negate else leaf.op, _engine_value(fact_type, leaf.value))


def _compare(fact: str, op: str, operand: Any) -> Expression:
    return {fact: operand} if op == "eq" else {_DURABLE_OPS[op]: {fact: operand}}


def _join(op: str, parts: list[Expression]) -> Expression:
    return parts[0] if len(parts) == 1 else {op: parts}


def _engine_value(fact_type: str, value: Any) -> Any:
    return float(value) if fact_type in NUMERIC else value


def engine_number(value: int | Decimal | float) -> str:
    """A number as JSON durable-rules reads (it compares doubles): Python writes 1e-05, the engine needs 1.0e-05.
    ValueError if the number is too large for a double."""
    try:
        text = repr(float(value))
    except OverflowError:
        text = "inf"
    if "n" in text:  # inf or nan (a nan Decimal never gets here: no fact type takes it)
        raise ValueError(f"{value} is too large for the engine")
    if "e" in text and "." not in text:
        text = text.replace("e", ".0e")
    return text
