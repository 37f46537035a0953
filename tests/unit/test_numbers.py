"""Numbers as people write them (kamflow.bounds.parse_number) and as the reader's language shows them
(kamflow.i18n.number): a decimal comma or dot, thousands grouped, always the exact Decimal."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kamflow import i18n
from kamflow.bounds import parse_number
from kamflow.errors import InvalidInput


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("12,5", "12.5"),
        ("12.5", "12.5"),
        (" 17,25 ", "17.25"),
        ("1.250,50", "1250.50"),
        ("1,250.50", "1250.50"),
        ("1 250,50", "1250.50"),
        ("1'250'000", "1250000"),
        ("1,25", "1.25"),  # one mark alone is the decimal mark
        ("1.234", "1.234"),  # in English a dot before three digits is still the decimal mark
        ("0,250", "0.250"),  # no thousands start with 0
        ("-3,25", "-3.25"),
    ],
)
def test_a_number_is_read_exactly_with_a_decimal_comma_or_dot(written: str, value: str) -> None:
    parsed = parse_number(written, field="discount_pct")
    assert parsed == Decimal(value) and str(parsed) == value


@pytest.mark.parametrize("written", ["", "12,5,5", "1.250.50", "1,2.5", "12.5%", "١٢", "1e3", "NaN", "1.25,000"])
def test_anything_else_is_refused_naming_the_field(written: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_number(written, field="amount")
    assert refused.value.field == "amount" and "decimal comma or dot" in refused.value.message


@pytest.mark.parametrize(("language", "written"), [("es", "1.234"), ("en", "1,234"), ("es", "-12.500")])
def test_a_mark_that_groups_thousands_in_the_readers_language_is_refused_as_ambiguous(
    language: i18n.Language, written: str
) -> None:
    with i18n.reading(language), pytest.raises(InvalidInput) as refused:
        parse_number(written, field="amount")
    assert refused.value.field == "amount" and "ambigu" in refused.value.message
    whole = written.replace("." if language == "es" else ",", "")
    assert whole in refused.value.message


def test_twelve_and_a_half_is_the_same_decimal_written_either_way_in_either_language() -> None:
    for language in i18n.LANGUAGES:
        with i18n.reading(language):
            assert parse_number("12,5", field="x") == parse_number("12.5", field="x") == Decimal("12.5")


@given(st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2, allow_nan=False))
def test_what_kamflow_shows_reads_back_as_the_same_number(value: Decimal) -> None:
    for language in i18n.LANGUAGES:
        with i18n.reading(language):
            assert parse_number(i18n.number(value, 2), field="amount") == value


def test_each_language_shows_numbers_in_its_own_way() -> None:
    with i18n.reading("es"):
        assert (i18n.number(Decimal("1234567.5"), 2), i18n.number(Decimal("12.5000"))) == ("1.234.567,50", "12,5")
        assert i18n.money(Decimal("106355.82"), "EUR") == "106.355,82\xa0€"
    with i18n.reading("en"):
        assert (i18n.number(Decimal("1234567.5"), 2), i18n.number(Decimal("12.5000"))) == ("1,234,567.50", "12.5")
        assert i18n.number(Decimal("2600"), 0) == "2,600"


def test_a_persons_figure_is_kept_the_same_in_every_language_and_read_back_in_the_readers() -> None:
    from kamflow.decisions import figure
    from kamflow.reports import figure_text

    shown_in: tuple[tuple[i18n.Language, str], ...] = (("es", "1.250,50"), ("en", "1,250.50"))
    for language, shown in shown_in:
        with i18n.reading(language):
            kept = figure({"amount": "1250.5"})
            assert kept == "1,250.50" and figure_text(kept) == shown
