"""The review over the whole demo company: sharded, set-based, agreeing with the ledger, failing loudly."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from kamflow import figures
from kamflow import ledger as ledger_facts
from kamflow.credit import policy as credit_policy
from kamflow.errors import InvalidInput
from kamflow.models import Customer
from kamflow.review import service
from kamflow.review.dunning import load_policy
from kamflow.review.tables import CreditReview, CustomerReview, ReviewShard
from kamflow.settings import MAX_SHARDS
from tests.conftest import TODAY
from tests.unit.review.conftest import Ledger, at, review


def test_three_shards_review_everyone_once_and_agree_with_the_ledger(session: Session) -> None:
    summary = review(session, TODAY, shards=3)
    assert summary.totals.customers == 40 == sum(summary.totals.levels.values())
    rows = {
        row.customer_id: row
        for row in session.scalars(
            select(CustomerReview).join(CreditReview).where(CreditReview.business_date == TODAY)
        )
    }
    assert len(rows) == 40
    grace = credit_policy.current().grace_days
    owed = {row.customer_id: row for row in session.execute(ledger_facts.receivables(TODAY, grace_days=grace))}
    assert owed, "the demo company owes something"
    for customer_id, row in rows.items():
        theirs = owed.get(customer_id)
        assert row.not_due + row.overdue == (theirs.open_amount if theirs else Decimal(0))
        assert row.dunnable == (theirs.overdue_amount if theirs else Decimal(0))  # the one definition
    money = summary.totals.money["EUR"]
    assert money["overdue"] == sum((row.overdue for row in rows.values()), Decimal(0))
    assert sum(money[label] for label in summary.bucket_labels) == money["overdue"]
    assert summary.tasks and summary.top_risks and len(summary.top_risks) <= service.TOP_RISKS
    assert "No previous review to compare with." in summary.markdown()
    tasks_line = next(line for line in summary.markdown().splitlines() if line.startswith("Collection tasks"))
    assert any("_" in action for action in summary.tasks) and "_" not in tasks_line  # in words, not ids


def test_the_next_night_compares_with_the_previous_one(session: Session) -> None:
    review(session, TODAY)
    summary = review(session, TODAY + dt.timedelta(days=1), shards=2)
    assert summary.previous_date == TODAY
    assert f"## Changes since the review of {TODAY}" in summary.markdown()
    assert sum(row["change"] for row in summary.levels_table()) == 0  # the same 40 customers
    assert [row["channel"] for row in summary.levels_table()] == [
        "none",
        "KAM call",
        "letter",
        "stop shipments",
        "legal",
    ]


def test_a_customer_that_breaks_the_review_is_named_and_the_review_marked_failed(
    session: Session, ledger: Ledger
) -> None:
    day = dt.date(2024, 3, 31)
    broken = ledger.invoice("100.00", dt.date(2024, 3, 1))
    session.execute(text("UPDATE invoices SET amount = 1e999 WHERE id = :id"), {"id": broken.id})  # corrupt
    figures.refresh(session, [ledger.customer.id])  # the review reads the running figures of the corrupt ledger
    session.commit()
    service.start_review(session, as_of=day, shards=2, now=at(day))
    session.commit()
    shard = ledger.customer.id % 2
    with pytest.raises(service.ReviewFailed, match="customer C9001") as failure:
        service.run_review(session, as_of=day, shard=shard, shards=2, now=at(day))
    assert failure.value.customer == "C9001" and "not a finite number" in failure.value.message
    found = session.scalars(select(CreditReview).where(CreditReview.business_date == day)).one()
    assert found.status == "failed" and found.error and "C9001" in found.error
    failed = session.scalars(
        select(ReviewShard).where(ReviewShard.review_id == found.id, ReviewShard.shard == shard)
    )
    assert failed.one().status == "failed"
    with pytest.raises(InvalidInput, match="not completed"):
        service.finish_review(session, as_of=day, now=at(day))


def test_a_customer_whose_facts_the_rules_refuse_is_named_among_its_batch(
    session: Session, ledger: Ledger
) -> None:
    day = dt.date(2024, 3, 31)
    ledger.invoice("100.00", dt.date(2024, 3, 1))
    corrupt = text("UPDATE customers SET credit_limit = 1e999 WHERE id = :id")  # an infinite limit
    session.execute(corrupt, {"id": ledger.customer.id})
    session.commit()
    service.start_review(session, as_of=day, shards=1, now=at(day))
    session.commit()
    customers = session.scalar(select(func.count()).select_from(Customer).where(Customer.active.is_(True)))
    assert customers and customers > 1, "the customer refused is one of a batch"
    with pytest.raises(service.ReviewFailed, match="customer C9001") as failure:
        service.run_review(session, as_of=day, shard=0, shards=1, now=at(day))
    assert failure.value.customer == "C9001" and "'credit_limit'" in failure.value.message


def test_a_shard_outside_the_running_review_is_refused(session: Session) -> None:
    with pytest.raises(InvalidInput, match="no credit review"):
        service.run_review(session, as_of=TODAY, shard=0, shards=1, now=at(TODAY))
    service.start_review(session, as_of=TODAY, shards=2, now=at(TODAY))
    with pytest.raises(InvalidInput, match="shard 2 of 2"):
        service.run_review(session, as_of=TODAY, shard=2, shards=2, now=at(TODAY))


@pytest.mark.parametrize("shards", [0, MAX_SHARDS + 1])
def test_a_review_cut_into_too_few_or_too_many_shards_is_refused_and_not_started(
    session: Session, shards: int
) -> None:
    with pytest.raises(InvalidInput, match=f"shards must be from 1 to {MAX_SHARDS}") as refused:
        service.start_review(session, as_of=TODAY, shards=shards, now=at(TODAY))
    assert refused.value.field == "shards"
    assert session.scalar(select(func.count()).select_from(CreditReview)) == 0


def test_a_policy_that_says_nothing_of_an_action_the_rules_decide_is_refused(session: Session) -> None:
    policy = load_policy()
    lacking = policy.model_copy(update={"actions": {k: v for k, v in policy.actions.items() if k != "escalate"}})
    service.start_review(session, as_of=TODAY, shards=1, now=at(TODAY))
    with pytest.raises(InvalidInput, match=r"actions \['escalate'\]") as refused:
        service.run_review(session, as_of=TODAY, shard=0, shards=1, now=at(TODAY), policy=lacking)
    assert refused.value.field == "actions"


def test_a_review_dated_after_today_is_refused_and_not_started(session: Session) -> None:
    ahead = TODAY + dt.timedelta(days=credit_policy.current().review_days_ahead + 1)
    with pytest.raises(InvalidInput, match=f"{ahead} is after") as refused:
        service.start_review(session, as_of=ahead, shards=1, now=at(TODAY))
    assert refused.value.field == "as_of"
    assert session.scalar(select(func.count()).select_from(CreditReview)) == 0
