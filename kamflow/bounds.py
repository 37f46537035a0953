"""Bounds on what people give: texts, codes, amounts, ids, dates and files.

One source of truth. A text a person types ends in a column, and its type is built from that column:
`Annotated[str, Line(Customer.name)]` is at most as long as `customers.name` holds, so the input models, the
resume forms (their JSON schema carries the same `maxLength` and `pattern`, which Prefect's server checks) and
the database agree; a value one past the bound is refused, naming the field, before anything is written.
Texts kept in unbounded Text columns take their bound from the constants here (`NOTE_CHARS`, `DOCUMENT_CHARS`).
Amounts take their digits from the column's Numeric precision (`Amount(Money)`).

What every such text refuses: NUL and the other C0/C1 control characters (a `Prose` text keeps newline, tab
and carriage return), and the bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069) that make a
text read differently from what it holds. Codes, numbers and dates are ASCII: `[0-9]`, never `\\d` or
`str.isdigit()`, which take the digits of every script (a customer code `C٩١١٥` is not `C9115`).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema
from sqlalchemy import Numeric, String

from kamflow import i18n
from kamflow.errors import InvalidInput
from kamflow.i18n import N_, _

MAX_ID = 2**63 - 1
"""Ids are 1..MAX_ID (a signed 64-bit integer, what every backend's integer key holds)."""
NOTE_CHARS = 2000
"""Comments, notes and reasons (kept in Text columns)."""
DOCUMENT_CHARS = 200_000
"""A document's text (kept in a Text column)."""

_BIDI = "\u202a-\u202e\u2066-\u2069"
_LINE_FORBIDDEN = f"\x00-\x1f\x7f-\x9f{_BIDI}"
_PROSE_FORBIDDEN = f"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}"
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def _escaped(chars: str) -> str:
    """A character class's body as a regex escape text both Python and JSON-schema (ECMA) engines read."""
    return "".join(c if c == "-" else f"\\u{ord(c):04x}" for c in chars)


def column_length(column: Any) -> int:
    """The length of a String column (a mapped attribute or a Column); a number is its own length (a text that
    is checked, not stored)."""
    if isinstance(column, int):
        return column
    kind = getattr(column, "type", None)
    if not isinstance(kind, String) or kind.length is None:
        raise TypeError(f"{column} is not a String column with a length")
    return kind.length


_FORBIDDEN = {
    prose: re.compile(f"[{chars}]") for prose, chars in ((False, _LINE_FORBIDDEN), (True, _PROSE_FORBIDDEN))
}
"""The forbidden characters of a line and of prose, compiled once (every text of every row is checked)."""


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@dataclass(frozen=True)
class _Text:
    """Pydantic metadata for a person's text: `min_length..length` characters, stripped unless `prose`, none
    of the forbidden characters, and (for codes) matching `pattern` in full."""

    length: int
    columns: tuple[Any, ...] = ()
    prose: bool = False
    pattern: str | None = None
    example: str = ""
    min_length: int = 1

    @property
    def forbidden(self) -> str:
        return _PROSE_FORBIDDEN if self.prose else _LINE_FORBIDDEN

    def check(self, value: str) -> str:
        bad = _FORBIDDEN[self.prose].search(value)
        if bad is not None:
            raise PydanticCustomError(
                "forbidden_character",
                _("control or bidirectional character U+{code} is not allowed"),
                {"code": f"{ord(bad.group()):04X}"},
            )
        if self.pattern is not None and _compiled(self.pattern).fullmatch(value) is None:
            raise PydanticCustomError(
                "code_pattern", _("write it like {example} (ASCII letters and digits)"), {"example": self.example}
            )
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        text = core_schema.str_schema(
            min_length=self.min_length, max_length=self.length, strip_whitespace=not self.prose
        )
        return core_schema.no_info_after_validator_function(self.check, text)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        found = handler(schema)
        found["pattern"] = f"^(?:{self.pattern})$" if self.pattern else f"^[^{_escaped(self.forbidden)}]*$"
        return found


def Line(*columns: Any, min_length: int = 1) -> _Text:
    """One line of text stored in `columns` (the first is the bound; the others must hold at least as much), or
    of at most `columns[0]` characters when that is a number."""
    return _Text(length=column_length(columns[0]), columns=columns, min_length=min_length)


def Prose(length: int, *, min_length: int = 0) -> _Text:
    """A text of several lines kept in a Text column: at most `length` characters (a constant of this module)."""
    return _Text(length=length, prose=True, min_length=min_length)


def Code(column: Any, pattern: str, *, example: str) -> _Text:
    """A code stored in `column`, matching `pattern` (ASCII) in full."""
    return _Text(length=column_length(column), columns=(column,), pattern=pattern, example=example)


def fit(text: str, column: Any) -> str:
    """A text the program makes (a title from a heading, a task's title around a document's) cut to what
    `column` holds, ending with an ellipsis when cut."""
    length = column_length(column)
    return text if len(text) <= length else text[: length - 1] + "…"


@dataclass(frozen=True)
class Amount:
    """Pydantic metadata for an amount stored in a Numeric(p, s) column: at most p - s digits before the dot and
    s after it, ASCII digits only when given as text (Decimal("١٢") would be 12), finite, and within the
    bounds given (`gt`/`ge`/`lt`)."""

    column_type: Numeric[Any]
    gt: Decimal | None = None
    ge: Decimal | None = None
    lt: Decimal | None = None

    def ascii_number(self, value: Any) -> Any:
        if isinstance(value, str) and PLAIN_NUMBER.fullmatch(value.strip()) is None:
            raise PydanticCustomError(
                "plain_number",
                _("write a plain number with ASCII digits and a dot (e.g. 1250.50), not {given}"),
                {"given": repr(value[:40])},
            )
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        precision, scale = self.column_type.precision, self.column_type.scale
        assert precision is not None and scale is not None
        number = core_schema.decimal_schema(
            max_digits=precision, decimal_places=scale, allow_inf_nan=False, gt=self.gt, ge=self.ge, lt=self.lt
        )
        return core_schema.no_info_before_validator_function(self.ascii_number, number)


@dataclass(frozen=True)
class IsoDate:
    """Pydantic metadata: a plain date, YYYY-MM-DD when given as text (no time part, no week or ordinal forms,
    no timestamps)."""

    def plain(self, value: Any) -> Any:
        if isinstance(value, dt.datetime) or (
            not isinstance(value, dt.date) and not (isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()))
        ):
            given = repr(value[:40] if isinstance(value, str) else value)
            raise PydanticCustomError("plain_date", _("write a date as YYYY-MM-DD, not {given}"), {"given": given})
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(self.plain, handler(source))


def parse_date(value: str, field: str) -> dt.date:
    """A date given as YYYY-MM-DD; InvalidInput naming `field` otherwise."""
    if _ISO_DATE.fullmatch(value.strip()) is not None:
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    said = _("{field}: {value} is not a date (YYYY-MM-DD)").format(field=field, value=repr(value[:40]))
    raise InvalidInput(said, field=field)


def read_bounded(path: Path, limit: int, *, field: str = "file", what: str = N_("the file")) -> bytes:
    """At most `limit` bytes of a file, read through one bounded read whatever the file is (a pipe, a device
    like /dev/zero): InvalidInput naming the file and the limit if it holds more, or if it cannot be read."""
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as error:
        said = _("cannot read {what}: {path}: {error}").format(
            what=_(what), path=path, error=error.strerror or error
        )
        raise InvalidInput(said, field=field) from None
    if len(data) > limit:
        said = _("{what} {path} is larger than the limit of {limit} bytes")
        raise InvalidInput(said.format(what=_(what), path=path, limit=i18n.number(limit)), field=field)
    return data


def read_bounded_text(path: Path, limit: int, *, field: str = "file", what: str = N_("the file")) -> str:
    """`read_bounded`, decoded as UTF-8 (a byte-order mark is dropped)."""
    try:
        return read_bounded(path, limit, field=field, what=what).decode("utf-8-sig")
    except UnicodeDecodeError as error:
        said = _("{path} is not UTF-8: {reason} at byte {byte}")
        raise InvalidInput(said.format(path=path, reason=error.reason, byte=error.start), field=field) from None


_WRITTEN_NUMBER = re.compile(r"-?[0-9]+([.,][0-9]+)?")
_AMBIGUOUS = re.compile(r"-?[1-9][0-9]{0,2}[.,][0-9]{3}")
_GROUPED = re.compile(r"-?[0-9]{1,3}([ .,'\u00a0\u202f][0-9]{3})+([.,][0-9]+)?")


NOT_A_NUMBER = N_("{field}: write a number with digits and a decimal comma or dot (e.g. 12,5 or 12.5), not {text}")


def parse_number(text: str, *, field: str) -> Decimal:
    """A number as people write it, exactly: "12,5" and "12.5" are both Decimal("12.5"); thousands may be grouped
    by a space, an apostrophe or the other mark ("1.250,50", "1,250.50", "1 250,50"). One mark alone is the decimal
    mark ("1,25" is 1.25), except where the reader's language would read it as grouping thousands ("1.234" in
    Spanish, "1,234" in English): that is refused as ambiguous. ASCII digits only; anything else is InvalidInput
    naming the field."""
    written = text.strip()
    single = _WRITTEN_NUMBER.fullmatch(written)
    if single is None:
        grouped = _GROUPED.fullmatch(written)
        if grouped is None or (grouped.group(2) and grouped.group(2)[0] == grouped.group(1)[0]):
            raise InvalidInput(_(NOT_A_NUMBER).format(field=field, text=repr(written[:40])), field=field)
        decimals = grouped.group(2) or ""
        written = re.sub(r"[^0-9-]", "", written[: len(written) - len(decimals)]) + decimals
    elif _AMBIGUOUS.fullmatch(written) and written[-4] == i18n.marks()[1]:
        decimal, thousands = i18n.marks()
        raise InvalidInput(
            _(
                "{field}: {text} is ambiguous: '{thousands}' groups thousands here, so it may mean {whole} or "
                "{fraction}; write {whole} for the one, {fraction} (with a decimal '{decimal}') for the other"
            ).format(
                field=field,
                text=written,
                thousands=thousands,
                decimal=decimal,
                whole=written.replace(thousands, ""),
                fraction=written.replace(thousands, decimal),
            ),
            field=field,
        )
    return Decimal(written.replace(",", "."))
