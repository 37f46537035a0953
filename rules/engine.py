"""Rule files decided by durable-rules, every decision explained.

durable-rules 2.0.28 is tamed here (see ARCHITECTURE.md, "Known sharp edges", and rules/README.md): its C
engine is driven directly (no `Host`, no dispatcher thread, no Python action layer), one lock around every
engine call, a unique name per load, one session per decision (or per chunk of a batch) deleted afterwards,
facts with explicit ids, and a catch-all rule so that every fact is handled and none goes missing unnoticed.
"""

from __future__ import annotations

import gc
import itertools
import json
import logging
import re
import string
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from hashlib import sha256
from json.encoder import encode_basestring
from operator import itemgetter
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import durable_rules_engine
from pydantic import BaseModel, Field

from rules.conditions import DECIMALS, NUMERIC, Expression, compile_condition, engine_number, facts_in
from rules.spec import (
    DEFAULT_RULE_ID,
    NAME,
    PYTHON_TYPES,
    Case,
    Default,
    Rule,
    RuleFile,
    RuleFileError,
    check_facts,
    parse_rule_file,
    template_fields,
)

__all__ = [
    "Case",
    "Decision",
    "Reason",
    "RuleFileError",
    "RuleSet",
    "get_ruleset",
    "load_ruleset",
    "load_ruleset_text",
    "no_cycle_collection",
]

log = logging.getLogger(__name__)

RULES_DIR = Path(__file__).parent
CHUNK = 1000
"""Facts per engine session in decide_many, and each rule's `cap` (matches handed out in one action)."""
SHORT_DECIMAL = 16
"""Decimals whose string is at most this long (and has no exponent) go to the engine as that string: it reads
up to 15 significant digits exactly as float() does (a test checks random ones); longer ones go through float()."""
MAX_VERDICTS = 4096
"""Distinct combinations of fired rules whose outcome, role and reason templates a rule set keeps worked out."""

_ENGINE_LOCK = threading.Lock()
_load_numbers = itertools.count(1)
_session_numbers = itertools.count(1)
_collected: list[int] = []
"""Engine handles of rule sets no longer referenced; deleted at the next load, under the lock."""
_FACT_IDS = re.compile(r'"id":(\d+)')
"""A fact's id in an action's JSON (the session's state document has the id "sid-<sid>", a string)."""


class Reason(BaseModel):
    rule: str = Field(description="Id of the rule that fired (`default` when none did)")
    text: str = Field(description="The rule's reason, filled in with the facts")


class Decision(BaseModel):
    ruleset: str = Field(description="Name of the rule set that decided")
    outcome: str = Field(description="What was decided, e.g. approve, escalate or reject")
    role: str | None = Field(description="The role that must act next, if any")
    reasons: list[Reason] = Field(description="Every rule that fired, in the rule file's listing order")
    facts: dict[str, Any] = Field(description="The input facts, JSON-safe (Decimals as strings)")
    version: str = Field(description="sha256 of the rule file's exact text")

    @property
    def fired(self) -> list[str]:
        return [reason.rule for reason in self.reasons]


Model = TypeVar("Model", bound=BaseModel)
_set = object.__setattr__
_FIELDS = {Reason: set(Reason.model_fields), Decision: set(Decision.model_fields)}
"""Shared by every model _built makes: every field is set, so pydantic never has a name to add to them."""


def _built(model: type[Model], values: dict[str, Any]) -> Model:
    """A model from values this module made and knows valid: `model_construct` without its per-field work
    (Reason and Decision have no defaults, aliases or private attributes), which makes batches faster."""
    built = model.__new__(model)
    _set(built, "__dict__", values)
    _set(built, "__pydantic_fields_set__", _FIELDS[model])
    _set(built, "__pydantic_extra__", None)
    _set(built, "__pydantic_private__", None)
    return built


@dataclass(frozen=True)
class _Verdict:
    """What one combination of fired rules decides: outcome, role, and (rule id, reason template) of each
    fired rule in listing order, the templates %-style: "Discount %(discount_pct)s%% is ..."."""

    outcome: str
    role: str | None
    reasons: tuple[tuple[str, str], ...]
    shown: tuple[tuple[str, Callable[[Any], str]], ...]
    """The facts the reasons print, each with the function that prints it."""


def _show_number(value: str | int, places: int) -> str:
    """A decimal or money fact (as Decision.facts keeps it: an int or the Decimal's string) as reasons print it:
    the integer part grouped with commas, no exponent, the fraction's trailing zeros stripped down to `places`
    digits (never rounded) and no sign on zero: 2,600 and 13.5 with 0 places, 90,000.00 and 1.005 with 2."""
    text = str(value) if isinstance(value, int) else format(Decimal(value), "f") if "E" in value else value
    whole, _, fraction = text.partition(".")  # a Decimal's string has no leading zeros: int() keeps its digits
    if len(whole) > 3:
        whole = f"{int(whole):,}"
    fraction = fraction.rstrip("0").ljust(places, "0")
    if whole == "-0" and not fraction.strip("0"):
        whole = "0"
    return f"{whole}.{fraction}" if fraction else whole


def _show_decimal(value: str | int) -> str:
    """A decimal fact as reasons print it: 2,600, 13.5, 1.29."""
    return _show_number(value, 0)


def _show_money(value: str | int) -> str:
    """A money fact as reasons print it, as people read amounts: 90,000.00, 106,355.82, -1,200.00, 0.00."""
    return _show_number(value, 2)


_SHOW: dict[str, Callable[[Any], str]] = {
    "decimal": _show_decimal,
    "money": _show_money,
    "integer": str,
    "string": str,
    "boolean": lambda value: "yes" if value else "no",
}


def _in_words(words: Mapping[str, str]) -> Callable[[str], str]:
    """A string fact as reasons print it when its rule file gives words for its values."""
    return lambda value: words.get(value, value)


_TYPES = {kind: frozenset(types) for kind, types in PYTHON_TYPES.items()}
_DECIMALS = {Decimal}
_ENCODERS: dict[str, Callable[[Any], str]] = {
    "string": encode_basestring,
    "boolean": {True: "true", False: "false"}.__getitem__,
}


def _encoded(kind: str, values: list[Any], types: set[type], safe: list[Any]) -> list[str]:
    """Values of one fact as JSON the engine reads (given them as Decision.facts keeps them); ValueError or
    OverflowError if one is beyond what the engine reads."""
    if kind not in NUMERIC:
        return list(map(_ENCODERS[kind], values))
    if types == _DECIMALS and max(map(len, safe)) <= SHORT_DECIMAL and "E" not in "".join(safe):
        return safe  # Decimals' own strings, short and without exponent: the engine reads them as float() does
    texts = list(map(repr, map(float, values)))
    joined = "".join(texts)
    if "e" in joined or "n" in joined:  # an exponent (engine_number writes it as the engine reads it), inf, nan
        return list(map(engine_number, values))
    return texts


def _json_safe(values: list[Any], types: set[type]) -> list[Any]:
    """Values of one fact as Decision.facts keeps them (Decimals as their strings); ValueError if a Decimal
    is not finite."""
    if Decimal not in types:
        return values
    texts = list(map(str, values))
    joined = "".join(texts)
    if "N" in joined or "I" in joined:  # NaN, sNaN, Infinity: a finite Decimal's string has neither
        raise ValueError("a decimal that is not finite")
    return (
        texts
        if len(types) == 1
        else [text if type(v) is Decimal else v for text, v in zip(texts, values, strict=True)]
    )


class FactsRefused(ValueError):
    """`decide_many` refused the fact set at `index` of its batch (the message names it, the fact and why)."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(f"fact set {index}: {message}")
        self.index, self.reason = index, message


class RuleSet:
    """A loaded rule file that decides fact sets with durable-rules."""

    def __init__(self, spec: RuleFile, text: str) -> None:
        self.spec = spec
        self.name = spec.ruleset
        self.version = sha256(text.encode("utf-8")).hexdigest()
        self.text = text
        self.description = spec.description
        self.cases: list[Case] = list(spec.cases)
        self.fact_types: dict[str, str] = dict(spec.facts)
        self.listed = sorted(spec.rules, key=lambda rule: (rule.priority is None, rule.priority or 0))  # stable
        """The rules in listing order (priority, then file order): the order of a decision's reasons."""
        self._show = {name: _SHOW[kind] for name, kind in self.fact_types.items()} | {
            name: _in_words(words) for name, words in spec.words.items()
        }
        """How reasons print each fact."""
        self._names = frozenset(self.fact_types)
        read = set().union(*(facts_in(rule.when) for rule in self.listed))
        self._engine_facts = [name for name in self.fact_types if name in read]  # the others: reasons only
        self._body = ",".join(f'"{name}":%s' for name in self._engine_facts)
        self._verdicts: dict[int, _Verdict] = {}
        expressions = [compile_condition(rule.when, self.fact_types) for rule in self.listed]
        name = f"{self.name}-{self.version[:12]}-{next(_load_numbers)}"
        self._engine = _Engine(name, expressions, every_fact={"$ex": {self._engine_facts[0]: 1}})

    def decide(self, facts: Mapping[str, Any]) -> Decision:
        """Decide one fact set (ValueError naming the fact if one is missing, undeclared or mistyped)."""
        try:
            return self.decide_many([facts])[0]
        except FactsRefused as refused:
            raise ValueError(refused.reason) from None

    def decide_many(self, facts: Sequence[Mapping[str, Any]]) -> list[Decision]:
        """Decide many fact sets, CHUNK of them per engine session; all are checked before any is decided
        (FactsRefused, a ValueError, at the first that does not fit)."""
        decisions: list[Decision] = []
        with no_cycle_collection():
            bodies, safes = self._prepare(facts)
            for start in range(0, len(bodies), CHUNK):
                fired = self._engine.run(bodies[start : start + CHUNK])
                chunk = safes[start : start + CHUNK]
                decisions += [self._decision(mask, safe) for mask, safe in zip(fired, chunk, strict=True)]
        return decisions

    def typed_facts(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Facts from JSON (a stored Decision's `facts`, a command line): decimal and money facts from strings,
        read exactly (never through float), or ints; the rest as they are. ValueError naming the first fact that
        does not fit; facts this rule set does not declare are refused too."""
        typed = dict(data)
        for name, kind in self.fact_types.items():
            value = typed.get(name)
            if kind in DECIMALS and type(value) is str:
                try:
                    typed[name] = Decimal(value)
                except ArithmeticError:
                    raise ValueError(f"fact {name!r} must be a decimal number, got {value!r}") from None
        check_facts(self.fact_types, typed)
        return typed

    def _prepare(self, facts: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
        """Check fact sets; their JSON for the engine (without sid and id) and their JSON-safe copies. Done
        fact by fact over all the sets (several times faster than set by set); if anything does not fit,
        _refuse finds the first fact set and fact that does not."""
        if not all([one.keys() == self._names for one in facts]):
            self._refuse(facts)
        columns = {name: list(map(itemgetter(name), facts)) for name in self.fact_types}
        types = {name: set(map(type, column)) for name, column in columns.items()}
        if not all(types[name] <= _TYPES[kind] for name, kind in self.fact_types.items()):
            self._refuse(facts)
        try:
            safe = {name: _json_safe(columns[name], types[name]) for name in self.fact_types}
            encoded = [
                _encoded(self.fact_types[name], columns[name], types[name], safe[name])
                for name in self._engine_facts
            ]
        except (ValueError, OverflowError):
            self._refuse(facts)
        bodies = list(map(self._body.__mod__, zip(*encoded, strict=True)))
        return bodies, [dict(zip(safe, row, strict=True)) for row in zip(*safe.values(), strict=True)]

    def _refuse(self, facts: Sequence[Mapping[str, Any]]) -> NoReturn:
        """Raise FactsRefused for the first fact set that _prepare cannot take, naming the fact and the reason."""
        for index, one in enumerate(facts):
            try:
                check_facts(self.fact_types, one)
            except ValueError as error:
                raise FactsRefused(index, str(error)) from None
            for name in self._engine_facts:  # the types fit: is a number beyond what the engine reads?
                try:
                    _encoded(self.fact_types[name], [one[name]], set(), [])
                except ValueError as error:
                    raise FactsRefused(index, f"fact {name!r}: {error}") from None
        raise AssertionError(f"{self.name}: fact sets refused without a reason")

    def _decision(self, fired: int, facts: dict[str, Any]) -> Decision:
        verdict = self._verdicts.get(fired) or self._verdict(fired)
        shown = {name: show(facts[name]) for name, show in verdict.shown}
        return _built(
            Decision,
            {
                "ruleset": self.name,
                "outcome": verdict.outcome,
                "role": verdict.role,
                "reasons": [
                    _built(Reason, {"rule": rule, "text": reason % shown}) for rule, reason in verdict.reasons
                ],
                "facts": facts,
                "version": self.version,
            },
        )

    def _verdict(self, fired: int) -> _Verdict:
        """Work out (and keep) what a combination of fired rules (bit k: listed rule k) decides."""
        chosen: list[tuple[str, Rule | Default]] = [
            (rule.id, rule) for k, rule in enumerate(self.listed) if fired >> k & 1
        ] or [(DEFAULT_RULE_ID, self.spec.default)]
        rules = [rule for _, rule in chosen]
        outcomes, roles = self.spec.outcomes, self.spec.roles
        outcome = min((rule.outcome for rule in rules), key=outcomes.index)
        named = [rule.role for rule in rules if rule.outcome == outcome and rule.role is not None]
        printed = dict.fromkeys(name for rule in rules for name in template_fields(rule.reason))
        verdict = _Verdict(
            outcome,
            max(named, key=roles.index) if named else None,
            tuple((rule_id, _percent_style(rule.reason)) for rule_id, rule in chosen),
            tuple((name, self._show[name]) for name in printed),
        )
        if len(self._verdicts) < MAX_VERDICTS:
            self._verdicts[fired] = verdict
        return verdict


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector paused while a batch makes its many objects (none in a cycle): otherwise it
    walks every live object again and again, a third of a batch's time. Whoever paused it first restarts it."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _percent_style(template: str) -> str:
    """A `{fact}` reason template as a %-style one, which fills in faster."""
    return "".join(
        literal.replace("%", "%%") + ("" if field is None else f"%({field})s")
        for literal, field, _, _ in string.Formatter().parse(template)
    )


def _definition_json(value: Any) -> str:
    """A rule set definition as JSON durable-rules reads: its numbers written by engine_number."""
    if isinstance(value, dict):
        return (
            "{"
            + ",".join(f"{encode_basestring(key)}:{_definition_json(item)}" for key, item in value.items())
            + "}"
        )
    if isinstance(value, list):
        return "[" + ",".join(_definition_json(item) for item in value) + "]"
    if isinstance(value, float):
        return engine_number(value)
    return json.dumps(value, ensure_ascii=False)


class _Engine:
    """One compiled rule set in durable-rules' C engine, driven directly: facts in as JSON, then the
    engine's actions read back as JSON, which is all durable-rules' Python layer (Host, Closure, Promise)
    does around them, less its state updates. Rule k's bit in a fact's mask says that rule k matched it.
    A last rule matches every fact (not the session's state document, which the engine keeps among the
    facts), so that no fact goes unhandled (see rules/README.md) and a lost one is noticed."""

    def __init__(self, name: str, expressions: list[Expression], every_fact: Expression) -> None:
        self._every = len(expressions)
        definition = {
            f"r{k}": {"all": [{"m": expression}], "cap": CHUNK}
            for k, expression in enumerate([*expressions, every_fact])
        }
        with _ENGINE_LOCK:
            while _collected:
                durable_rules_engine.delete_ruleset(_collected.pop())
            self._handle: int = durable_rules_engine.create_ruleset(name, _definition_json(definition))
        weakref.finalize(self, _collected.append, self._handle)

    def run(self, bodies: list[str]) -> list[int]:
        """Assert these facts (JSON without sid and id) in a new session and return, per fact, the mask of
        the rules that matched it. The session is deleted afterwards, unless the engine failed on the way:
        deleting a session with actions pending crashes durable-rules, and a leaked session is the lesser harm."""
        sid = str(next(_session_numbers))
        head = f'{{"sid":"{sid}","id":'
        facts_json = "[" + ",".join([f"{head}{i},{body}}}" for i, body in enumerate(bodies)]) + "]"
        handle = self._handle
        with _ENGINE_LOCK:
            try:
                code, state = durable_rules_engine.assert_facts(handle, facts_json)
                if code != 0:
                    raise RuntimeError(f"durable-rules did not take the facts (result {code})")
                started = durable_rules_engine.start_action_for_state(handle, state)
                actions = [] if started is None else [started[1]]
                while started is not None:
                    action = durable_rules_engine.complete_and_start_action(handle, state)
                    if action is None:
                        break
                    actions.append(action)
            except durable_rules_engine.error as error:
                raise RuntimeError(f"durable-rules failed: {error}") from None
            durable_rules_engine.delete_state(handle, sid)
        fired = [0] * len(bodies)
        handled = 0
        for action in actions:  # {"r<k>":[{"m":{"sid":"..","id":<fact>,...}}, ...]}
            rule = int(action[3 : action.index('"', 3)])
            ids = _FACT_IDS.findall(action)
            if rule == self._every:
                handled += len(ids)
                continue
            bit = 1 << rule
            for fact in ids:
                fired[int(fact)] |= bit
        if handled != len(bodies):
            raise RuntimeError(f"durable-rules handled {handled} of {len(bodies)} facts")
        return fired


def load_ruleset_text(text: str, source: str) -> RuleSet:
    """A rule set from the text of a rule file (e.g. a stored version); RuleFileError names `source`."""
    return _load(text, source, None)


def load_ruleset(path: Path) -> RuleSet:
    """A rule set from a file named after it (`<ruleset>.yaml`); RuleFileError says where it is wrong."""
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeError) as error:
        raise RuleFileError(str(path), None, None, f"cannot read the rule file: {error}") from None
    return _load(text, str(path), path.stem)


def _load(text: str, source: str, name: str | None) -> RuleSet:
    spec = parse_rule_file(text, source, name)
    try:
        return RuleSet(spec, text)
    except durable_rules_engine.error as error:
        raise RuleFileError(source, None, None, f"durable-rules refused the rule set: {error}") from None


_cache: dict[Path, tuple[tuple[int, int], RuleSet]] = {}
_cache_lock = threading.Lock()


def get_ruleset(name: str, rules_dir: Path | None = None) -> RuleSet:
    """The rule set in `<rules_dir>/<name>.yaml` (default: this package), reloaded when the file changes.

    A changed file that does not load is logged and the last good version keeps serving; RuleFileError
    only if there never was a good one."""
    if not NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a rule set name")
    path = (rules_dir or RULES_DIR) / f"{name}.yaml"
    with _cache_lock:
        cached = _cache.get(path)
        stamp = _stamp(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            ruleset = load_ruleset(path)
        except RuleFileError as error:
            if cached is None:
                raise
            log.error("%s -- rule set %r keeps serving version %s", error, name, cached[1].version[:12])
            ruleset = cached[1]
        _cache[path] = (stamp, ruleset)
        return ruleset


def _stamp(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except OSError:
        return (-1, -1)  # gone or unreadable: load_ruleset says why
    return (stat.st_mtime_ns, stat.st_size)
