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
from typing import Any, Literal, NoReturn

import yaml
from pydantic import Field, ValidationError

from rules.conditions import (
    DECIMALS,
    LIST_OPS,
    NUMERIC,
    ORDER_OPS,
    AllOf,
    AnyOf,
    Condition,
    Leaf,
    Not,
    StrictModel,
    alternatives,
    compile_condition,
    engine_number,
)

FactType = Literal["decimal", "money", "integer", "string", "boolean"]
Path = tuple[str | int, ...]

DEFAULT_RULE_ID = "default"
LANGUAGES = ("en", "es")
"""The languages reasons can be written in: the library prints numbers (by Babel's locale data) and booleans in
these (rules.reasons.YES_NO)."""
ESCALATE = "escalate"
MAX_ALTERNATIVES = 256
"""durable-rules multiplies a condition's `any`s out; far more alternatives fail (error 113) or hang."""

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


Text = str | dict[str, str]
"""A text people read: one string in the file's one language, or a string per language ({en: ..., es: ...})."""


class Rule(StrictModel):
    id: str
    description: str = ""
    priority: int | None = None
    when: Condition
    outcome: str
    role: str | None = None
    reason: Text


class Default(StrictModel):
    outcome: str
    role: str | None = None
    reason: Text


class Expect(StrictModel):
    outcome: str
    role: str | None
    fired: list[str]


class Case(StrictModel):
    """A test case carried in the rule file: these facts must give this outcome, role and fired rules."""

    name: str
    facts: dict[str, Any]
    expect: Expect


class RuleFile(StrictModel):
    ruleset: str
    description: str = ""
    version_notes: str = ""
    languages: list[str] = Field(default_factory=lambda: [LANGUAGES[0]], min_length=1)
    """The languages of its reasons and words; the first is the one decisions are made in."""
    facts: dict[str, FactType] = Field(min_length=1)
    outcomes: list[str] = Field(min_length=1)
    roles: list[str] = Field(default_factory=list)
    default: Default
    rules: list[Rule] = Field(min_length=1)
    cases: list[Case] = Field(default_factory=list)
    words: dict[str, dict[str, Text]] = Field(default_factory=dict)
    """How reasons print the values of string facts: fact → value → words (per language); a value not listed
    prints as is."""


def in_language(text: Text, language: str) -> str:
    """A checked file's text in one of its languages (a plain string is in its one language)."""
    return text if isinstance(text, str) else text[language]


PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(DECIMALS, (Decimal, int)),
    "integer": (int,),
    "string": (str,),
    "boolean": (bool,),
}
_TYPE_WORDS = {
    **dict.fromkeys(DECIMALS, "a Decimal or int"),
    "integer": "an int",
    "string": "a str",
    "boolean": "a bool",
}


def fits(fact_type: str, value: Any) -> bool:
    """Whether a value has the Python type a fact of this type takes (a finite Decimal or int for decimal and
    money; bool is no int here)."""
    return type(value) in PYTHON_TYPES[fact_type] and (type(value) is not Decimal or value.is_finite())


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
    if len(facts) > len(types):
        unknown = next(name for name in facts if name not in types)
        raise ValueError(f"unknown fact {unknown!r}; declared: {', '.join(types)}")


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
    data, lines = read_yaml(text, source)
    try:
        spec = RuleFile.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        path = _known_prefix(lines, first["loc"])
        where = (*path, first["loc"][-1]) if first["type"] == "missing" else path
        message = f"{_dotted(where)}: {first['msg']}" if where else first["msg"]
        raise RuleFileError(source, lines[path], _rule_id_at(data, path), message) from None
    if name is not None and spec.ruleset != name:
        message = f"ruleset {spec.ruleset!r} must be named as its file, {name!r}"
        raise RuleFileError(source, lines[("ruleset",)], None, message)
    _Checker(spec, source, lines).check()
    return spec


def read_yaml(text: str, source: str) -> tuple[Any, dict[Path, int]]:
    """The YAML document as plain data (YAML floats as Decimal, exact) and the line of every node."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        line = error.problem_mark.line + 1 if error.problem_mark else None
        raise RuleFileError(source, line, None, f"not valid YAML: {error.problem}") from None
    except yaml.reader.ReaderError as error:  # a character YAML does not allow: a control character, NUL
        line = text.count("\n", 0, error.position) + 1
        message = f"not valid YAML: character U+{error.character:04X} is not allowed"
        raise RuleFileError(source, line, None, message) from None
    except yaml.YAMLError as error:
        raise RuleFileError(source, None, None, f"not valid YAML: {error}") from None
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


def _braced(fields: set[str]) -> str:
    return ", ".join(f"{{{field}}}" for field in sorted(fields)) or "no facts"


def _dotted(path: Path) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")


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
        self.unique(("languages",), spec.languages, "language")
        for index, language in enumerate(spec.languages):
            if language not in LANGUAGES:
                self.fail(("languages", index), f"language {language!r} is not one of {', '.join(LANGUAGES)}")
        for fact, words in spec.words.items():
            if self.fact_type(("words", fact), fact) != "string":
                self.fail(("words", fact), f"words are for string facts, not {fact} ({spec.facts[fact]})")
            for value, text in words.items():
                self.languages(("words", fact, value), text, f"{fact} {value!r}", "words")
        self.decision(("default",), spec.default.outcome, spec.default.role)
        self.template(("default", "reason"), spec.default.reason, "the default's reason")
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
            count = alternatives(compile_condition(rule.when, spec.facts))
            if count > MAX_ALTERNATIVES:
                self.fail(
                    (*path, "when"),
                    f"the condition has {count} alternatives (any/in multiplied out); "
                    f"durable-rules takes at most {MAX_ALTERNATIVES}",
                )
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

    def languages(self, path: Path, text: Text, what: str, noun: str) -> dict[str, str]:
        """A text given in every language of the file and in no other, by language."""
        first, *others = self.spec.languages
        if isinstance(text, str):
            if others:
                self.fail(path, f"{what} has no {others[0]!r} {noun}: give one per language ({first}: ..., ...)")
            return {first: text}
        for language in self.spec.languages:
            if language not in text:
                self.fail(path, f"{what} has no {language!r} {noun}")
        for language in text:
            if language not in self.spec.languages:
                declared = self.spec.languages
                self.fail((*path, language), f"{what} in {language!r}, which is not one of languages {declared}")
        return text

    def template(self, path: Path, template: Text, what: str = "the reason") -> None:
        """Every language's reason template names facts as plain placeholders, the same in each language."""
        placeholders: dict[str, set[str]] = {}
        for language, text in self.languages(path, template, what, "template").items():
            where = (*path, language) if isinstance(template, dict) else path
            try:
                fields = template_fields(text)
            except ValueError as error:
                self.fail(where, f"reason template: {error}")
            for field in fields:
                if field not in self.spec.facts:
                    self.fail(where, f"reason template names unknown fact {{{field}}}")
            placeholders[language] = set(fields)
        first = self.spec.languages[0]
        for language, printed in placeholders.items():
            if printed != placeholders[first]:
                ours, theirs = _braced(printed), _braced(placeholders[first])
                self.fail((*path, language), f"{what} in {language!r} prints {ours}; in {first!r} {theirs}")

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
            shown = repr(value) if isinstance(value, str) else value
            self.fail(path, f"value {shown} does not fit {fact} ({fact_type})")
        if fact_type in NUMERIC:
            try:
                engine_number(value)
            except ValueError as error:
                self.fail(path, f"value {error}")

    def case(self, path: Path, case: Case, rule_ids: set[str]) -> None:
        label = f"case {case.name!r}: "
        try:
            check_facts(self.spec.facts, case.facts)
        except ValueError as error:
            self.fail((*path, "facts"), label + str(error))
        expect = case.expect
        if expect.outcome not in self.spec.outcomes:
            self.fail((*path, "expect", "outcome"), f"{label}outcome {expect.outcome!r} is not one of outcomes")
        if expect.role is not None and expect.role not in self.spec.roles:
            self.fail((*path, "expect", "role"), f"{label}role {expect.role!r} is not one of roles")
        for index, rule_id in enumerate(expect.fired):
            if rule_id not in rule_ids:
                self.fail((*path, "expect", "fired", index), f"{label}no rule {rule_id!r}")
