"""Rule files decided by durable-rules, every decision explained.

durable-rules 2.0.28 is tamed here (see ARCHITECTURE.md, "Known sharp edges", and rules/README.md):
a host without its dispatcher thread, one lock around every engine call, a fresh host and a unique
name per load, one session per decision (or per chunk of a batch) deleted afterwards, facts with
explicit ids, a catch-all rule so every fact is handled, and action failures raised, not swallowed.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from hashlib import sha256
from pathlib import Path
from typing import Any

import durable_rules_engine
from durable.engine import Host
from pydantic import BaseModel, Field

from rules.compile import Expression, compile_condition, engine_number
from rules.spec import (
    DEFAULT_RULE_ID,
    NAME,
    Case,
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
]

log = logging.getLogger(__name__)

RULES_DIR = Path(__file__).parent
CHUNK = 1000
"""Facts per engine session in decide_many, and each rule's `cap` (matches handed to one action call)."""

_ENGINE_LOCK = threading.Lock()
_load_numbers = itertools.count(1)
_session_numbers = itertools.count(1)
_collected: list[int] = []
"""Engine handles of rule sets no longer referenced; deleted at the next load, under the lock."""
_MARKER = '"_fact":1'
"""Every asserted fact carries it (fact names start with a letter), so the catch-all never matches the
session's own state document, which durable-rules keeps among the facts."""


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


@dataclass(frozen=True)
class _Rule:
    id: str
    outcome: int
    """Index into the outcomes: lower wins."""
    role: int
    """Index into the roles: higher wins; -1 for none."""
    reason: str
    fields: tuple[str, ...]

    def explain(self, facts: Mapping[str, Any]) -> Reason:
        shown = {name: _display(facts[name]) for name in self.fields}
        return Reason(rule=self.id, text=self.reason.format_map(shown))


class RuleSet:
    """A loaded rule file that decides fact sets with durable-rules."""

    def __init__(self, spec: RuleFile, text: str) -> None:
        self.name = spec.ruleset
        self.version = sha256(text.encode("utf-8")).hexdigest()
        self.text = text
        self.description = spec.description
        self.cases: list[Case] = list(spec.cases)
        self._types: dict[str, str] = dict(spec.facts)
        self._outcomes = spec.outcomes
        self._roles = spec.roles
        listed = sorted(spec.rules, key=lambda rule: (rule.priority is None, rule.priority or 0))  # stable
        self._rules = [self._rule(rule.id, rule.outcome, rule.role, rule.reason) for rule in listed]
        self._default = self._rule(
            DEFAULT_RULE_ID, spec.default.outcome, spec.default.role, spec.default.reason
        )
        self._encoders = [
            (f'"{name}":', _ENCODERS[fact_type], name) for name, fact_type in self._types.items()
        ]
        expressions = [compile_condition(rule.when, self._types) for rule in listed]
        self._engine = _Engine(f"{self.name}-{self.version[:12]}-{next(_load_numbers)}", expressions)

    def _rule(self, rule_id: str, outcome: str, role: str | None, reason: str) -> _Rule:
        role_index = -1 if role is None else self._roles.index(role)
        return _Rule(
            rule_id, self._outcomes.index(outcome), role_index, reason, tuple(template_fields(reason))
        )

    def decide(self, facts: Mapping[str, Any]) -> Decision:
        """Decide one fact set (ValueError naming the fact if one is missing, undeclared or mistyped)."""
        return self._decide([facts], [self._engine_json(facts)])[0]

    def decide_many(self, facts: Sequence[Mapping[str, Any]]) -> list[Decision]:
        """Decide many fact sets, CHUNK of them per engine session; all are checked before any is decided."""
        bodies = []
        for index, one in enumerate(facts):
            try:
                bodies.append(self._engine_json(one))
            except ValueError as error:
                raise ValueError(f"fact set {index}: {error}") from None
        return self._decide(facts, bodies)

    def _engine_json(self, facts: Mapping[str, Any]) -> str:
        check_facts(self._types, facts)
        return ",".join([key + encode(facts[name]) for key, encode, name in self._encoders])

    def _decide(self, facts: Sequence[Mapping[str, Any]], bodies: list[str]) -> list[Decision]:
        decisions: list[Decision] = []
        for start in range(0, len(bodies), CHUNK):
            chunk = bodies[start : start + CHUNK]
            sid = str(next(_session_numbers))
            head = f'{{"sid":"{sid}",{_MARKER},"id":'
            facts_json = "[" + ",".join([f"{head}{i},{body}}}" for i, body in enumerate(chunk)]) + "]"
            fired = self._engine.run(sid, facts_json, len(chunk))
            decisions.extend(self._decision(facts[start + i], hits) for i, hits in enumerate(fired))
        return decisions

    def _decision(self, facts: Mapping[str, Any], hits: list[int]) -> Decision:
        rules = [self._rules[hit] for hit in hits] or [self._default]
        outcome = min(rule.outcome for rule in rules)
        role = max(rule.role for rule in rules if rule.outcome == outcome)
        return Decision(
            ruleset=self.name,
            outcome=self._outcomes[outcome],
            role=None if role < 0 else self._roles[role],
            reasons=[rule.explain(facts) for rule in rules],
            facts={name: _json_safe(facts[name]) for name in self._types},
            version=self.version,
        )


def _json_safe(value: Any) -> Any:
    return str(value) if type(value) is Decimal else value


def _display(value: Any) -> str:
    """A fact as a reason shows it: Decimals without trailing zeros or exponent (12.5, 100), yes/no."""
    if type(value) is Decimal:
        return format(value.normalize(), "f")
    if type(value) is bool:
        return "yes" if value else "no"
    return str(value)


_ENCODERS: dict[str, Callable[[Any], str]] = {
    "decimal": engine_number,
    "integer": engine_number,
    "string": lambda value: json.dumps(value, ensure_ascii=False),
    "boolean": lambda value: "true" if value else "false",
}


class _Host(Host):  # type: ignore[misc]
    """A durable-rules host without its dispatcher and timer threads (they lost results and segfaulted
    under threads): every call runs in the caller's thread, under _ENGINE_LOCK. Timers never fire."""

    def __init__(self, actions: dict[str, Callable[[Any], None]]) -> None:
        self._actions = actions
        super().__init__()

    def _run(self) -> None:
        return

    def get_action(self, action_name: str) -> Callable[[Any], None]:
        return self._actions[action_name]


class _Engine:
    """One compiled rule set on its own host. Rule k's action records the ids of the facts it matched;
    the last rule matches every fact, so no fact goes unhandled (see rules/README.md)."""

    def __init__(self, name: str, expressions: list[Expression]) -> None:
        catch_all: Expression = {"$ex": {"_fact": 1}}
        self._hits: list[list[int]] = [[] for _ in range(len(expressions) + 1)]
        definition = {
            f"r{k}": {"all": [{"m": expression}], "run": str(k), "cap": CHUNK}
            for k, expression in enumerate([*expressions, catch_all])
        }
        actions = {str(k): self._action(k) for k in range(len(self._hits))}
        with _ENGINE_LOCK:
            while _collected:
                durable_rules_engine.delete_ruleset(_collected.pop())
            host = _Host(actions)
            host.register_rulesets({name: definition})
        self._rules = host.get_ruleset(name)
        weakref.finalize(self, _collected.append, self._rules._handle)

    def _action(self, rule: int) -> Callable[[Any], None]:
        def action(closure: Any) -> None:
            self.record(rule, closure.m)

        return action

    def record(self, rule: int, frames: list[Any]) -> None:
        """Every rule's action: note the ids of the facts the rule matched."""
        self._hits[rule].extend([frame._d["id"] for frame in frames])

    def run(self, sid: str, facts_json: str, count: int) -> list[list[int]]:
        """Assert a JSON list of `count` facts (ids 0..count-1, all in session `sid`) and return, per fact,
        the indices of the rules that fired for it, ascending. The session is deleted afterwards."""
        rules = self._rules
        errors: list[BaseException | None] = []
        with _ENGINE_LOCK:
            for hits in self._hits:
                hits.clear()
            try:
                # Not Ruleset.assert_facts: its json.dumps writes numbers (1e-05) the engine cannot read.
                result = durable_rules_engine.assert_facts(rules._handle, facts_json)
                handle = rules._handle_result(result, facts_json)
                rules.do_actions(handle, lambda error, _state: errors.append(error))
                failure = rules.get_state(sid).get("exception")
            finally:
                rules.delete_state(sid)
            *by_rule, seen = self._hits
            fired: list[list[int]] = [[] for _ in range(count)]
            for rule, hits in enumerate(by_rule):
                for fact in hits:
                    fired[fact].append(rule)
        if errors and errors[0] is not None:
            raise errors[0]
        if failure:
            raise RuntimeError(f"a rule action failed in durable-rules: {failure}")
        if len(seen) != count:
            raise RuntimeError(f"durable-rules handled {len(seen)} of {count} facts")
        return fired


def load_ruleset_text(text: str, source: str) -> RuleSet:
    """A rule set from the text of a rule file (e.g. a stored version); RuleFileError names `source`."""
    return RuleSet(parse_rule_file(text, source), text)


def load_ruleset(path: Path) -> RuleSet:
    """A rule set from a file named after it (`<ruleset>.yaml`); RuleFileError says where it is wrong."""
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeError) as error:
        raise RuleFileError(str(path), None, None, f"cannot read the rule file: {error}") from None
    return RuleSet(parse_rule_file(text, str(path), name=path.stem), text)


_cache: dict[Path, tuple[tuple[int, int], RuleSet]] = {}
_cache_lock = threading.Lock()


def get_ruleset(name: str, rules_dir: Path | None = None) -> RuleSet:
    """The rule set in `<rules_dir>/<name>.yaml` (default: this package), reloaded when the file changes.

    A changed file that does not load is logged and the last good version keeps serving; RuleFileError
    only if there never was a good one."""
    if not NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a rule set name")
    path = ((rules_dir or RULES_DIR) / f"{name}.yaml").resolve()
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
