"""Credit facts as pure arithmetic: ratios, the three Altman models and their zones, exposure, limits."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kamflow.credit import facts, policy
from kamflow.credit.facts import Z_DOUBLE_PRIME, Z_PRIME, Z


def d(*values: str) -> tuple[Decimal, ...]:
    return tuple(Decimal(v) for v in values)


@pytest.mark.parametrize(
    ("model", "ratios", "score", "zone"),
    [
        # the published textbook case: 1.2*0.30 + 1.4*0 + 3.3*(-0.30) + 0.6*0.15 + 1.0*2.1 = 1.56
        (Z, d("0.30", "0", "-0.30", "0.15", "2.1"), "1.56", "distress"),
        # a published exercise: 0.24 + 0 + 0.66 + 0.06 + 2.0 = 2.96
        (Z, d("0.2", "0", "0.2", "0.1", "2.0"), "2.96", "grey"),
        # 0.1434 + 0.0847 + 0.15535 + 0.336 + 1.497 = 2.21635
        (Z_PRIME, d("0.2", "0.1", "0.05", "0.8", "1.5"), "2.22", "grey"),
        # 1.64 + 0.652 + 0.672 + 1.05 = 4.014
        (Z_DOUBLE_PRIME, d("0.25", "0.2", "0.1", "1.0"), "4.01", "safe"),
        # -0.656 - 0.326 - 0.336 + 0.21 = -1.108
        (Z_DOUBLE_PRIME, d("-0.1", "-0.1", "-0.05", "0.2"), "-1.11", "distress"),
    ],
)
def test_altman_scores_reproduce_worked_examples(
    model: facts.AltmanModel, ratios: tuple[Decimal, ...], score: str, zone: str
) -> None:
    result = facts.altman_score(model, ratios)
    assert (result.model, result.score, result.zone) == (model.name, Decimal(score), zone)


@pytest.mark.parametrize(
    ("model", "score", "zone"),
    [
        (Z, "1.80", "distress"),
        (Z, "1.81", "grey"),
        (Z, "2.99", "grey"),
        (Z, "3.00", "safe"),
        (Z_PRIME, "1.22", "distress"),
        (Z_PRIME, "1.23", "grey"),
        (Z_PRIME, "2.90", "grey"),
        (Z_PRIME, "2.91", "safe"),
        (Z_DOUBLE_PRIME, "1.09", "distress"),
        (Z_DOUBLE_PRIME, "1.10", "grey"),
        (Z_DOUBLE_PRIME, "2.60", "grey"),
        (Z_DOUBLE_PRIME, "2.61", "safe"),
    ],
)
def test_zone_cut_offs_belong_to_the_grey_zone(model: facts.AltmanModel, score: str, zone: str) -> None:
    # X1 = score / w1 with the other ratios 0 gives the score (to the rounding of two places)
    ratios = (Decimal(score) / model.weights[0], *[Decimal(0)] * (len(model.weights) - 1))
    assert facts.altman_score(model, ratios).zone == zone


def test_a_model_takes_exactly_its_number_of_ratios() -> None:
    with pytest.raises(ValueError, match="takes 4 ratios"):
        facts.altman_score(Z_DOUBLE_PRIME, d("1", "1", "1", "1", "1"))


STATEMENT = facts.Statement(
    current_assets=Decimal("400000.00"),
    current_liabilities=Decimal("250000.00"),
    inventory=Decimal("120000.00"),
    total_assets=Decimal("1000000.00"),
    total_liabilities=Decimal("600000.00"),
    equity=Decimal("400000.00"),
    retained_earnings=Decimal("150000.00"),
    ebit=Decimal("90000.00"),
    sales=Decimal("1800000.00"),
    market_value_equity=Decimal("900000.00"),
)


def test_the_company_type_chooses_the_model_and_its_ratios() -> None:
    public = facts.altman(STATEMENT, "public_manufacturer")
    # X = 0.15, 0.15, 0.09, 900000/600000 = 1.5 (market value), 1.8 → 0.18 + 0.21 + 0.297 + 0.9 + 1.8
    assert public.model == "Z" and public.ratios == d("0.1500", "0.1500", "0.0900", "1.5000", "1.8000")
    assert (public.score, public.zone) == (Decimal("3.39"), "safe")
    private = facts.altman(STATEMENT, "private")
    # book equity: X4 = 400000/600000 = 0.6667 → 0.10755 + 0.12705 + 0.27963 + 0.28 + 1.7964 = 2.59063
    assert private.model == "Z′" and private.ratios[3] == Decimal("0.6667")
    assert (private.score, private.zone) == (Decimal("2.59"), "grey")
    other = facts.altman(STATEMENT, "non_manufacturer")
    # 0.984 + 0.489 + 0.6048 + 0.7 = 2.7778 (no sales ratio)
    assert other.model == "Z″" and len(other.ratios) == 4
    assert (other.score, other.zone) == (Decimal("2.78"), "safe")
    with pytest.raises(ValueError, match="unknown company type"):
        facts.altman(STATEMENT, "bank")


def test_z_falls_back_to_book_equity_without_a_market_value() -> None:
    book = facts.Statement(**{**vars(STATEMENT), "market_value_equity": None})
    assert facts.altman(book, "public_manufacturer").ratios[3] == Decimal("0.6667")


def test_ratios() -> None:
    ratios = facts.ratios(STATEMENT)
    assert ratios == facts.Ratios(
        current=Decimal("1.6000"),
        quick=Decimal("1.1200"),
        equity_ratio=Decimal("0.4000"),
        debt_to_equity=Decimal("1.5000"),
    )
    broke = facts.Statement(**{**vars(STATEMENT), "equity": Decimal("-10.00")})
    assert facts.ratios(broke).debt_to_equity is None
    assert facts.ratios(broke).equity_ratio == Decimal("-0.0000")


def test_exposure_adds_open_invoices_open_orders_and_the_order_once_each() -> None:
    exposure = facts.Exposure(Decimal("5000.00"), Decimal("8000.00"), Decimal("0.00"), Decimal("2000.01"))
    assert exposure.total == Decimal("15000.01")
    assert exposure.open_orders_after == Decimal("10000.01")


def test_exposure_equal_to_the_limit_is_not_over_it() -> None:
    assert facts.over_limit(Decimal("100000.00"), Decimal("100000")) == 0
    assert facts.over_limit(Decimal("100000.01"), Decimal("100000")) == Decimal("0.01")
    assert facts.over_limit(Decimal("1"), Decimal("0")) == Decimal("1")


def test_breakdown_shows_each_category_against_its_limit() -> None:
    exposure = facts.Exposure(Decimal("60000"), Decimal("30000"), Decimal("1000"), Decimal("10000"))
    limits = facts.Limits(Decimal("200000"), Decimal("200000"), None, open_orders=Decimal("50000"))
    lines = {line.category: line for line in facts.breakdown(exposure, limits)}
    total = facts.Breakdown("total", Decimal("100000"), Decimal("200000"), Decimal("100000"), Decimal("50.00"))
    assert lines["total"] == total
    assert lines["open orders"].amount == Decimal("40000") and lines["open orders"].utilisation_pct == Decimal(
        "80.00"
    )
    assert lines["overdue"].utilisation_pct is None  # no positive limit: no percentage


def test_a_temporary_limit_applies_through_its_last_day_then_the_base_again() -> None:
    base, temporary, until = Decimal("100000"), Decimal("150000"), dt.date(2026, 3, 31)
    assert facts.effective_limit(base, temporary, until, dt.date(2026, 3, 31)) == (temporary, until)
    assert facts.effective_limit(base, temporary, until, dt.date(2026, 4, 1)) == (base, None)
    assert facts.effective_limit(base, None, None, dt.date(2026, 3, 1)) == (base, None)


def test_the_proposed_limit_shows_its_formula() -> None:
    formula = policy.load().proposed_limit  # the shipped policy
    proposal = formula.propose(Decimal("1234567.89"), 45)
    # 1234567.89 / 12 = 102880.6575; × 2.5 = 257201.64 → 257000
    assert proposal.amount == Decimal("257000")
    assert proposal.formula == (
        "12-month sales 1,234,567.89 ÷ 12 × (45 days ÷ 30 + 1) = 257,201.64 → 257,000.00 "
        "(rounded down to a thousand)"
    )
    assert formula.propose(Decimal("0.00"), 60).amount == 0
    assert formula.propose(Decimal("1200000"), 60).amount == Decimal("300000")


def test_shares_are_percentages_of_a_count() -> None:
    assert facts.share_pct(1, 3) == Decimal("33.33")
    assert facts.share_pct(0, 0) == 0
