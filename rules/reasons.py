"""Explained decisions: what a combination of fired rules decides, and its reasons printed with the facts.

The outcome is the first of the rule file's `outcomes` that a fired rule gives, the role the highest among the
fired rules with that outcome; reasons print numbers and amounts as people read them and string facts in the
file's `words:` (rules/README.md, "Decisions"). One worked-out verdict per combination of fired rules, and
Decisions built from values already known valid, keep batches fast. A batch's reasons are written in the rule
file's first language; `Explainer.reasons` writes those of a decision in any of its languages.
"""

from __future__ import annotations

import string
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from itertools import groupby, repeat
from typing import Any, TypeVar

from babel.numbers import get_decimal_symbol, get_group_symbol
from pydantic import BaseModel, Field

from rules.spec import DEFAULT_RULE_ID, LANGUAGES, Default, Rule, RuleFile, in_language

__all__ = ["SHOW", "YES_NO", "Decision", "Explainer", "Reason", "printers"]

MAX_VERDICTS = 4096
"""Distinct combinations of fired rules whose outcome, role and reason templates a rule set keeps worked out."""


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
_FIELDS = {Reason: set(Reason.model_fields), Decision: set(Decision.model_fields)}
"""Shared by every model _built makes: every field is set, so pydantic never has a name to add to them."""
_SET_DICT, _SET_FIELDS, _SET_EXTRA, _SET_PRIVATE = (
    BaseModel.__dict__[slot].__set__
    for slot in ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")
)
"""The setters of a pydantic model's slots: faster than object.__setattr__ by name."""
_exhaust: Callable[[Iterable[Any]], None] = deque(maxlen=0).extend
"""Runs an iterator to its end, keeping nothing."""


def _built(model: type[Model], values: list[dict[str, Any]]) -> list[Model]:
    """Models from values this module made and knows valid: what `model_construct` does without its per-field
    work (Reason and Decision have no defaults, aliases or private attributes), their slots set directly and
    every step mapped over all of them at once, which makes batches faster."""
    built = list(map(object.__new__, repeat(model, len(values))))
    _exhaust(map(_SET_DICT, built, values))
    _exhaust(map(_SET_FIELDS, built, repeat(_FIELDS[model])))
    _exhaust(map(_SET_EXTRA, built, repeat(None)))
    _exhaust(map(_SET_PRIVATE, built, repeat(None)))
    return built


Show = Callable[[Sequence[Any]], list[str]]
"""How reasons print values of one fact (given them as Decision.facts keeps them): all at once, in order."""


def _show_numbers(values: Sequence[Any], places: int, marks: dict[int, str] | None) -> list[str]:
    """Decimal or money facts (as Decision.facts keeps them: ints or the Decimals' strings) as reasons print them:
    the integer part grouped with commas, no exponent, the fraction's trailing zeros stripped down to `places`
    digits (never rounded) and no sign on zero: 2,600 and 13.5 with 0 places, 90,000.00 and 1.005 with 2; with
    `marks`, another language's decimal and grouping marks. Mapped over all the values at once."""
    plain = set(map(type, values)) == {str} and "E" not in "".join(values)
    texts: Sequence[str] = (
        values if plain else [str(v) if isinstance(v, int) else format(Decimal(v), "f") for v in values]
    )
    wholes, _, fractions = zip(*map(str.partition, texts, repeat(".")), strict=True) if texts else ((), (), ())
    fractions = tuple(map(str.ljust, map(str.rstrip, fractions, repeat("0")), repeat(places), repeat("0")))
    # a Decimal's string has no leading zeros: int() keeps the whole part's digits
    grouped = [whole if len(whole) <= 3 else f"{int(whole):,}" for whole in wholes]
    if "-0" in grouped:
        grouped = [
            "0" if whole == "-0" and not fraction.strip("0") else whole
            for whole, fraction in zip(grouped, fractions, strict=True)
        ]
    shown = map(str.rstrip, map(".".join, zip(grouped, fractions, strict=True)), repeat("."))  # 2,600. is 2,600
    return list(shown if marks is None else map(str.translate, shown, repeat(marks)))


YES_NO: dict[str, tuple[str, str]] = {"en": ("yes", "no"), "es": ("sí", "no")}
"""How reasons print a boolean fact in each of the languages they are written in (rules.spec.LANGUAGES)."""


def printers(language: str) -> dict[str, Show]:
    """How reasons in `language` print a fact of each type: numbers with the language's decimal and grouping
    marks (Babel's locale data), booleans in its words."""
    decimal_mark, group_mark = get_decimal_symbol(language), get_group_symbol(language)
    marks = (
        None if (decimal_mark, group_mark) == (".", ",") else str.maketrans({".": decimal_mark, ",": group_mark})
    )
    yes, no = YES_NO[language]
    return {
        "decimal": partial(_show_numbers, places=0, marks=marks),  # 2,600, 13.5, 1.29 / 2.600, 13,5, 1,29
        "money": partial(_show_numbers, places=2, marks=marks),  # 90,000.00, -1,200.00 / 90.000,00, -1.200,00
        "integer": lambda values: list(map(str, values)),
        "string": list,
        "boolean": lambda values: [yes if value else no for value in values],
    }


SHOW = printers(LANGUAGES[0])
"""How English reasons print a fact of each type."""


def _in_words(words: Mapping[str, str]) -> Show:
    """A string fact as reasons print it when its rule file gives words for its values."""
    return lambda values: list(map(words.get, values, values))


def _positional(template: str) -> tuple[str, tuple[str, ...]]:
    """A `{fact}` reason template as a positional %-style one, which fills in faster, and the facts it prints in
    order: "Discount {discount_pct}% is ..." is ("Discount %s%% is ...", ("discount_pct",))."""
    parsed = list(string.Formatter().parse(template))
    return (
        "".join(literal.replace("%", "%%") + ("" if field is None else "%s") for literal, field, _, _ in parsed),
        tuple(field for _, field, _, _ in parsed if field is not None),
    )


def _printed(show: Show, values: Sequence[Any]) -> list[str]:
    """The values of one fact as reasons print them, each distinct value printed once."""
    distinct = list(dict.fromkeys(values))
    return list(map(dict(zip(distinct, show(distinct), strict=True)).__getitem__, values))


@dataclass(frozen=True)
class _Verdict:
    """What one combination of fired rules decides: outcome, role, and (rule id, reason template, the facts it
    prints) of each fired rule in listing order, the templates positional %-style."""

    outcome: str
    role: str | None
    reasons: tuple[tuple[str, str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class _Writing:
    """How a rule set's reasons are written in one language: each fact's printing, and each rule's template
    (by rule id, `default` too) positional %-style with the facts it prints."""

    show: dict[str, Show]
    templates: dict[str, tuple[str, tuple[str, ...]]]


class Explainer:
    """A rule set's Decisions from the rules that fired (a mask, bit k: listed rule k) and the JSON-safe facts,
    their reasons in the rule file's first language; and a decision's reasons in any of its languages."""

    def __init__(self, spec: RuleFile, listed: list[Rule], version: str) -> None:
        self._spec, self._listed, self._version = spec, listed, version
        self._writings: dict[str, _Writing] = {}
        self._first = self._writing(spec.languages[0])
        self._show = self._first.show
        """How a batch's reasons print each fact."""
        self._verdicts: dict[int, _Verdict] = {}
        self._printed: dict[tuple[str, ...], tuple[str, ...]] = {}

    def _writing(self, language: str) -> _Writing:
        """How reasons are written in one of the file's languages (worked out once)."""
        found = self._writings.get(language)
        if found is None:
            spec, shown = self._spec, printers(language)
            rules: list[tuple[str, Rule | Default]] = [(rule.id, rule) for rule in self._listed]
            found = self._writings[language] = _Writing(
                {name: shown[kind] for name, kind in spec.facts.items()}
                | {
                    name: _in_words({value: in_language(text, language) for value, text in words.items()})
                    for name, words in spec.words.items()
                },
                {
                    rule_id: _positional(in_language(rule.reason, language))
                    for rule_id, rule in [(DEFAULT_RULE_ID, spec.default), *rules]
                },
            )
        return found

    def reasons(self, fired: Sequence[str], facts: Mapping[str, Any], language: str) -> list[Reason]:
        """The reasons of the rules `fired` (rule ids, `default` too) for JSON-safe `facts` (as Decision.facts
        keeps them), written in `language`, or in the file's first language when it has no such language.
        KeyError for a rule or a fact the rule set does not have."""
        languages = self._spec.languages
        writing = self._writing(language if language in languages else languages[0])
        reasons = []
        for rule in fired:
            template, names = writing.templates[rule]
            shown = tuple(writing.show[name]([facts[name]])[0] for name in names)
            reasons.append(Reason(rule=rule, text=template % shown))
        return reasons

    def printed(self, fired: Sequence[str]) -> tuple[str, ...]:
        """The facts the reasons of the rules `fired` print (every language prints the same: the file's check),
        worked out once for each combination. KeyError for a rule the rule set does not have."""
        key = tuple(fired)
        found = self._printed.get(key)
        if found is None:
            names = (name for rule in fired for name in self._first.templates[rule][1])
            found = self._printed[key] = tuple(dict.fromkeys(names))
        return found

    def decisions(
        self, fired: list[int], columns: Mapping[str, Sequence[Any]], facts: list[dict[str, Any]]
    ) -> list[Decision]:
        """The Decisions of fact sets (`facts`; `columns` the same, fact by fact) given the rules each fired:
        verdict by verdict, each reason filled in for every fact set it explains at once."""
        by_mask = sorted(range(len(fired)), key=fired.__getitem__)
        decisions: list[Decision | None] = [None] * len(fired)
        ruleset, version = self._spec.ruleset, self._version
        for mask, group in groupby(by_mask, key=fired.__getitem__):
            indices = list(group)
            verdict = self._verdicts.get(mask) or self._verdict(mask)
            printed: dict[str, list[str]] = {}
            reasons = []
            for rule, template, names in verdict.reasons:
                for name in names:
                    if name not in printed:
                        printed[name] = _printed(self._show[name], list(map(columns[name].__getitem__, indices)))
                shown = zip(*[printed[name] for name in names], strict=True) if names else repeat((), len(indices))
                texts = map(template.__mod__, shown)
                reasons.append(_built(Reason, [{"rule": rule, "text": text} for text in texts]))
            outcome, role = verdict.outcome, verdict.role
            values = [
                {
                    "ruleset": ruleset,
                    "outcome": outcome,
                    "role": role,
                    "reasons": list(each),
                    "facts": facts[index],
                    "version": version,
                }
                for each, index in zip(zip(*reasons, strict=True), indices, strict=True)
            ]
            _exhaust(map(decisions.__setitem__, indices, _built(Decision, values)))
        return decisions  # type: ignore[return-value]  # every fact set's index is in `by_mask`

    def _verdict(self, fired: int) -> _Verdict:
        """Work out (and keep) what a combination of fired rules decides."""
        chosen: list[tuple[str, Rule | Default]] = [
            (rule.id, rule) for k, rule in enumerate(self._listed) if fired >> k & 1
        ] or [(DEFAULT_RULE_ID, self._spec.default)]
        rules = [rule for _, rule in chosen]
        outcomes, roles = self._spec.outcomes, self._spec.roles
        outcome = min((rule.outcome for rule in rules), key=outcomes.index)
        named = [rule.role for rule in rules if rule.outcome == outcome and rule.role is not None]
        verdict = _Verdict(
            outcome,
            max(named, key=roles.index) if named else None,
            tuple((rule_id, *self._first.templates[rule_id]) for rule_id, _ in chosen),
        )
        if len(self._verdicts) < MAX_VERDICTS:
            self._verdicts[fired] = verdict
        return verdict
