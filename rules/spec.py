"""The rule-file format: YAML read with line numbers, checked with pydantic, every error located.

`parse_rule_file(text, source)` returns a `RuleFile` whose every name, value and template has been
checked against the declared facts, or raises `RuleFileError` naming the file, the line and the rule.
The format itself is described in rules/README.md.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, NoReturn

import yaml
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError

FactType = Literal["decimal", "integer", "string", "boolean"]
Op = Literal["eq", "ne", "lt", "le", "gt", "ge", "between", "in", "not_in"]
Path = tuple[str | int, ...]

NUMERIC: frozenset[str] = frozenset({"decimal", "integer"})
ORDER_OPS: frozenset[str] = frozenset({"lt", "le", "gt", "ge", "between"})
LIST_OPS: frozenset[str] = frozenset({"in", "not_in"})
DEFAULT_RULE_ID = "default"
ESCALATE = "escalate"
# durable-rules parses neither `1e-05` nor `1e+16` (error 204), and Python writes floats outside this range
# that way; rule values must lie inside it (facts are written by rules.engine, which has no such limit).
ENGINE_MIN, ENGINE_MAX = Decimal("0.0001"), Decimal("1e15")

NAME = re.compile(r"[a-z][a-z0-9_]*")
_RULE_ID = re.compile(r"[a-z0-9][a-z0-9_.-]*")
_RESERVED_FACTS = frozenset({"id", "sid"})


class RuleFileError(Exception):
    """A rule file that cannot be used, located by file, line and rule id."""

    def __init__(self, file: str, line: int | None, rule_id: str | None, message: str) -> None:
        self.file, self.line, self.rule_id, self.message = file, line, rule_id, message
        where = file if line is None else f"{file}:{line}"
        rule = f" rule {rule_id!r}:" if rule_id else ""
        super().__init__(f"{where}:{rule} {message}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Leaf(_Model):
    fact: str
    op: Op
    value: Any = None
    other: str | None = None


class AllOf(_Model):
    all: list[Condition] = Field(min_length=1)


class AnyOf(_Model):
    any: list[Condition] = Field(min_length=1)


class Not(_Model):
    not_: Condition = Field(alias="not")


def _condition_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return next(
            (key for key in ("all", "any", "not") if key in value), "leaf" if "fact" in value else None
        )
    return None


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


class Rule(_Model):
    id: str
    description: str = ""
    priority: int | None = None
    when: Condition
    outcome: str
    role: str | None = None
    reason: str


class Default(_Model):
    outcome: str
    role: str | None = None
    reason: str


class Expect(_Model):
    outcome: str
    role: str | None
    fired: list[str]


class Case(_Model):
    """A test case carried in the rule file: these facts must give this outcome, role and fired rules."""

    name: str
    facts: dict[str, Any]
    expect: Expect


class RuleFile(_Model):
    ruleset: str
    description: str = ""
    version_notes: str = ""
    facts: dict[str, FactType] = Field(min_length=1)
    outcomes: list[str] = Field(min_length=1)
    roles: list[str] = []
    default: Default
    rules: list[Rule] = Field(min_length=1)
    cases: list[Case] = []


def fits(fact_type: str, value: Any) -> bool:
    """Whether a value has the Python type a fact of this type takes (Decimal or int for decimals)."""
    kind = type(value)
    if fact_type == "decimal":
        return kind is int or (kind is Decimal and value.is_finite())
    return kind is {"integer": int, "string": str, "boolean": bool}[fact_type]


def check_facts(types: Mapping[str, str], facts: Mapping[str, Any]) -> None:
    """Raise ValueError naming the first fact that is missing, undeclared or of the wrong type."""
    for name, fact_type in types.items():
        if name not in facts:
            raise ValueError(f"missing fact {name!r}")
        value = facts[name]
        if not fits(fact_type, value):
            raise ValueError(
                f"fact {name!r} must be {_TYPE_WORDS[fact_type]}, got {type(value).__name__} {value!r}"
            )
    for name in facts:
        if name not in types:
            raise ValueError(f"unknown fact {name!r}; declared: {', '.join(types)}")


_TYPE_WORDS = {
    "decimal": "a Decimal or int",
    "integer": "an int",
    "string": "a str",
    "boolean": "a bool",
}


def template_fields(template: str) -> list[str]:
    """The `{fact}` placeholders of a reason template; ValueError if it is not plain placeholders."""
    fields = []
    for _, field, spec, conversion in string.Formatter().parse(template):
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise ValueError(f"placeholder {{{field}}} must be a plain {{fact}}")
        fields.append(field)
    return fields


def parse_rule_file(text: str, source: str, name: str | None = None) -> RuleFile:
    """Read and check a rule file (whose `ruleset` must be `name`, if given); RuleFileError (file, line,
    rule id, reason) on the first problem."""
    data, lines = _read_yaml(text, source)
    try:
        spec = RuleFile.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        path = _known_prefix(lines, first["loc"])
        raise RuleFileError(source, lines[path], _rule_id_at(data, path), first["msg"]) from None
    if name is not None and spec.ruleset != name:
        message = f"ruleset {spec.ruleset!r} must be named as its file, {name!r}"
        raise RuleFileError(source, lines[("ruleset",)], None, message)
    _Checker(spec, source, lines).check()
    return spec


def _read_yaml(text: str, source: str) -> tuple[Any, dict[Path, int]]:
    """The YAML document as plain data (YAML floats as Decimal, exact) and the line of every node."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        line = error.problem_mark.line + 1 if error.problem_mark else None
        raise RuleFileError(source, line, None, f"not valid YAML: {error.problem}") from None
    if not isinstance(root, yaml.MappingNode):
        raise RuleFileError(source, 1, None, "a rule file is a YAML mapping (ruleset, facts, rules, ...)")
    lines: dict[Path, int] = {}
    scalars = yaml.constructor.SafeConstructor()

    def build(node: yaml.Node, path: Path) -> Any:
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            mapping: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = scalars.construct_object(key_node)
                if key in mapping:
                    raise RuleFileError(source, key_node.start_mark.line + 1, None, f"duplicate key {key!r}")
                mapping[key] = build(value_node, (*path, key))
            return mapping
        if isinstance(node, yaml.SequenceNode):
            return [build(item, (*path, index)) for index, item in enumerate(node.value)]
        if node.tag == "tag:yaml.org,2002:float":
            try:
                return Decimal(node.value.replace("_", ""))
            except InvalidOperation:
                pass  # .inf, .nan: a float, which no fact type accepts
        return scalars.construct_object(node)

    return build(root, ()), lines


def _known_prefix(lines: Mapping[Path, int], loc: tuple[str | int, ...]) -> Path:
    """The longest path into the document along a pydantic error location (skipping union tags)."""
    path: Path = ()
    for part in loc:
        if (*path, part) in lines:
            path = (*path, part)
    return path


def _rule_id_at(data: Any, path: Path) -> str | None:
    if len(path) >= 2 and path[0] == "rules":
        rule_id = data["rules"][path[1]].get("id") if isinstance(data["rules"][path[1]], dict) else None
        if isinstance(rule_id, str):
            return rule_id
    return None


class _Checker:
    """The checks that need the whole file: names, types, outcomes, roles, templates, cases."""

    def __init__(self, spec: RuleFile, source: str, lines: Mapping[Path, int]) -> None:
        self.spec, self.source, self.lines = spec, source, lines
        self.rule_id: str | None = None

    def fail(self, path: Path, message: str) -> NoReturn:
        raise RuleFileError(self.source, self.lines[_known_prefix(self.lines, path)], self.rule_id, message)

    def check(self) -> None:
        spec = self.spec
        self.name(("ruleset",), spec.ruleset, NAME, "a rule set name")
        for fact in spec.facts:
            self.name(("facts", fact), fact, NAME, "a fact name")
            if fact in _RESERVED_FACTS:
                self.fail(("facts", fact), f"fact name {fact!r} is reserved for the engine")
        self.unique(("outcomes",), spec.outcomes, "outcome")
        self.unique(("roles",), spec.roles, "role")
        self.decision(("default",), spec.default.outcome, spec.default.role)
        self.template(("default", "reason"), spec.default.reason)
        seen: set[str] = set()
        for index, rule in enumerate(spec.rules):
            path: Path = ("rules", index)
            self.rule_id = rule.id
            self.name((*path, "id"), rule.id, _RULE_ID, "a rule id")
            if rule.id == DEFAULT_RULE_ID:
                self.fail((*path, "id"), f"rule id {rule.id!r} is reserved for the default decision")
            if rule.id in seen:
                self.fail((*path, "id"), f"rule id {rule.id!r} is used twice")
            seen.add(rule.id)
            self.condition((*path, "when"), rule.when)
            self.decision(path, rule.outcome, rule.role)
            self.template((*path, "reason"), rule.reason)
        self.rule_id = None
        for index, case in enumerate(spec.cases):
            self.case(("cases", index), case, seen | {DEFAULT_RULE_ID})

    def name(self, path: Path, name: str, pattern: re.Pattern[str], what: str) -> None:
        if not pattern.fullmatch(name):
            self.fail(path, f"{name!r} is not {what} ({pattern.pattern})")

    def unique(self, path: Path, names: list[str], what: str) -> None:
        for index, name in enumerate(names):
            if name in names[:index]:
                self.fail((*path, index), f"{what} {name!r} is listed twice")

    def decision(self, path: Path, outcome: str, role: str | None) -> None:
        if outcome not in self.spec.outcomes:
            self.fail((*path, "outcome"), f"outcome {outcome!r} is not one of outcomes {self.spec.outcomes}")
        if role is not None and role not in self.spec.roles:
            self.fail((*path, "role"), f"role {role!r} is not one of roles {self.spec.roles}")
        if outcome == ESCALATE and role is None:
            self.fail(path, "an escalation needs a role (who must act next)")

    def template(self, path: Path, template: str) -> None:
        try:
            fields = template_fields(template)
        except ValueError as error:
            self.fail(path, f"reason template: {error}")
        for field in fields:
            if field not in self.spec.facts:
                self.fail(path, f"reason template names unknown fact {{{field}}}")

    def condition(self, path: Path, condition: Leaf | AllOf | AnyOf | Not) -> None:
        if isinstance(condition, AllOf | AnyOf):
            key = "all" if isinstance(condition, AllOf) else "any"
            parts = condition.all if isinstance(condition, AllOf) else condition.any
            for index, part in enumerate(parts):
                self.condition((*path, key, index), part)
        elif isinstance(condition, Not):
            self.condition((*path, "not"), condition.not_)
        else:
            self.leaf(path, condition)

    def leaf(self, path: Path, leaf: Leaf) -> None:
        fact_type = self.fact_type((*path, "fact"), leaf.fact)
        if leaf.op in ORDER_OPS and fact_type not in NUMERIC:
            self.fail((*path, "op"), f"operator {leaf.op} compares numbers; {leaf.fact} is a {fact_type}")
        if (leaf.value is None) == (leaf.other is None):
            self.fail(path, "a comparison takes exactly one of value (a constant) or other (a fact)")
        if leaf.other is not None:
            other_type = self.fact_type((*path, "other"), leaf.other)
            if leaf.op == "between" or leaf.op in LIST_OPS:
                self.fail((*path, "op"), f"operator {leaf.op} takes a value list, not other")
            if other_type != fact_type and not {fact_type, other_type} <= NUMERIC:
                self.fail(
                    (*path, "other"),
                    f"{leaf.fact} ({fact_type}) cannot be compared with {leaf.other} ({other_type})",
                )
            return
        values = leaf.value if leaf.op == "between" or leaf.op in LIST_OPS else [leaf.value]
        if not isinstance(values, list) or not values or (leaf.op == "between" and len(values) != 2):
            shape = "[low, high]" if leaf.op == "between" else "a non-empty list"
            self.fail((*path, "value"), f"operator {leaf.op} takes {shape}")
        for value in values:
            self.value((*path, "value"), leaf.fact, fact_type, value)
        if leaf.op == "between" and values[0] > values[1]:
            self.fail((*path, "value"), f"between [{values[0]}, {values[1]}]: low is above high")

    def fact_type(self, path: Path, name: str) -> str:
        if name not in self.spec.facts:
            self.fail(path, f"unknown fact {name!r}; declared: {', '.join(self.spec.facts)}")
        return self.spec.facts[name]

    def value(self, path: Path, fact: str, fact_type: str, value: Any) -> None:
        if not fits(fact_type, value):
            self.fail(path, f"value {value!r} does not fit {fact} ({fact_type})")
        if fact_type in NUMERIC and value != 0 and not ENGINE_MIN <= abs(value) < ENGINE_MAX:
            self.fail(
                path, f"value {value} is outside what the engine reads (0, or 0.0001 <= |value| < 1e15)"
            )

    def case(self, path: Path, case: Case, rule_ids: set[str]) -> None:
        label = f"case {case.name!r}: "
        try:
            check_facts(self.spec.facts, case.facts)
        except ValueError as error:
            self.fail((*path, "facts"), label + str(error))
        expect = case.expect
        if expect.outcome not in self.spec.outcomes:
            self.fail(
                (*path, "expect", "outcome"), f"{label}outcome {expect.outcome!r} is not one of outcomes"
            )
        if expect.role is not None and expect.role not in self.spec.roles:
            self.fail((*path, "expect", "role"), f"{label}role {expect.role!r} is not one of roles")
        for index, rule_id in enumerate(expect.fired):
            if rule_id not in rule_ids:
                self.fail((*path, "expect", "fired", index), f"{label}no rule {rule_id!r}")
