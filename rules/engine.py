"""Rule files decided by durable-rules, every decision explained: the public API of the rules library.

`RuleSet` is a loaded, checked rule file (rules.spec); it writes fact sets for the engine (rules.encoding), runs
them through durable-rules' C engine (rules.driver, where its sharp edges are tamed) and explains what fired
(rules.reasons). `get_ruleset` keeps rule sets loaded and reloads a changed file.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from decimal import Decimal
from hashlib import sha256
from pathlib import Path
from typing import Any

from rules.conditions import DECIMALS, compile_condition, facts_in
from rules.driver import CHUNK, Engine, EngineError, no_cycle_collection
from rules.encoding import Encoder, FactsRefused
from rules.reasons import Decision, Explainer, Reason
from rules.spec import NAME, Case, RuleFile, RuleFileError, check_facts, parse_rule_file

__all__ = [
    "RULES_DIR",
    "Case",
    "Decision",
    "FactsRefused",
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
"""The company's rule sets (`<name>.yaml`), beside the library."""


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
        self.languages: list[str] = list(spec.languages)
        """The languages of its reasons; decisions are made in the first."""
        self.listed = sorted(spec.rules, key=lambda rule: (rule.priority is None, rule.priority or 0))  # stable
        """The rules in listing order (priority, then file order): the order of a decision's reasons."""
        read = set().union(*(facts_in(rule.when) for rule in self.listed))
        engine_facts = [name for name in self.fact_types if name in read]  # the others: reasons only
        names = {name: f"f{k}" for k, name in enumerate(engine_facts)}  # short: less JSON for the engine to read
        self._encoder = Encoder(self.fact_types, engine_facts)
        self._explainer = Explainer(spec, self.listed, self.version)
        expressions = [compile_condition(rule.when, self.fact_types, names) for rule in self.listed]
        every_fact = {"$ex": {names[engine_facts[0]]: 1}}
        self._engine = Engine(f"{self.name}-{self.version[:12]}", expressions, every_fact, list(names.values()))

    def decide(self, facts: Mapping[str, Any]) -> Decision:
        """Decide one fact set (ValueError naming the fact if one is missing, undeclared or mistyped)."""
        try:
            return self.decide_many([facts])[0]
        except FactsRefused as refused:
            raise ValueError(refused.reason) from None

    def decide_many(self, facts: Sequence[Mapping[str, Any]]) -> list[Decision]:
        """Decide many fact sets, CHUNK of them per engine session; all are checked before any is decided
        (FactsRefused, a ValueError, at the first that does not fit)."""
        with no_cycle_collection():
            chunks, columns, safe = self._encoder.encode(facts, CHUNK)
            fired = []
            for values in chunks:
                fired += self._engine.run(values)
            return self._explainer.decisions(fired, columns, safe)

    def reasons(self, decision: Decision, language: str) -> list[Reason]:
        """The reasons of a decision of this rule set (made now, or stored: `Decision.model_validate` of its JSON)
        written in `language`, or in the file's first language when the file has no such language. Its reasons
        name the rules that fired; ValueError if this rule set has no such rule or lacks a fact a reason prints."""
        try:
            return self._explainer.reasons(decision.fired, decision.facts, language)
        except KeyError as missing:
            where = f"rule set {self.name!r} version {self.version[:12]}"
            raise ValueError(f"{where} has no rule or fact {missing}") from None

    def printed_facts(self, fired: Sequence[str], facts: Mapping[str, Any]) -> dict[str, Any]:
        """The facts (of a decision's, JSON-safe) that the reasons of the rules `fired` print, in every language of
        the file: with those rules, enough to write the reasons again in another language (`reasons`) where keeping
        every fact costs too much (the nightly review's row per customer)."""
        return {name: facts[name] for name in self._explainer.printed(fired)}

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


def load_ruleset_text(text: str, source: str) -> RuleSet:
    """A rule set from the text of a rule file (e.g. a stored version); RuleFileError names `source`."""
    return _load(text, source, None)


def load_ruleset(path: Path, *, max_bytes: int | None = None) -> RuleSet:
    """A rule set from a file named after it (`<ruleset>.yaml`); RuleFileError says where it is wrong. With
    `max_bytes`, the file is read through one bounded read (whatever it is: /dev/zero too) and refused when it
    holds more."""
    try:
        with path.open("rb") as handle:
            data = handle.read() if max_bytes is None else handle.read(max_bytes + 1)
        if max_bytes is not None and len(data) > max_bytes:
            raise RuleFileError(str(path), None, None, f"the file is larger than the limit of {max_bytes:,} bytes")
        text = data.decode("utf-8")
    except (OSError, UnicodeError) as error:
        raise RuleFileError(str(path), None, None, f"cannot read the rule file: {error}") from None
    return _load(text, str(path), path.stem)


def _load(text: str, source: str, name: str | None) -> RuleSet:
    spec = parse_rule_file(text, source, name)
    try:
        return RuleSet(spec, text)
    except EngineError as error:
        raise RuleFileError(source, None, None, f"durable-rules refused the rule set: {error}") from None


_cache: dict[Path, tuple[tuple[int, int], RuleSet | RuleFileError, RuleSet | None]] = {}
"""By file: its stamp, what it loaded to, and the last good version loaded from it in this process."""
_cache_lock = threading.Lock()


def get_ruleset(name: str, rules_dir: Path | None = None, *, keep_last: bool = True) -> RuleSet:
    """The rule set in `<rules_dir>/<name>.yaml` (default: this package), reloaded when the file changes.

    A changed file that does not load is logged (once) and the last good version loaded in this process keeps
    serving; RuleFileError only if there never was a good one. With `keep_last=False` the RuleFileError is raised
    for as long as the file stays refused: the caller serves a last good version of its own (kamflow's is in its
    database, so a fresh process has one too)."""
    if not NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a rule set name")
    path = (rules_dir or RULES_DIR) / f"{name}.yaml"
    with _cache_lock:
        cached = _cache.get(path)
        stamp = _stamp(path)
        if cached is None or cached[0] != stamp:
            last = None if cached is None else cached[2]
            loaded: RuleSet | RuleFileError
            try:
                loaded = last = load_ruleset(path)
            except RuleFileError as error:
                if keep_last and last is not None:
                    log.error("%s -- rule set %r keeps serving version %s", error, name, last.version[:12])
                loaded = error
            cached = _cache[path] = (stamp, loaded, last)
        _, loaded, last = cached
    if isinstance(loaded, RuleSet):
        return loaded
    if keep_last and last is not None:
        return last
    raise loaded.with_traceback(None)


def _stamp(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except OSError:
        return (-1, -1)  # gone or unreadable: load_ruleset says why
    return (stat.st_mtime_ns, stat.st_size)
