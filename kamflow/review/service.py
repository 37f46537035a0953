"""The nightly credit review as a service: start the review of a business date, review one shard of the
customers (customer id modulo shards) in batches, finish it with its totals.

Each batch is a handful of set-based statements over the ledger (never one per invoice or per customer),
one `decide_many` call of the `credit_review` rule set, and bulk writes, committed together: memory stays
bounded by the batch, and a re-run of the same business date updates the same rows and creates no task
twice (a task is unique per customer, business date and action; an open one is not repeated either).
The next batch is read on a connection of its own while the current one is decided and written (the
database's work on one core, Python's on the other); it reads only other customers' rows than those written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import partial
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    Engine,
    Numeric,
    Row,
    Select,
    and_,
    case,
    cast,
    delete,
    func,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session, aliased

from kamflow import audit, ledger, org, rulesets
from kamflow.credit.facts import Statement, altman, money
from kamflow.credit.facts import utilisation_pct as percent_of
from kamflow.credit.tables import FinancialStatement
from kamflow.db import insert_many
from kamflow.errors import InvalidInput, KamflowError
from kamflow.models import Customer, Employee, Invoice, Money, Payment
from kamflow.policy import versions
from kamflow.review import MAX_SHARDS, ageing
from kamflow.review.dunning import DUNNING, Policy, State, Step, load_policy, promise_outcome, step
from kamflow.review.report import ReviewSummary, Totals
from kamflow.review.tables import (
    CollectionTask,
    CreditReview,
    CustomerReview,
    DunningState,
    InvoiceHold,
    PaymentPromise,
    ReviewShard,
)
from rules.engine import Decision, FactsRefused, RuleSet, no_cycle_collection

PROCESS = "nightly-credit-review"
RULESET = "credit_review"
BATCH = 2000
TOP_RISKS = 10
AMOUNT_DAYS = Numeric(24, 2)  # sum of amount x days overdue, for interest
NO_ACTION = "none"
ZERO = Decimal("0.00")
Actions = dict[str, list[dict[str, str]]]
"""What a decision asks for: action -> the reasons of the rules that asked for it."""


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


def start_review(
    session: Session,
    *,
    as_of: dt.date,
    shards: int,
    now: dt.datetime,
    flow_run_id: str | None = None,
    policy: Policy | None = None,
) -> CreditReview:
    """Open (or reopen, for a re-run of the same date) the review of `as_of` with its shards."""
    if not 1 <= shards <= MAX_SHARDS:
        raise InvalidInput(f"shards must be from 1 to {MAX_SHARDS}", field="shards")
    refuse_backdated(session, as_of)
    policy = policy or load_policy()
    ruleset = rulesets.load(RULESET)
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


@dataclass
class Run:
    """What every batch of a shard needs, worked out once."""

    review: CreditReview
    as_of: dt.date
    now: dt.datetime
    policy: Policy
    ruleset: RuleSet
    outcome_of: dict[str, str]  # rule id -> outcome
    previous_id: int
    employees: dict[int, Employee]
    holders: org.Holders
    buckets: list[ageing.Bucket]
    buckets_of: Callable[[dict[str, Any]], tuple[Decimal | None, ...]]  # a ledger row's bucket amounts

    def assignee(self, kam_id: int, role: str | None) -> int:
        """Who acts on a task: the KAM, or the holder of the role the rules named for the KAM."""
        return kam_id if role is None else self.holders.of(role, self.employees[kam_id]).id


def prepare(session: Session, review: CreditReview, *, now: dt.datetime, policy: Policy | None = None) -> Run:
    """What every batch of a started review needs, worked out once."""
    as_of = review.business_date
    ruleset = rulesets.load(RULESET)
    policy = policy or load_policy()
    previous = latest_completed(session, before=as_of)
    run = Run(
        review=review,
        as_of=as_of,
        now=now,
        policy=policy,
        ruleset=ruleset,
        outcome_of={rule.id: rule.outcome for rule in ruleset.listed},
        previous_id=previous.id if previous else 0,
        employees={e.id: e for e in session.scalars(select(Employee))},
        holders=org.Holders(session),
        buckets=policy.ageing,
        buckets_of=itemgetter(*(f"bucket_{index}" for index in range(len(policy.ageing)))),  # 2 or more
    )
    missing = set(run.outcome_of.values()) - {NO_ACTION, DUNNING} - set(policy.actions)
    if missing:
        raise InvalidInput(f"the dunning policy says nothing of the actions {sorted(missing)}", field="actions")
    return run


def read_ahead(
    session: Session, run: Run, *, shard: int, shards: int, size: int = BATCH
) -> Generator[Batch, None, None]:
    """The shard's batches in customer id order; each next one is read on a connection of its own (from the
    session's engine) while the caller works on the current one. Close it (`contextlib.closing`) to wait for
    the read in flight when the caller stops early."""
    read = partial(_read_batch, session.get_bind().engine, run, shard=shard, shards=shards, size=size)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="credit-review-read") as reader:
        ahead = reader.submit(read, after=0)
        while (batch := ahead.result()) is not None:
            ahead = reader.submit(read, after=batch.last)
            yield batch


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


def _sum_or_none(amount: Any, type_: Numeric[Any] = Money) -> Any:
    """A sum to the cent, NULL when nothing adds to it: most customers have nothing in most buckets, and a
    NULL costs no Decimal to read (the review reads it as 0)."""
    return cast(func.sum(amount), type_)


def _ledger_query(run: Run, customers: Select[Any]) -> Select[Any]:
    """One row per customer of the batch: ageing, holds, sales, open orders, payment behaviour, dunning state
    and the previous review's payment behaviour — one statement."""
    as_of, policy = run.as_of, run.policy
    bal = ledger.invoice_balances(as_of, open_only=True, customer_ids=customers).subquery()
    open_amount, due = bal.c.open_amount, bal.c.due_date
    overdue = due < as_of
    dunnable = and_(overdue, not_(or_(bal.c.disputed, InvoiceHold.id.is_not(None))))
    columns = [bal.c.customer_id, _sum_or_none(case((due >= as_of, open_amount))).label("not_due")]
    for index, bucket in enumerate(run.buckets):
        earliest, latest = bucket.due_window(as_of)
        window = due <= latest if earliest is None else due.between(earliest, latest)
        columns.append(_sum_or_none(case((window, open_amount))).label(f"bucket_{index}"))
    days = ledger.days_between(literal(as_of, Date), due)
    columns += [
        func.min(case((overdue, due))).label("oldest_due"),
        _sum_or_none(case((dunnable, open_amount))).label("dunnable"),
        func.min(case((dunnable, due))).label("oldest_dunnable_due"),
        _sum_or_none(case((dunnable, open_amount * days)), AMOUNT_DAYS).label("amount_days"),
    ]
    held = and_(
        InvoiceHold.invoice_id == bal.c.invoice_id,
        InvoiceHold.placed_on <= as_of,
        or_(InvoiceHold.released_on.is_(None), InvoiceHold.released_on > as_of),
    )
    aged = select(*columns).select_from(bal).outerjoin(InvoiceHold, held).group_by(bal.c.customer_id).subquery()
    sales = ledger.sales(as_of, days=policy.dso_window_days, customer_ids=customers).subquery()
    orders = ledger.open_orders(as_of, customer_ids=customers).subquery()
    late = ledger.days_late(as_of, days=policy.payment_window_days, customer_ids=customers).subquery()
    before = aliased(CustomerReview)
    return (
        select(
            Customer.id,
            Customer.code,
            Customer.customer_class,
            Customer.company_type,
            Customer.kam_id,
            Customer.credit_limit,
            Customer.currency,
            *[column for column in aged.c if column.name != "customer_id"],
            sales.c.sales,
            orders.c.open_orders,
            late.c.weighted_days_late,
            DunningState.customer_id.label("state_of"),
            DunningState.level,
            DunningState.raised_on,
            DunningState.carried_out,
            DunningState.last_reminder_on,
            before.payment_days.label("previous_payment_days"),
        )
        .outerjoin(aged, aged.c.customer_id == Customer.id)
        .outerjoin(sales, sales.c.customer_id == Customer.id)
        .outerjoin(orders, orders.c.customer_id == Customer.id)
        .outerjoin(late, late.c.customer_id == Customer.id)
        .outerjoin(DunningState, DunningState.customer_id == Customer.id)
        .outerjoin(before, and_(before.customer_id == Customer.id, before.review_id == run.previous_id))
        .where(Customer.id.in_(customers))
        .order_by(Customer.id)
    )


@dataclass(frozen=True)
class Batch:
    """A batch of a shard's customers as read from the database, before it is reviewed."""

    customers: Select[Any]  # the batch's customers' ids
    last: int  # the highest of them
    rows: list[dict[str, Any]]  # the ledger statement's rows, plain dicts: cheaper to read
    promises: dict[int, Row[Any]]
    statements: dict[int, Statement]


def _read_batch(engine: Engine, run: Run, *, shard: int, shards: int, after: int, size: int) -> Batch | None:
    """The shard's next batch of active customers after id `after`, read on a connection of its own (the
    review reads the next batch while it reviews this one); None when no customer is left."""
    with engine.connect() as connection:
        ids = connection.scalars(
            select(Customer.id)
            .where(Customer.active.is_(True), Customer.id % shards == shard, Customer.id > after)
            .order_by(Customer.id)
            .limit(size)
        ).all()
        if not ids:
            return None
        customers = select(Customer.id).where(
            Customer.active.is_(True), Customer.id.between(ids[0], ids[-1]), Customer.id % shards == shard
        )
        result = connection.execute(_ledger_query(run, customers))
        keys = list(result.keys())
        return Batch(
            customers=customers,
            last=ids[-1],
            rows=[dict(zip(keys, values, strict=True)) for values in result],
            promises=_promises(connection, run, customers),
            statements=_statements(connection, run, customers),
        )


def _promises(connection: Connection, run: Run, customers: Select[Any]) -> dict[int, Row[Any]]:
    """The batch's promises to pay that are open or were settled by this business date, with what the
    customer paid since each was recorded; the latest per customer."""
    paid = and_(Payment.invoice_id == Invoice.id, Payment.paid_on > PaymentPromise.recorded_on)
    rows = connection.execute(
        select(
            PaymentPromise.id,
            PaymentPromise.customer_id,
            PaymentPromise.amount,
            PaymentPromise.promised_for,
            PaymentPromise.status,
            ledger.money_sum(case((Payment.paid_on <= run.as_of, Payment.amount))).label("paid_since"),
        )
        .outerjoin(Invoice, Invoice.customer_id == PaymentPromise.customer_id)
        .outerjoin(Payment, paid)
        .where(
            PaymentPromise.customer_id.in_(customers),
            PaymentPromise.recorded_on <= run.as_of,
            or_(PaymentPromise.status == "open", PaymentPromise.resolved_on == run.as_of),
        )
        .group_by(PaymentPromise.id)
        .order_by(PaymentPromise.id)
    ).all()
    return {row.customer_id: row for row in rows}


def _statements(connection: Connection, run: Run, customers: Select[Any]) -> dict[int, Statement]:
    """The latest financial statement of each customer of the batch that has one by this business date."""
    latest = (
        select(FinancialStatement.customer_id, func.max(FinancialStatement.period_end).label("period_end"))
        .where(FinancialStatement.customer_id.in_(customers), FinancialStatement.period_end <= run.as_of)
        .group_by(FinancialStatement.customer_id)
        .subquery()
    )
    figures = [getattr(FinancialStatement, name) for name in Statement.__dataclass_fields__]
    rows = connection.execute(
        select(FinancialStatement.customer_id, *figures).join(
            latest,
            and_(
                FinancialStatement.customer_id == latest.c.customer_id,
                FinancialStatement.period_end == latest.c.period_end,
            ),
        )
    )
    return {customer_id: Statement(*values) for customer_id, *values in rows}


@dataclass(frozen=True)
class _Customer:
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


def _customer(run: Run, row: dict[str, Any], promise: Row[Any] | None, statement: Statement | None) -> _Customer:
    as_of, policy = run.as_of, run.policy
    buckets = [amount or ZERO for amount in run.buckets_of(row)]
    not_due = row["not_due"] or ZERO
    overdue = sum(buckets, ZERO)
    serious = sum(
        (amount for amount, b in zip(buckets, run.buckets, strict=True) if b.low > policy.serious_overdue_days),
        ZERO,
    )
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
        "review_id": run.review.id,
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
        "overdue_amount": overdue,
        "dunnable_amount": dunnable,
        "oldest_overdue_days": oldest_days or 0,
        "serious_overdue_amount": serious,
        "serious_overdue_days": policy.serious_overdue_days,
        "serious_overdue_share_pct": percent_of(serious, exposure) or ZERO,
        "exposure": exposure,
        "credit_limit": limit,
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
    amounts = {"not_due": not_due, **dict(zip(run.review.bucket_labels, buckets, strict=True))}
    amounts |= {"overdue": overdue, "dunnable": dunnable, "serious_overdue": serious}
    amounts |= {"exposure": exposure, "interest": interest, "fees": fee}
    settled = None
    if promise is not None and promise_status != "open" and promise.status == "open":
        settled = (promise.id, promise_status or "open")
    return _Customer(
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


def _decide(ruleset: RuleSet, reviewed: Sequence[_Customer]) -> list[Decision]:
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
    for row in batch.rows:
        try:
            reviewed.append(_customer(run, row, batch.promises.get(row["id"]), batch.statements.get(row["id"])))
        except Exception as error:
            reason = (
                "an amount that is not a finite number" if isinstance(error, InvalidOperation) else f"{error!r}"
            )
            raise ReviewFailed(f"customer {row['code']}: {reason}", customer=row["code"]) from error
    decisions = _decide(run.ruleset, reviewed)
    totals = Totals()
    for customer in reviewed:
        totals.add(
            currency=customer.currency,
            level=customer.moved.level,
            raised=customer.moved.raised,
            amounts=customer.amounts,
        )
    actions = [_actions(run, decision) for decision in decisions]
    _store_reviews(session, run, batch.customers, reviewed, decisions, actions)
    _store_dunning(session, run, reviewed)
    _store_promises(session, run, reviewed)
    return totals, _store_tasks(session, run, batch.customers, reviewed, decisions, actions)


def _actions(run: Run, decision: Decision) -> Actions:
    """The actions a decision asks for, each with the reasons of the rules that asked for it."""
    actions: Actions = {}
    for reason in decision.reasons:
        outcome = run.outcome_of.get(reason.rule, NO_ACTION)
        if outcome != NO_ACTION:
            actions.setdefault(outcome, []).append(reason.model_dump())
    return actions


def _store_reviews(
    session: Session,
    run: Run,
    customers: Select[Any],
    reviewed: Sequence[_Customer],
    decisions: list[Decision],
    actions: list[Actions],
) -> None:
    session.execute(
        delete(CustomerReview).where(
            CustomerReview.review_id == run.review.id, CustomerReview.customer_id.in_(customers)
        )
    )
    rows = [
        customer.values
        | {
            "outcome": decision.outcome,
            "actions": sorted(asked),
            "reasons": [reason for found in asked.values() for reason in found],
        }
        for customer, decision, asked in zip(reviewed, decisions, actions, strict=True)
    ]
    if rows:
        insert_many(session.connection(), CustomerReview, rows)


def _store_dunning(session: Session, run: Run, reviewed: Sequence[_Customer]) -> None:
    """Write the dunning states that moved tonight; cancel the open dunning tasks of customers back at 0."""
    changed = [c for c in reviewed if (c.moved.raised and c.state.raised_on != run.as_of) or c.moved.reset]
    rows = [
        {
            "customer_id": c.id,
            "level": c.moved.level,
            "raised_on": run.as_of,
            "carried_out": False,
            "last_reminder_on": None if c.moved.reset else c.state.last_reminder_on,
        }
        for c in changed
    ]
    updates = [row for row, c in zip(rows, changed, strict=True) if c.has_state]
    inserts = [row for row, c in zip(rows, changed, strict=True) if not c.has_state]
    if updates:
        session.execute(sql_update(DunningState), updates)
    if inserts:
        insert_many(session.connection(), DunningState, inserts)
    reset = [c.id for c in reviewed if c.moved.reset]
    if reset:
        session.execute(
            sql_update(CollectionTask)
            .where(
                CollectionTask.customer_id.in_(reset),
                CollectionTask.action == DUNNING,
                CollectionTask.status == "open",
            )
            .values(status="cancelled", note="nothing left to dun")
            .execution_options(synchronize_session=False)
        )


def _store_promises(session: Session, run: Run, reviewed: Sequence[_Customer]) -> None:
    settled = [
        {"id": c.promise[0], "status": c.promise[1], "resolved_on": run.as_of} for c in reviewed if c.promise
    ]
    if settled:
        session.execute(sql_update(PaymentPromise), settled)


def _store_tasks(
    session: Session,
    run: Run,
    customers: Select[Any],
    reviewed: Sequence[_Customer],
    decisions: list[Decision],
    actions: list[Actions],
) -> int:
    """A collection task per action decided, unless this date already has it or the same action is open."""
    existing = set(
        session.connection()
        .execute(
            select(CollectionTask.customer_id, CollectionTask.action).where(
                CollectionTask.customer_id.in_(customers),
                or_(CollectionTask.business_date == run.as_of, CollectionTask.status == "open"),
            )
        )
        .all()
    )
    rows, decided = [], []
    for customer, decision, asked in zip(reviewed, decisions, actions, strict=True):
        for action, reasons in asked.items():
            if (customer.id, action) in existing:
                continue
            rows.append(_task(run, customer, decision, action, reasons))
            decided.append((customer, decision))
    if not rows:
        return 0
    insert_many(session.connection(), CollectionTask, rows)
    made = {
        (task.customer_id, task.action): task.id
        for task in session.connection().execute(
            select(CollectionTask.customer_id, CollectionTask.action, CollectionTask.id).where(
                CollectionTask.customer_id.in_(customers), CollectionTask.business_date == run.as_of
            )
        )
    }
    policies = versions(run.policy)
    events = [
        audit.Event(
            at=run.now,
            actor="rules",
            action=f"collection_{row['action']}",
            subject_type="collection_task",
            subject_id=made[customer.id, row["action"]],
            decision=decision,
            reasons=row["reasons"],
            detail={
                "customer": customer.code,
                "business_date": run.as_of.isoformat(),
                "assignee": run.employees[row["assignee_id"]].login,
                "level": row["level"],
                "channel": row["channel"],
                "policies": policies,
            },
        )
        for row, (customer, decision) in zip(rows, decided, strict=True)
    ]
    audit.record_many(session, events)
    return len(rows)


def _task(
    run: Run,
    customer: _Customer,
    decision: Decision,
    action: str,
    reasons: list[dict[str, str]],
) -> dict[str, Any]:
    channel: str | None
    if action == DUNNING:
        level = run.policy.levels[customer.moved.level - 1]
        channel, within, fee, number = level.channel, level.act_within_days, customer.values["fee"], level.level
    else:
        rule = run.policy.actions[action]  # type: ignore[index]
        channel, within, fee, number = rule.channel, rule.act_within_days, ZERO, None
    role = decision.role if action == "escalate" else None
    return {
        "customer_id": customer.id,
        "business_date": run.as_of,
        "action": action,
        "channel": channel,
        "level": number,
        "assignee_id": run.assignee(customer.kam_id, role),
        "next_action_on": run.as_of + dt.timedelta(days=within),
        "status": "open",
        "reasons": reasons,
        "amount": customer.values["dunnable"],
        "fee": fee,
        "review_id": run.review.id,
        "rules_version": decision.version,
        "created_at": run.now,
        "note": "",
    }


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
    return summary(session, review, policy=policy or load_policy(), previous=previous)


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
            "overdue": f"{money(row.overdue)} {row.currency}",
            "seriously overdue": money(row.serious_overdue),
            "exposure": money(row.exposure),
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
