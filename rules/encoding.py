"""Fact sets checked and written as the JSON the engine reads, and kept JSON-safe for the Decision.

Done fact by fact over all the fact sets of a batch (`map` over columns, several times faster than set by
set). Numbers reach the engine as doubles; see rules/README.md, "Numbers".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from itertools import repeat
from json.encoder import encode_basestring
from operator import itemgetter
from typing import Any, NoReturn

from rules.conditions import NUMERIC, engine_number
from rules.spec import PYTHON_TYPES, check_facts

__all__ = ["SHORT_DECIMAL", "Encoder", "FactsRefused"]

SHORT_DECIMAL = 16
"""Decimals whose string is at most this long (and has no exponent) go to the engine as that string: it reads
up to 15 significant digits exactly as float() does (a test checks random ones); longer ones go through float()."""

_TYPES = {kind: frozenset(types) for kind, types in PYTHON_TYPES.items()}
_DECIMALS = {Decimal}
_ENCODERS: dict[str, Callable[[Any], str]] = {
    "string": encode_basestring,
    "boolean": {True: "true", False: "false"}.__getitem__,
}


class FactsRefused(ValueError):
    """`decide_many` refused the fact set at `index` of its batch (the message names it, the fact and why)."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(f"fact set {index}: {message}")
        self.index, self.reason = index, message


class Encoder:
    """Checks a rule set's fact sets and writes them for the engine: each set's body (`"name":value,...` of the
    facts the engine reads, each under its name in `engine_names`, in that order) and its JSON-safe values
    (Decimals as their strings)."""

    def __init__(self, fact_types: Mapping[str, str], engine_names: Mapping[str, str]) -> None:
        self._types = dict(fact_types)
        self._names = frozenset(fact_types)
        self._engine_facts = list(engine_names)
        self._body = ",".join(f"{encode_basestring(name)}:%s" for name in engine_names.values())

    def encode(
        self, facts: Sequence[Mapping[str, Any]]
    ) -> tuple[list[str], dict[str, Sequence[Any]], list[dict[str, Any]]]:
        """The fact sets' bodies, and their JSON-safe values fact by fact and set by set; FactsRefused at the
        first set that does not fit (if anything does not, _refuse finds the first fact set and fact that does
        not)."""
        if not all([one.keys() == self._names for one in facts]):
            self._refuse(facts)
        values = itemgetter(*self._types)  # a tuple per fact set, but the value itself for a single fact
        sets = map(values, facts) if len(self._types) > 1 else zip(map(values, facts))
        columns = dict.fromkeys(self._types, ()) | dict(zip(self._types, zip(*sets, strict=True), strict=False))
        types = {name: set(map(type, column)) for name, column in columns.items()}
        if not all(types[name] <= _TYPES[kind] for name, kind in self._types.items()):
            self._refuse(facts)
        try:
            safe = {name: _json_safe(columns[name], types[name]) for name in self._types}
            encoded = [
                _encoded(self._types[name], columns[name], types[name], safe[name]) for name in self._engine_facts
            ]
        except (ValueError, OverflowError):
            self._refuse(facts)
        bodies = list(map(self._body.__mod__, zip(*encoded, strict=True)))
        return bodies, safe, list(map(dict, map(zip, repeat(list(safe)), zip(*safe.values(), strict=True))))

    def _refuse(self, facts: Sequence[Mapping[str, Any]]) -> NoReturn:
        """Raise FactsRefused for the first fact set that `encode` cannot take, naming the fact and the reason."""
        for index, one in enumerate(facts):
            try:
                check_facts(self._types, one)
            except ValueError as error:
                raise FactsRefused(index, str(error)) from None
            for name in self._engine_facts:  # the types fit: is a number beyond what the engine reads?
                try:
                    _encoded(self._types[name], [one[name]], set(), [])
                except ValueError as error:
                    raise FactsRefused(index, f"fact {name!r}: {error}") from None
        raise AssertionError("fact sets refused without a reason")


def _encoded(kind: str, values: Sequence[Any], types: set[type], safe: Sequence[Any]) -> Sequence[str]:
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


def _json_safe(values: Sequence[Any], types: set[type]) -> Sequence[Any]:
    """Values of one fact as Decision.facts keeps them (Decimals as their strings); ValueError if a Decimal
    is not finite."""
    if Decimal not in types:
        return values
    texts = list(map(Decimal.__str__ if len(types) == 1 else str, values))  # the former is a little faster
    joined = "".join(texts)
    if "N" in joined or "I" in joined:  # NaN, sNaN, Infinity: a finite Decimal's string has neither
        raise ValueError("a decimal that is not finite")
    return (
        texts
        if len(types) == 1
        else [text if type(v) is Decimal else v for text, v in zip(texts, values, strict=True)]
    )
