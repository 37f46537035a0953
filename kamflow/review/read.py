"""The review's reads: a shard's customers in batches, each batch read in a few set-based statements (ageing,
holds, sales, open orders, payment behaviour, dunning state, the previous review, promises to pay, financial
statements) — from the ledger's running figures (`kamflow.figures`: one row and the open items per customer)
where they are the ledger's as of the review's date, else from the ledger itself — and the next batch read
ahead on a connection of its own while the current one is decided and written (the database's work on one
core, Python's on the other); it reads only other customers' rows than those written."""

from __future__ import annotations

import datetime as dt
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Date,
    Engine,
    Numeric,
    Result,
    Select,
    Subquery,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from kamflow import figures, ledger, org
from kamflow.credit.facts import Statement
from kamflow.credit.policy import CreditPolicy
from kamflow.credit.tables import FinancialStatement
from kamflow.models import Customer, CustomerFigures, Employee, Invoice, Money, OpenItem, Payment
from kamflow.review.assess import Basis, Promise
from kamflow.review.dunning import Policy
from kamflow.review.tables import CustomerReview, DunningState, PaymentPromise
from rules.engine import RuleSet, no_cycle_collection

BATCH = 2000
AMOUNT_DAYS = Numeric(24, 2)  # sum of amount x days overdue, for interest


@dataclass(frozen=True)
class Run(Basis):
    """What every batch of a shard needs, worked out once: the assessment's basis, and what reading,
    deciding and writing add to it."""

    now: dt.datetime
    credit: CreditPolicy  # its grace days: what is overdue (`kamflow.ledger.overdue_when`)
    ruleset: RuleSet
    previous_id: int
    employees: dict[int, Employee]
    holders: org.Holders

    def assignee(self, kam_id: int, role: str | None) -> int:
        """Who acts on a task: the KAM, or the holder of the role the rules named for the KAM."""
        return kam_id if role is None else self.holders.of(role, self.employees[kam_id]).id


@dataclass(frozen=True)
class Batch:
    """A batch of a shard's customers as read from the database, before it is reviewed."""

    customers: Select[Any]  # the batch's customers' ids
    last: int  # the highest of them
    rows: list[dict[str, Any]]  # the ledger statement's rows, plain dicts: cheaper to read
    promises: dict[int, Promise]
    statements: dict[int, Statement]


def read_ahead(
    session: Session, run: Run, *, shard: int, shards: int, size: int = BATCH
) -> Generator[Batch, None, None]:
    """The shard's batches in customer id order; each next one is read on a connection of its own (from the
    session's engine) while the caller works on the current one. Close it (`contextlib.closing`) to wait for
    the read in flight when the caller stops early."""
    read = partial(_read_batch, session.get_bind().engine, Reads.of(run, shard=shard, shards=shards, size=size))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="credit-review-read") as reader:
        ahead = reader.submit(read, after=0)
        while (batch := ahead.result()) is not None:
            ahead = reader.submit(read, after=batch.last)
            yield batch


def _customers(shard: int, shards: int, first: Any, last: Any) -> Select[Any]:
    """The ids of the shard's active customers from `first` to `last`: a batch's customers."""
    return select(Customer.id).where(
        Customer.active.is_(True), Customer.id.between(first, last), Customer.id % shards == shard
    )


@dataclass(frozen=True)
class Reads:
    """The statements that read a shard's batches, built once for the shard (SQLAlchemy builds a statement
    in Python each time it is asked for one, which a batch would feel): the next batch's ids after the
    parameter `after`, and the batch's figures, promises and statements, whose customers are those of the
    shard from the parameter `first` to `last`."""

    run: Run
    shard: int
    shards: int
    ids: Select[Any]
    figures: Select[Any]
    promises: Select[Any]
    statements: Select[Any]

    @classmethod
    def of(cls, run: Run, *, shard: int, shards: int, size: int) -> Reads:
        ids = (
            select(Customer.id)
            .where(Customer.active.is_(True), Customer.id % shards == shard, Customer.id > bindparam("after"))
            .order_by(Customer.id)
            .limit(size)
        )
        customers = _customers(shard, shards, bindparam("first"), bindparam("last"))
        return cls(
            run,
            shard,
            shards,
            ids,
            _figures_query(run, customers),
            _promises_query(run, customers),
            _statements_query(run, customers),
        )


def _sum_or_none(amount: Any, type_: Numeric[Any] = Money) -> Any:
    """A sum to the cent, NULL when nothing adds to it: most customers have nothing in most buckets, and a
    NULL costs no Decimal to read (the review reads it as 0)."""
    return cast(func.sum(amount), type_)


def _aged(run: Run, items: Subquery) -> Subquery:
    """One row per customer with open items (`customer_id`, `due_date`, `open_amount`, `on_hold`): ageing
    (everything past its due date) and what is overdue (the ledger's one definition: the credit policy's grace
    days, holds and disputes left out)."""
    as_of = run.as_of
    open_amount, due = items.c.open_amount, items.c.due_date
    overdue = due < as_of
    dunnable = ledger.overdue_when(items, as_of, grace_days=run.credit.grace_days)
    columns = [items.c.customer_id, _sum_or_none(case((due >= as_of, open_amount))).label("not_due")]
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
    return select(*columns).select_from(items).group_by(items.c.customer_id).subquery()


def windows(as_of: dt.date, policy: Policy) -> figures.Windows:
    """The windows of the running figures that a review of `as_of` reads (`kamflow.figures.roll`)."""
    return figures.Windows.ending(as_of, sales_days=policy.dso_window_days, paid_days=policy.payment_window_days)


def _figures_query(run: Run, customers: Select[Any]) -> Select[Any]:
    """`_ledger_query`'s row for the customers of the batch whose running figures are the ledger's as of the
    review's date (`kamflow.figures.fresh`), read from their figures and open items."""
    on_hold = ledger.on_hold_when(OpenItem.invoice_id, OpenItem.disputed, run.as_of).label("on_hold")
    items = select(OpenItem.customer_id, OpenItem.due_date, OpenItem.open_amount, on_hold).where(
        OpenItem.customer_id.in_(customers)
    )
    late = ledger.weighted_days_late(CustomerFigures.paid_days, CustomerFigures.paid).label("weighted_days_late")
    return (
        _row(
            run,
            customers,
            _aged(run, items.subquery()),
            [CustomerFigures.sales, CustomerFigures.open_orders, late],
        )
        .outerjoin(CustomerFigures, CustomerFigures.customer_id == Customer.id)
        .where(figures.fresh(run.as_of, windows(run.as_of, run.policy)))
    )


def _ledger_query(run: Run, customers: Select[Any]) -> Select[Any]:
    """One row per customer of the batch: ageing and what is overdue (`_aged`), sales, open orders, payment
    behaviour, dunning state and the previous review's payment behaviour — one statement over the ledger."""
    as_of, policy = run.as_of, run.policy
    balances = ledger.invoice_balances(as_of, open_only=True, customer_ids=customers).subquery()
    sales = ledger.sales(as_of, days=policy.dso_window_days, customer_ids=customers).subquery()
    orders = ledger.open_orders(as_of, customer_ids=customers).subquery()
    late = ledger.days_late(as_of, days=policy.payment_window_days, customer_ids=customers).subquery()
    return (
        _row(
            run, customers, _aged(run, balances), [sales.c.sales, orders.c.open_orders, late.c.weighted_days_late]
        )
        .outerjoin(sales, sales.c.customer_id == Customer.id)
        .outerjoin(orders, orders.c.customer_id == Customer.id)
        .outerjoin(late, late.c.customer_id == Customer.id)
    )


def _row(run: Run, customers: Select[Any], aged: Subquery, facts: list[Any]) -> Select[Any]:
    """The batch's customers with their ageing, the `facts` (sales, open orders, weighted days late: the caller
    joins what they come from), dunning state and the previous review's payment behaviour."""
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
            *facts,
            DunningState.customer_id.label("state_of"),
            DunningState.level,
            DunningState.raised_on,
            DunningState.carried_out,
            DunningState.last_reminder_on,
            before.payment_days.label("previous_payment_days"),
        )
        .outerjoin(aged, aged.c.customer_id == Customer.id)
        .outerjoin(DunningState, DunningState.customer_id == Customer.id)
        .outerjoin(before, and_(before.customer_id == Customer.id, before.review_id == run.previous_id))
        .where(Customer.id.in_(customers))
        .order_by(Customer.id)
    )


def _read_batch(engine: Engine, reads: Reads, *, after: int) -> Batch | None:
    """The shard's next batch of active customers after id `after`, read on a connection of its own (the
    review reads the next batch while it reviews this one); None when no customer is left."""
    run = reads.run
    with no_cycle_collection(), engine.connect() as connection:  # a batch's many values hold no cycles
        ids = connection.scalars(reads.ids, {"after": after}).all()
        if not ids:
            return None
        batch = {"first": ids[0], "last": ids[-1]}
        rows = _rows(connection.execute(reads.figures, batch))
        if len(rows) < len(ids):  # some customers' figures are not the ledger's as of the review's date
            read = {row["id"] for row in rows}
            rest = select(Customer.id).where(Customer.id.in_([i for i in ids if i not in read]))
            rows = sorted([*rows, *_rows(connection.execute(_ledger_query(run, rest)))], key=itemgetter("id"))
        promises = connection.execute(reads.promises, batch)
        statements = connection.execute(reads.statements, batch)
        return Batch(
            customers=_customers(reads.shard, reads.shards, ids[0], ids[-1]),
            last=ids[-1],
            rows=rows,
            promises={customer_id: Promise(*values) for customer_id, *values in promises},
            statements={customer_id: Statement(*values) for customer_id, *values in statements},
        )


def _rows(result: Result[Any]) -> list[dict[str, Any]]:
    """A statement's rows as plain dicts: cheaper to read. Row by row, not `all()`: a batch's row objects are
    never all alive at once."""
    keys = list(result.keys())
    return [dict(zip(keys, values, strict=True)) for values in result]


def _promises_query(run: Run, customers: Select[Any]) -> Select[Any]:
    """The batch's promises to pay that are open or were settled by this business date, with what the
    customer paid since each was recorded: `customer_id` and the fields of `Promise`, the latest last."""
    paid = and_(Payment.invoice_id == Invoice.id, Payment.paid_on > PaymentPromise.recorded_on)
    return (
        select(
            PaymentPromise.customer_id,
            PaymentPromise.id,
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
    )


def _statements_query(run: Run, customers: Select[Any]) -> Select[Any]:
    """The latest financial statement of each customer of the batch that has one by this business date:
    `customer_id` and the fields of `Statement`."""
    latest = (
        select(FinancialStatement.customer_id, func.max(FinancialStatement.period_end).label("period_end"))
        .where(FinancialStatement.customer_id.in_(customers), FinancialStatement.period_end <= run.as_of)
        .group_by(FinancialStatement.customer_id)
        .subquery()
    )
    figures = [getattr(FinancialStatement, name) for name in Statement.__dataclass_fields__]
    return select(FinancialStatement.customer_id, *figures).join(
        latest,
        and_(
            FinancialStatement.customer_id == latest.c.customer_id,
            FinancialStatement.period_end == latest.c.period_end,
        ),
    )
