"""The reader's language: what kamflow writes is English in the code and comes out in the reader's language through
gettext catalogs kept with Babel (`kamflow/locale/<language>/LC_MESSAGES/kamflow.po`, `./dev i18n` extracts and
updates them); numbers, money and dates come out as that reader writes them.

Whose language a text is in is a context variable: the CLI sets it from `--lang`, the acting person's preferred
language or the company's (`KAMFLOW_LANGUAGE`); the workspace from the signed-in person; mail from its recipient;
flows from the person they wait for or the company. `_` reads it at call time, so a text built for one reader
never leaks into another's.
"""

from __future__ import annotations

import datetime as dt
import gettext as _gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, get_args

from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

from kamflow.settings import Language, get_settings

if TYPE_CHECKING:
    from jinja2 import Environment
    from pydantic_core import ErrorDetails

__all__ = [
    "LANGUAGES",
    "N_",
    "Language",
    "_",
    "current",
    "day",
    "install",
    "language_of",
    "money",
    "ngettext",
    "number",
    "reading",
]

LANGUAGES: tuple[Language, ...] = get_args(Language)
"""The languages kamflow speaks: English (the language of the code) and Spanish."""
SOURCE: Language = "en"
LOCALES: dict[Language, str] = {"en": "en_GB", "es": "es_ES"}
"""The Babel locale each language writes numbers, money and dates in."""
DAY_PATTERNS: dict[Language, str] = {"en": "yyyy-MM-dd", "es": "dd/MM/yyyy"}
CATALOGS = Path(__file__).with_name("locale")
DOMAIN = "kamflow"

_reader: ContextVar[Language | None] = ContextVar("kamflow_reader_language", default=None)


def current() -> Language:
    """The language of the reader kamflow is writing for now: the one set by `reading`, else the company's."""
    language = _reader.get()
    if language is not None:
        return language
    return get_settings().language


@contextmanager
def reading(language: Language | None) -> Iterator[Language]:
    """Write for a reader of `language` inside the block (None: the company's language)."""
    token = _reader.set(language)
    try:
        yield current()
    finally:
        _reader.reset(token)


@cache
def translations(language: Language) -> _gettext.NullTranslations:
    """The compiled catalog of a language (compiled from its .po with Babel, once per process); the source
    language is the code's own words."""
    if language == SOURCE:
        return _gettext.NullTranslations()
    with (CATALOGS / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po:
        catalog = read_po(po, locale=LOCALES[language])
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return _gettext.GNUTranslations(compiled)


def _(message: str) -> str:
    """`message` (English, as written in the code) in the reader's language."""
    return translations(current()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The singular or plural of a message for `count`, in the reader's language."""
    return translations(current()).ngettext(singular, plural, count)


def N_(message: str) -> str:
    """Marks a message for the catalog where it is defined (a table of labels); `_` translates it where shown."""
    return message


INPUT_ERRORS = {
    "missing": N_("Field required"),
    "extra_forbidden": N_("Extra inputs are not permitted"),
    "literal_error": N_("Input should be {expected}"),
    "enum": N_("Input should be {expected}"),
    "greater_than": N_("Input should be greater than {gt}"),
    "greater_than_equal": N_("Input should be greater than or equal to {ge}"),
    "less_than": N_("Input should be less than {lt}"),
    "less_than_equal": N_("Input should be less than or equal to {le}"),
    "string_too_short": N_("String should have at least {min_length} characters"),
    "string_too_long": N_("String should have at most {max_length} characters"),
    "string_pattern_mismatch": N_("String should match pattern '{pattern}'"),
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "decimal_parsing": N_("Input should be a valid decimal"),
    "decimal_max_digits": N_("Decimal input should have no more than {max_digits} digits in total"),
    "decimal_max_places": N_("Decimal input should have no more than {decimal_places} decimal places"),
    "finite_number": N_("Input should be a finite number"),
    "date_parsing": N_("Input should be a valid date in the format YYYY-MM-DD"),
    "date_from_datetime_parsing": N_("Input should be a valid date in the format YYYY-MM-DD"),
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
}
"""pydantic's messages for the mistakes people's input can make (pydantic writes them in English only), by error
type; any other error reads as pydantic wrote it."""


def input_error(error: ErrorDetails) -> str:
    """Why one of pydantic's errors (`ValidationError.errors()`) refused an input, in the reader's language: a
    validator's own message as it wrote it, the common mistakes from INPUT_ERRORS with their bounds as the reader
    writes numbers, anything else as pydantic says it."""
    known = INPUT_ERRORS.get(error["type"])
    if known is None:
        return str(error["msg"]).removeprefix("Value error, ")
    given = {
        name: number(value) if isinstance(value, int | Decimal) and not isinstance(value, bool) else value
        for name, value in error.get("ctx", {}).items()
    }
    if "expected" in given:  # 'approve', 'reject' or 'counter'
        given["expected"] = str(given["expected"]).replace(" or ", _(" or "))
    return _(known).format_map(given)


def number(value: Decimal | int | str, places: int | None = None) -> str:
    """A number as the reader writes it: thousands grouped, the reader's decimal mark; `places` fixes the
    decimals (amounts), else as many as the value has (12.5, 1,250 / 12,5, 1.250)."""
    amount = Decimal(value)
    pattern = "#,##0." + "0" * places if places else "#,##0" if places == 0 else "#,##0.###############"
    if places is None:
        amount = amount.normalize()
    exact = places is not None
    return format_decimal(amount, format=pattern, locale=LOCALES[current()], decimal_quantization=exact)


def money(value: Decimal | int | str, currency: str | None = None) -> str:
    """An amount with its currency as the reader writes it: €106,355.82 / 106.355,82 €."""
    code = currency or get_settings().currency
    return format_currency(Decimal(value), code, locale=LOCALES[current()])


def day(value: dt.date) -> str:
    """A date as the reader writes it: 2026-03-16 / 16/03/2026."""
    return format_date(value, DAY_PATTERNS[current()], locale=LOCALES[current()])


def marks() -> tuple[str, str]:
    """The reader's decimal mark and thousands mark: (".", ",") in English, (",", ".") in Spanish."""
    return (".", ",") if current() == "en" else (",", ".")


def language_of(value: str | None) -> Language | None:
    """A stored or given language (a person's preference, `--lang`), None when none is set; else InvalidInput."""
    if value is None or value == "":
        return None
    if value not in LANGUAGES:
        from kamflow.errors import InvalidInput

        raise InvalidInput(
            _("language: {value} is not one of kamflow's languages ({languages})").format(
                value=repr(value[:20]), languages=", ".join(LANGUAGES)
            ),
            field="language",
        )
    return value  # one of LANGUAGES


def install(environment: Environment) -> None:
    """Give a Jinja2 environment the reader's language: {{ _("…") }} and {% trans %} through the catalogs, and
    number, money and day as the reader writes them."""
    environment.add_extension("jinja2.ext.i18n")
    environment.install_gettext_callables(_, ngettext, newstyle=True)  # type: ignore[attr-defined]
    environment.globals.update(number=number, money=money, day=day, language=current)
