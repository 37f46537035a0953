"""One customer's night in the credit review, worked out from what the ledger statement read: ageing, exposure,
payment behaviour, the dunning step and the facts the rules decide on; then what the decision asks for.
Pure: plain values in and out, no database session."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from kamflow.credit.facts import Statement, altman, or_zero
from kamflow.credit.facts import utilisation_pct as percent_of
from kamflow.review import ageing
from kamflow.review.dunning import Policy, State, Step, promise_outcome, step
from rules.engine import Decision

NO_ACTION = "none"
ZERO = Decimal("0.00")
Actions = dict[str, list[dict[str, str]]]
"""What a decision asks for: action -> the reasons of the rules that asked for it."""


@dataclass(frozen=True)
class Basis:
    """What the assessment of every customer of a review needs, worked out once."""

    as_of: dt.date
    policy: Policy
    review_id: int
    bucket_labels: list[str]
    buckets: list[ageing.Bucket]
    buckets_of: Callable[[dict[str, Any]], tuple[Decimal | None, ...]]  # a ledger row's bucket amounts
    outcome_of: dict[str, str]  # rule id -> outcome


class Promise(NamedTuple):
    """A customer's promise to pay as read for the night, with what they paid since it was recorded."""

    id: int
    amount: Decimal
    promised_for: dt.date
    status: str
    paid_since: Decimal


@dataclass(frozen=True)
class Assessed:
    """One customer's review before the rules decide: the row to store and the facts to decide on."""

    id: int
    code: str
    kam_id: int
    currency: str
    values: dict[str, Any]  # the customer_reviews row, less what the decision adds
    facts: dict[str, Any]
    state: State
    has_state: bool
    moved: Step  # where tonight's review puts the customer in the dunning policy
    promise: tuple[int, str] | None  # (promise id, new status) when the promise was settled tonight
    amounts: dict[str, Decimal]  # for the totals


class Decided(NamedTuple):
    """A customer of a batch once the rules decided: the assessment, the decision, the actions it asks for."""

    customer: Assessed
    decision: Decision
    actions: Actions


def customer(basis: Basis, row: dict[str, Any], promise: Promise | None, statement: Statement | None) -> Assessed:
    """A customer's ledger row (with their promise and latest statement, if any) assessed as of the night."""
    as_of, policy = basis.as_of, basis.policy
    buckets = [amount or ZERO for amount in basis.buckets_of(row)]
    not_due = row["not_due"] or ZERO
    overdue = sum(buckets, ZERO)
    serious = sum(buckets[policy.serious_from :], ZERO)
    dunnable = row["dunnable"] or ZERO
    exposure = not_due + overdue + (row["open_orders"] or ZERO)
    limit = row["credit_limit"]
    utilisation = percent_of(exposure, limit)
    payment_days = row["weighted_days_late"]
    change = None
    if payment_days is not None and row["previous_payment_days"] is not None:
        change = payment_days - row["previous_payment_days"]
    promise_status = None
    if promise is not None:
        promise_status = promise_outcome(
            amount=promise.amount, promised_for=promise.promised_for, paid_since=promise.paid_since, as_of=as_of
        )
    state = State(row["level"] or 0, row["raised_on"], bool(row["carried_out"]), row["last_reminder_on"])
    moved = step(
        policy,
        state,
        as_of=as_of,
        oldest_due=row["oldest_dunnable_due"],
        dunnable=dunnable,
        promise_active=promise_status == "open",
    )
    fee = policy.fee(moved.level) if moved.raised else ZERO
    interest = ageing.interest(row["amount_days"] or ZERO, policy.interest_rate_pct)
    zone = None
    if statement is not None:
        zone = altman(statement, row["company_type"]).zone
    oldest_days = None if row["oldest_due"] is None else ageing.days_overdue(as_of, row["oldest_due"])
    values = {
        "review_id": basis.review_id,
        "customer_id": row["id"],
        "currency": row["currency"],
        "not_due": not_due,
        "buckets": [str(amount) for amount in buckets],
        "overdue": overdue,
        "oldest_overdue_days": oldest_days,
        "serious_overdue": serious,
        "dunnable": dunnable,
        "interest": interest,
        "fee": fee,
        "dso": ageing.dso(not_due + overdue, row["sales"] or ZERO, policy.dso_window_days),
        "exposure": exposure,
        "credit_limit": limit,
        "utilisation": utilisation,
        "payment_days": payment_days,
        "payment_days_change": change,
        "altman_zone": zone,
        "dunning_level": moved.level,
        "level_raised": moved.raised,
    }
    facts = {
        "customer_class": row["customer_class"],
        "overdue_amount": dunnable,
        "oldest_overdue_days": 0
        if row["oldest_dunnable_due"] is None
        else ageing.days_overdue(as_of, row["oldest_dunnable_due"]),
        "serious_overdue_amount": serious,
        "serious_overdue_days": policy.serious_overdue_days,
        "serious_overdue_share_pct": percent_of(serious, exposure) or ZERO,
        "exposure": exposure,
        "has_limit": limit is not None,
        "credit_limit": or_zero(limit),
        "utilisation_pct": utilisation or ZERO,
        "payment_days": payment_days if payment_days is not None else ZERO,
        "payment_days_change": change if change is not None else ZERO,
        "dunning_level": moved.level,
        "level_raised": moved.raised,
        "dunning_channel": policy.channel(moved.level),
        "promise_active": promise_status == "open",
        "promise_broken": promise_status == "broken",
        "altman_zone": zone or "none",
    }
    amounts = {"not_due": not_due, **dict(zip(basis.bucket_labels, buckets, strict=True))}
    amounts |= {"overdue": overdue, "dunnable": dunnable, "serious_overdue": serious}
    amounts |= {"exposure": exposure, "interest": interest, "fees": fee}
    settled = None
    if promise is not None and promise_status != "open" and promise.status == "open":
        settled = (promise.id, promise_status or "open")
    return Assessed(
        id=row["id"],
        code=row["code"],
        kam_id=row["kam_id"],
        currency=row["currency"],
        values=values,
        facts=facts,
        state=state,
        has_state=row["state_of"] is not None,
        moved=moved,
        promise=settled,
        amounts=amounts,
    )


def actions(basis: Basis, decision: Decision) -> Actions:
    """The actions a decision asks for, each with the reasons of the rules that asked for it."""
    asked: Actions = {}
    for reason in decision.reasons:
        outcome = basis.outcome_of.get(reason.rule, NO_ACTION)
        if outcome != NO_ACTION:
            asked.setdefault(outcome, []).append(reason.model_dump())
    return asked
