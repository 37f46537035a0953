"""The credit policy as data: `policy.yaml` beside this module (or the file the `credit_policy` setting names)
holds the grace days, the solvency check's look-back, which customer classes are key accounts, the proposed
limit's formula, and which roles besides the KAM's line may enter orders, ask for solvency checks, ask for
limit changes or record promises to pay and invoice holds. Read once per file and checked with pydantic,
amounts exact; a value that does not fit fails naming its key."""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal
from pathlib import Path
from typing import Annotated

from pydantic import Field, StringConstraints

from kamflow import policy
from kamflow.credit import facts
from kamflow.settings import get_settings

POLICY_FILE = Path(__file__).with_name("policy.yaml")
Name = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]


class LimitFormula(policy.Strict):
    """12-month sales ÷ 12 × (payment terms ÷ terms_days_per_month + extra_months), rounded down."""

    terms_days_per_month: int = Field(ge=1, description="A month of sales for every this many days of terms")
    extra_months: int = Field(ge=0, description="Plus this many months of orders")
    round_down_to: Decimal = Field(gt=0, max_digits=18, decimal_places=2, description="Rounded down to a multiple")

    def propose(self, sales_12m: Decimal, terms_days: int) -> facts.ProposedLimit:
        return facts.proposed_limit(
            sales_12m,
            terms_days,
            terms_days_per_month=self.terms_days_per_month,
            extra_months=self.extra_months,
            round_down_to=self.round_down_to,
        )


class CreditPolicy(policy.Versioned):
    audit_name = "credit"

    grace_days: int = Field(ge=0, le=90, description="Days after its due date before an invoice is overdue")
    history_days: int = Field(ge=1, description="How far back the solvency check looks at sales and payments")
    key_account_classes: tuple[Name, ...] = Field(description="Customer classes that are key accounts")
    proposed_limit: LimitFormula
    enters_orders: tuple[Name, ...] = Field(description="Roles that may enter any customer's order")
    asks_solvency_checks: tuple[Name, ...] = Field(description="Roles that may ask for any customer's check")
    asks_limit_changes: tuple[Name, ...] = Field(description="Roles that may ask to change any customer's limit")
    records_collection: tuple[Name, ...] = Field(
        description="Roles that may record a promise to pay or put an invoice on hold for any customer"
    )
    review_days_ahead: int = Field(
        default=0, ge=0, le=31, description="How many days after today a credit review may be dated"
    )

    def latest_review_date(self, today: dt.date) -> dt.date:
        """The last business date a credit review may be run as of, `today` being the company's today."""
        return today + dt.timedelta(days=self.review_days_ahead)


@functools.cache
def load(path: Path = POLICY_FILE) -> CreditPolicy:
    """The policy in `path`, read once (InvalidInput naming the file and the key when it does not fit)."""
    return policy.read(path, CreditPolicy)


def current() -> CreditPolicy:
    """The policy of the settings' `credit_policy` file, else the shipped one."""
    return load(get_settings().credit_policy or POLICY_FILE)
