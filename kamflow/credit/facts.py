"""Credit facts as pure functions over plain values: financial ratios, Altman scores, exposure and limits.

No database and no Prefect here. Money is Decimal. Ratios are computed exactly and shown to four places;
an Altman score is the weighted sum of the exact ratios rounded to two places, as the published tables
give it, and its zone is read from that rounded score. Which model applies follows the customer's
company type: public manufacturers the original Z, private firms Z′, non-manufacturers Z″.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

RATIO = Decimal("0.0001")
SCORE = Decimal("0.01")
THOUSAND = Decimal(1000)
ZERO = Decimal(0)


def money(value: Decimal) -> str:
    """Money as people read it: 1,234,567.80."""
    return f"{value:,.2f}"


@dataclass(frozen=True)
class Statement:
    """The figures of one financial statement the scores need, all in the customer's currency.
    Total assets, total liabilities and current liabilities are positive (the import checks it)."""

    current_assets: Decimal
    current_liabilities: Decimal
    inventory: Decimal
    total_assets: Decimal
    total_liabilities: Decimal
    equity: Decimal
    retained_earnings: Decimal
    ebit: Decimal
    sales: Decimal
    market_value_equity: Decimal | None = None


@dataclass(frozen=True)
class Ratios:
    current: Decimal
    quick: Decimal
    equity_ratio: Decimal
    debt_to_equity: Decimal | None
    """None where equity is zero or negative: the ratio means nothing there."""


def _ratio(part: Decimal, whole: Decimal) -> Decimal:
    return (part / whole).quantize(RATIO, ROUND_HALF_UP)


def ratios(s: Statement) -> Ratios:
    """Current ratio, quick ratio (without inventory), equity ratio and debt/equity."""
    return Ratios(
        current=_ratio(s.current_assets, s.current_liabilities),
        quick=_ratio(s.current_assets - s.inventory, s.current_liabilities),
        equity_ratio=_ratio(s.equity, s.total_assets),
        debt_to_equity=_ratio(s.total_liabilities, s.equity) if s.equity > 0 else None,
    )


@dataclass(frozen=True)
class AltmanModel:
    name: str
    used_for: str
    weights: tuple[Decimal, ...]
    """Weights of X1..Xn: working capital, retained earnings, EBIT, equity / total liabilities, and
    (not in Z″) sales, each over total assets."""
    distress_below: Decimal
    safe_above: Decimal


def _model(name: str, used_for: str, weights: str, distress_below: str, safe_above: str) -> AltmanModel:
    return AltmanModel(
        name, used_for, tuple(Decimal(w) for w in weights.split()), Decimal(distress_below), Decimal(safe_above)
    )


Z = _model("Z", "public manufacturers", "1.2 1.4 3.3 0.6 1.0", "1.81", "2.99")
Z_PRIME = _model("Z′", "private firms", "0.717 0.847 3.107 0.420 0.998", "1.23", "2.90")
Z_DOUBLE_PRIME = _model("Z″", "non-manufacturers", "6.56 3.26 6.72 1.05", "1.10", "2.60")
MODEL_FOR_COMPANY_TYPE = {"public_manufacturer": Z, "private": Z_PRIME, "non_manufacturer": Z_DOUBLE_PRIME}


@dataclass(frozen=True)
class Altman:
    model: str
    ratios: tuple[Decimal, ...]
    """X1..Xn as used, to four places."""
    score: Decimal
    zone: str
    """distress (below the lower cut-off), grey (between, both inclusive) or safe (above the upper)."""


def altman_score(model: AltmanModel, x: Sequence[Decimal]) -> Altman:
    """The model's score and zone from its ratios X1..Xn."""
    if len(x) != len(model.weights):
        raise ValueError(f"Altman {model.name} takes {len(model.weights)} ratios, got {len(x)}")
    score = sum((w * xi for w, xi in zip(model.weights, x, strict=True)), ZERO).quantize(SCORE, ROUND_HALF_UP)
    zone = "distress" if score < model.distress_below else "safe" if score > model.safe_above else "grey"
    return Altman(model.name, tuple(xi.quantize(RATIO, ROUND_HALF_UP) for xi in x), score, zone)


def model_for(company_type: str) -> AltmanModel:
    try:
        return MODEL_FOR_COMPANY_TYPE[company_type]
    except KeyError:
        raise ValueError(
            f"unknown company type {company_type!r}; one of {', '.join(MODEL_FOR_COMPANY_TYPE)}"
        ) from None


def altman(s: Statement, company_type: str) -> Altman:
    """The Altman variant for the company type, from a statement. Z takes the market value of equity
    where the statement has it (else book equity); Z′ and Z″ take book equity."""
    model = model_for(company_type)
    equity = s.market_value_equity if model is Z and s.market_value_equity is not None else s.equity
    ta = s.total_assets
    x = (
        (s.current_assets - s.current_liabilities) / ta,
        s.retained_earnings / ta,
        s.ebit / ta,
        equity / s.total_liabilities,
        s.sales / ta,
    )
    return altman_score(model, x[: len(model.weights)])


@dataclass(frozen=True)
class Exposure:
    """What a customer owes or has on order on credit, by category, plus the order being checked.

    `open_invoices` is what is unpaid on invoices; `open_orders` is what open orders have not invoiced
    yet (an invoiced order is in `open_invoices` only, so it is counted once); `overdue` is the part of
    `open_invoices` past its due date beyond the grace days."""

    open_invoices: Decimal
    open_orders: Decimal
    overdue: Decimal
    this_order: Decimal = ZERO

    @property
    def open_orders_after(self) -> Decimal:
        return self.open_orders + self.this_order

    @property
    def total(self) -> Decimal:
        return self.open_invoices + self.open_orders + self.this_order


@dataclass(frozen=True)
class Limits:
    """The limits in force on a day: the total (a temporary one while it lasts, else the base) and the
    sub-limits per category. Everywhere None is no limit set (not checked) and 0 is no credit (for overdue:
    none tolerated)."""

    total: Decimal | None
    base: Decimal | None
    temporary_until: dt.date | None
    open_orders: Decimal | None = None
    open_invoices: Decimal | None = None
    overdue: Decimal | None = None


def effective_limit(
    base: Decimal | None, temporary: Decimal | None, until: dt.date | None, on: dt.date
) -> tuple[Decimal | None, dt.date | None]:
    """The total limit on a day and, while a temporary limit applies, its last day. The day after its
    expiry the base limit applies again."""
    if temporary is not None and until is not None and on <= until:
        return temporary, until
    return base, None


def over_limit(amount: Decimal, limit: Decimal | None) -> Decimal:
    """How far an amount is above a limit; 0 when it is at or below it (equal passes) or no limit is set."""
    return ZERO if limit is None else max(amount - limit, ZERO)


def utilisation_pct(amount: Decimal, limit: Decimal | None) -> Decimal | None:
    """The amount as a percentage of the limit, two places; None without a positive limit."""
    return None if limit is None or limit <= 0 else (amount * 100 / limit).quantize(SCORE, ROUND_HALF_UP)


def or_zero(limit: Decimal | None) -> Decimal:
    """A limit as the rules' money fact beside its `has_…` fact: 0 when none is set."""
    return ZERO if limit is None else limit


def share_pct(part: int, whole: int) -> Decimal:
    """`part` of `whole` in percent, two places; 0 of nothing is 0."""
    return ZERO if whole == 0 else (Decimal(part) * 100 / whole).quantize(SCORE, ROUND_HALF_UP)


@dataclass(frozen=True)
class Breakdown:
    category: str
    amount: Decimal
    limit: Decimal | None
    headroom: Decimal | None
    """None where no limit is set."""
    utilisation_pct: Decimal | None


def breakdown(exposure: Exposure, limits: Limits) -> list[Breakdown]:
    """Exposure against each limit, category by category, then the total."""
    pairs = [
        ("open invoices", exposure.open_invoices, limits.open_invoices),
        ("open orders", exposure.open_orders_after, limits.open_orders),
        ("overdue", exposure.overdue, limits.overdue),
        ("total", exposure.total, limits.total),
    ]
    return [
        Breakdown(name, amount, limit, None if limit is None else limit - amount, utilisation_pct(amount, limit))
        for name, amount, limit in pairs
    ]


@dataclass(frozen=True)
class ProposedLimit:
    amount: Decimal
    formula: str


def proposed_limit(
    sales_12m: Decimal, terms_days: int, *, terms_days_per_month: int, extra_months: int, round_down_to: Decimal
) -> ProposedLimit:
    """A limit that carries the customer's usual buying on its payment terms: a month of sales for every
    `terms_days_per_month` days of terms plus `extra_months` of orders, rounded down to a multiple of
    `round_down_to` (the credit policy's `proposed_limit`)."""
    months = Decimal(terms_days) / terms_days_per_month + extra_months
    raw = sales_12m / 12 * months
    amount = (raw / round_down_to).to_integral_value(ROUND_FLOOR) * round_down_to
    rounding = "a thousand" if round_down_to == THOUSAND else f"a multiple of {round_down_to:,}"
    return ProposedLimit(
        amount,
        f"12-month sales {money(sales_12m)} ÷ 12 × ({terms_days} days ÷ {terms_days_per_month} + {extra_months})"
        f" = {money(raw.quantize(SCORE, ROUND_HALF_UP))} → {money(amount)} (rounded down to {rounding})",
    )
