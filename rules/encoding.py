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
    """Checks a rule set's fact sets and writes them for the engine: the values of each fact the engine reads
    (`engine_facts`, in that order) as JSON, and the fact sets' JSON-safe values (Decimals as their strings)."""

    def __init__(self, fact_types: Mapping[str, str], engine_facts: Sequence[str]) -> None:
        self._types = dict(fact_types)
        self._names = frozenset(fact_types)
        self._engine_facts = list(engine_facts)
        self._values = itemgetter(*fact_types)
        """A fact set's values in order: a tuple, but the value itself for a single fact."""

    def encode(
        self, facts: Sequence[Mapping[str, Any]], size: int
    ) -> tuple[list[list[Sequence[str]]], dict[str, list[Any]], list[dict[str, Any]]]:
        """Per `size` fact sets, the values of each engine fact as JSON; and the fact sets' JSON-safe values
        fact by fact and set by set. FactsRefused at the first set that does not fit (if anything does not,
        _refuse finds the first fact set and fact that does not). Done `size` fact sets at a time: their values
        stay in the processor's cache across the passes over them, which makes a large batch faster."""
        chunks: list[list[Sequence[str]]] = []
        columns: dict[str, list[Any]] = {name: [] for name in self._types}
        safe: list[dict[str, Any]] = []
        for start in range(0, len(facts), size):
            encoded = self._chunk(facts[start : start + size], columns, safe)
            if encoded is None:
                self._refuse(facts)
            chunks.append(encoded)
        return chunks, columns, safe

    def _chunk(
        self, facts: Sequence[Mapping[str, Any]], columns: dict[str, list[Any]], safe: list[dict[str, Any]]
    ) -> list[Sequence[str]] | None:
        """The values of each engine fact as JSON, their JSON-safe values added to `columns` and `safe`; None
        if a fact set does not fit."""
        if not all([one.keys() == self._names for one in facts]):
            return None
        sets = map(self._values, facts) if len(self._types) > 1 else zip(map(self._values, facts))
        read = dict(zip(self._types, zip(*sets, strict=True), strict=True))
        types = {name: set(map(type, column)) for name, column in read.items()}
        if not all(types[name] <= _TYPES[kind] for name, kind in self._types.items()):
            return None
        try:
            written = {name: _json_safe(read[name], types[name]) for name in self._types}
            encoded = [
                _encoded(self._types[name], read[name], types[name], written[name]) for name in self._engine_facts
            ]
        except (ValueError, OverflowError):
            return None
        for name, column in written.items():
            columns[name] += column
        safe += map(dict, map(zip, repeat(list(written)), zip(*written.values(), strict=True)))
        return encoded

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
