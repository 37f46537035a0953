"""Numbers as people write them (kamflow.bounds.parse_number) and as the company shows them
(kamflow.reports.local): a decimal comma or dot, thousands grouped, always the exact Decimal."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kamflow.bounds import parse_number
from kamflow.errors import InvalidInput
from kamflow.reports import local


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
        ("1,250", "1.250"),  # one mark alone is the decimal mark
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


@given(st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2, allow_nan=False))
def test_what_the_company_shows_reads_back_as_the_same_number(value: Decimal) -> None:
    for comma in (True, False):
        assert parse_number(local(value, decimal_comma=comma, places=2), field="amount") == value


def test_the_company_shows_numbers_in_its_own_way() -> None:
    assert local(Decimal("1234567.5"), decimal_comma=True, places=2) == "1.234.567,50"
    assert local(Decimal("1234567.5"), decimal_comma=False, places=2) == "1,234,567.50"
    assert local(Decimal("12.5000"), decimal_comma=True) == "12,5"
