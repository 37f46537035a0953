"""The nightly credit review's lifecycle: start the review of a business date, review one shard of the
customers (customer id modulo shards) in batches, finish it with its totals and its summary.

Each batch is read by `read` (a handful of set-based statements over the ledger, never one per invoice or
per customer, the next batch read ahead), assessed customer by customer by `assess`, decided in one
`decide_many` call of the `credit_review` rule set and written in bulk by `store`, committed together:
memory stays bounded by the batch, and a re-run of the same business date updates the same rows and creates
no task twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from decimal import InvalidOperation
from operator import itemgetter

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from kamflow import audit, clock, figures, i18n, org, rulesets
from kamflow.credit import policy as credit_policy
from kamflow.errors import InvalidInput, KamflowError
from kamflow.models import Customer, Employee
from kamflow.review import assess, store
from kamflow.review.dunning import DUNNING, Policy, current
from kamflow.review.read import BATCH, Batch, Run, read_ahead, windows
from kamflow.review.report import ReviewSummary, Totals
from kamflow.review.tables import CollectionTask, CreditReview, CustomerReview, ReviewShard
from kamflow.settings import MAX_SHARDS
from rules.engine import Decision, FactsRefused, RuleSet, no_cycle_collection

PROCESS = "nightly-credit-review"
RULESET = "credit_review"
TOP_RISKS = 10


class ReviewFailed(KamflowError):
    """The review stopped at a customer it could not review; the message names the customer."""

    kind = "review_failed"

    def __init__(self, message: str, *, customer: str | None) -> None:
        super().__init__(message, field="customer")
        self.customer = customer


@dataclass(frozen=True)
class ShardResult:
    shard: int
    customers: int
    tasks: int


def latest_completed(session: Session, *, before: dt.date | None = None) -> CreditReview | None:
    query = select(CreditReview).where(CreditReview.status == "completed")
    if before is not None:
        query = query.where(CreditReview.business_date < before)
    return session.scalar(query.order_by(CreditReview.business_date.desc()).limit(1))


def get_review(session: Session, as_of: dt.date) -> CreditReview:
    review = session.scalar(select(CreditReview).where(CreditReview.business_date == as_of))
    if review is None:
        raise InvalidInput(f"no credit review of {as_of} was started", field="business_date")
    return review


def refuse_backdated(session: Session, as_of: dt.date) -> None:
    """A review dated before the latest completed one is refused: the dunning state has moved on since."""
    latest = latest_completed(session)
    if latest is not None and as_of < latest.business_date:
        raise InvalidInput(
            f"the review of {as_of} comes before the latest completed review, of {latest.business_date}",
            field="business_date",
        )


def running_run(session: Session, as_of: dt.date) -> str | None:
    """The flow run that runs the review of `as_of`, as it was started (None unless it is running)."""
    running = CreditReview.business_date == as_of, CreditReview.status == "running"
    return session.scalar(select(CreditReview.flow_run_id).where(*running))


def refuse_ahead(as_of: dt.date, *, today: dt.date) -> None:
    """A review dated after today (plus the credit policy's `review_days_ahead`) would dun invoices before they are
    due and then block every real review as backdated: refused, from every path that starts one (the CLI, the
    schedule, the Prefect UI)."""
    latest = credit_policy.current().latest_review_date(today)
    if as_of > latest:
        raise InvalidInput(f"{as_of} is after {latest}, the latest date a review may be run as of", field="as_of")


def start_review(
    session: Session,
    *,
    as_of: dt.date,
    shards: int,
    now: dt.datetime,
    flow_run_id: str | None = None,
    policy: Policy | None = None,
) -> CreditReview:
    """Open (or reopen, for a re-run of the same date) the review of `as_of` with its shards, the ledger's running
    figures moved to its windows (`kamflow.figures.roll`)."""
    if not 1 <= shards <= MAX_SHARDS:
        raise InvalidInput(f"shards must be from 1 to {MAX_SHARDS}", field="shards")
    refuse_ahead(as_of, today=clock.today(now))
    refuse_backdated(session, as_of)
    policy = policy or current()
    figures.roll(session, windows(as_of, policy))
    ruleset = rulesets.load(RULESET, session)
    audit.remember_ruleset(session, ruleset, at=now)
    review = session.scalar(select(CreditReview).where(CreditReview.business_date == as_of))
    if review is None:
        review = CreditReview(business_date=as_of)
        session.add(review)
    review.status, review.shards, review.flow_run_id = "running", shards, flow_run_id
    review.rules_version, review.bucket_labels = ruleset.version, [b.label for b in policy.ageing]
    review.totals, review.error, review.started_at, review.finished_at = {}, None, now, None
    session.flush()
    session.execute(delete(ReviewShard).where(ReviewShard.review_id == review.id))
    slice_of = Customer.id % shards
    counts = dict(
        session.execute(select(slice_of, func.count()).where(Customer.active.is_(True)).group_by(slice_of)).all()
    )
    for k in range(shards):
        session.add(
            ReviewShard(
                review_id=review.id, shard=k, status="pending", customers=counts.get(k, 0), done=0, totals={}
            )
        )
    session.flush()
    return review


def progress(session: Session, *, as_of: dt.date) -> float:
    """Share of the review's customers done so far, 0..1."""
    done, total = session.execute(
        select(func.coalesce(func.sum(ReviewShard.done), 0), func.coalesce(func.sum(ReviewShard.customers), 0))
        .join(CreditReview, CreditReview.id == ReviewShard.review_id)
        .where(CreditReview.business_date == as_of)
    ).one()
    return 1.0 if not total else done / total


def shard_error(session: Session, *, as_of: dt.date, shard: int) -> str | None:
    """Why a shard of the review of `as_of` failed, as it recorded it (None if it could not say)."""
    return session.scalar(
        select(ReviewShard.error)
        .join(CreditReview, CreditReview.id == ReviewShard.review_id)
        .where(CreditReview.business_date == as_of, ReviewShard.shard == shard)
    )


def fail_review(session: Session, *, as_of: dt.date, error: str, now: dt.datetime) -> None:
    review = get_review(session, as_of)
    review.status, review.error, review.finished_at = "failed", error, now


def prepare(session: Session, review: CreditReview, *, now: dt.datetime, policy: Policy | None = None) -> Run:
    """What every batch of a started review needs, worked out once."""
    as_of = review.business_date
    ruleset = rulesets.load(RULESET, session)
    policy = policy or current()
    previous = latest_completed(session, before=as_of)
    run = Run(
        as_of=as_of,
        policy=policy,
        review_id=review.id,
        bucket_labels=review.bucket_labels,
        buckets=policy.ageing,
        buckets_of=itemgetter(*(f"bucket_{index}" for index in range(len(policy.ageing)))),  # 2 or more
        outcome_of={rule.id: rule.outcome for rule in ruleset.listed},
        now=now,
        credit=credit_policy.current(),
        ruleset=ruleset,
        previous_id=previous.id if previous else 0,
        employees={e.id: e for e in session.scalars(select(Employee))},
        holders=org.Holders(session),
    )
    missing = set(run.outcome_of.values()) - {assess.NO_ACTION, DUNNING} - set(policy.actions)
    if missing:
        raise InvalidInput(f"the dunning policy says nothing of the actions {sorted(missing)}", field="actions")
    return run


def run_review(
    session: Session,
    *,
    as_of: dt.date,
    shard: int,
    shards: int,
    now: dt.datetime,
    policy: Policy | None = None,
    batch_size: int = BATCH,
    on_batch: Callable[[], None] | None = None,
) -> ShardResult:
    """Review one shard of the started review of `as_of`, committing batch by batch (`on_batch` after each).
    Raises ReviewFailed naming the customer that broke it, after marking the shard and the review failed."""
    review = get_review(session, as_of)
    if review.status == "failed" and review.error:  # another shard broke it first: say what broke it
        raise ReviewFailed(review.error, customer=None)
    row = session.scalar(select(ReviewShard).where(ReviewShard.review_id == review.id, ReviewShard.shard == shard))
    if row is None or review.shards != shards or review.status != "running":
        raise InvalidInput(
            f"shard {shard} of {shards} is not part of the running review of {as_of}", field="shard"
        )
    run = prepare(session, review, now=now, policy=policy)
    row.status, row.done, row.totals, row.error, row.started_at = "running", 0, {}, None, now
    session.commit()
    last, tasks = 0, 0
    try:
        with closing(read_ahead(session, run, shard=shard, shards=shards, size=batch_size)) as batches:
            for batch in batches:  # closing: a failed batch waits for the read in flight
                with no_cycle_collection():  # a batch's many objects hold no cycles
                    totals, made = _review_batch(session, run, batch)
                row.done += totals.customers
                row.totals = Totals.from_json(row.totals).merge(totals).to_json()
                session.commit()
                last, tasks = batch.last, tasks + made
                if on_batch is not None:
                    on_batch()
    except Exception as error:
        session.rollback()
        failure = error if isinstance(error, ReviewFailed) else _unexpected(error, last)
        row.status, row.error, row.finished_at = "failed", failure.message, now
        fail_review(session, as_of=as_of, error=f"shard {shard}: {failure.message}", now=now)
        session.commit()
        raise failure from error
    row.status, row.finished_at = "completed", now
    session.commit()
    return ShardResult(shard=shard, customers=row.done, tasks=tasks)


def _unexpected(error: Exception, last: int) -> ReviewFailed:
    return ReviewFailed(f"the batch after customer id {last} failed: {error!r}", customer=None)


def _decide(ruleset: RuleSet, reviewed: Sequence[assess.Assessed]) -> list[Decision]:
    """The batch decided in one call; if the rules refuse a customer's facts, the failure names the customer."""
    try:
        return ruleset.decide_many([c.facts for c in reviewed])
    except FactsRefused as error:
        customer = reviewed[error.index].code
        raise ReviewFailed(f"customer {customer}: {error.reason}", customer=customer) from error
    except RuntimeError as error:
        raise ReviewFailed(f"the rules engine failed on the batch: {error}", customer=None) from error


def _review_batch(session: Session, run: Run, batch: Batch) -> tuple[Totals, int]:
    """Review, decide and record one batch; returns its totals and how many tasks it created."""
    reviewed = []
    promises, statements = batch.promises, batch.statements
    for row in batch.rows:
        try:
            assessed = assess.customer(run, row, promises.get(row["id"]), statements.get(row["id"]))
            if not sum(assessed.amounts.values(), assess.ZERO).is_finite():  # the totals take no infinity, no NaN
                raise InvalidOperation(row["code"])
            reviewed.append(assessed)
        except Exception as error:
            reason = (
                "an amount that is not a finite number" if isinstance(error, InvalidOperation) else f"{error!r}"
            )
            raise ReviewFailed(f"customer {row['code']}: {reason}", customer=row["code"]) from error
    decisions = _decide(run.ruleset, reviewed)
    totals = Totals.of(
        [customer.currency for customer in reviewed],
        [customer.moved.level for customer in reviewed],
        [customer.moved.raised for customer in reviewed],
        [customer.amounts for customer in reviewed],
    )
    decided = [
        assess.Decided(customer, decision, assess.actions(run, decision))
        for customer, decision in zip(reviewed, decisions, strict=True)
    ]
    return totals, store.write(session, run, batch.customers, decided)


def finish_review(
    session: Session, *, as_of: dt.date, now: dt.datetime, policy: Policy | None = None
) -> ReviewSummary:
    """Close the review of `as_of` once every shard is done: its totals, the tasks of the date, the top
    risks, and the comparison with the previous completed review."""
    review = get_review(session, as_of)
    shards = session.scalars(select(ReviewShard).where(ReviewShard.review_id == review.id)).all()
    unfinished = [s.shard for s in shards if s.status != "completed"]
    if unfinished:
        raise InvalidInput(f"shards {unfinished} of the review of {as_of} are not completed", field="shard")
    totals = Totals()
    for shard in shards:
        totals = totals.merge(Totals.from_json(shard.totals))
    review.status, review.finished_at, review.totals = "completed", now, totals.to_json()
    previous = latest_completed(session, before=as_of)
    return summary(session, review, policy=policy or current(), previous=previous)


def summary(
    session: Session, review: CreditReview, *, policy: Policy, previous: CreditReview | None
) -> ReviewSummary:
    tasks = dict(
        session.execute(
            select(CollectionTask.action, func.count())
            .where(CollectionTask.business_date == review.business_date)
            .group_by(CollectionTask.action)
        ).all()
    )
    risky = (
        select(
            Customer.code,
            Customer.name,
            Customer.customer_class,
            CustomerReview.currency,
            CustomerReview.overdue,
            CustomerReview.serious_overdue,
            CustomerReview.exposure,
            CustomerReview.dunning_level,
            CustomerReview.outcome,
            CustomerReview.reasons,
        )
        .join(Customer, Customer.id == CustomerReview.customer_id)
        .where(CustomerReview.review_id == review.id, CustomerReview.overdue > 0)
        .order_by(
            (CustomerReview.outcome == "escalate").desc(),
            CustomerReview.serious_overdue.desc(),
            CustomerReview.overdue.desc(),
            Customer.code,
        )
        .limit(TOP_RISKS)
    )
    top = [
        {
            "customer": f"{row.code} {row.name}",
            "class": row.customer_class,
            "overdue": i18n.money(row.overdue, row.currency),
            "seriously overdue": i18n.number(row.serious_overdue, 2),
            "exposure": i18n.number(row.exposure, 2),
            "level": row.dunning_level,
            "decision": row.outcome,
            "reasons": "; ".join(reason["text"] for reason in row.reasons) or "—",
        }
        for row in session.execute(risky)
    ]
    return ReviewSummary(
        business_date=review.business_date,
        status=review.status,
        shards=review.shards,
        rules_version=review.rules_version or "",
        bucket_labels=review.bucket_labels,
        channels={level.level: level.channel for level in policy.levels},
        totals=Totals.from_json(review.totals),
        tasks=tasks,
        top_risks=top,
        previous_date=previous.business_date if previous else None,
        previous=Totals.from_json(previous.totals) if previous else None,
    )
