"""Tables of the nightly credit review: the review per business date and its shards, each customer's
result, the dunning state, collection tasks and promises to pay (an invoice's hold is the ledger's:
`kamflow.models.InvoiceHold`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kamflow.models import Base, Money, UTCDateTime, Utilisation

Days = Numeric(9, 2)


class CreditReview(Base):
    """One review per business date; a re-run of the same date updates it."""

    __tablename__ = "credit_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    business_date: Mapped[dt.date] = mapped_column(Date, unique=True)
    status: Mapped[str] = mapped_column(String(20))  # running | completed | failed
    shards: Mapped[int] = mapped_column(Integer)
    flow_run_id: Mapped[str | None] = mapped_column(String(36))
    rules_version: Mapped[str | None] = mapped_column(String(64))
    bucket_labels: Mapped[list[str]] = mapped_column(JSON)
    totals: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ReviewShard(Base):
    """A slice of the customers (id modulo shards) reviewed by one Prefect task, with its progress."""

    __tablename__ = "credit_review_shards"
    __table_args__ = (UniqueConstraint("review_id", "shard"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("credit_reviews.id"))
    shard: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # pending | running | completed | failed
    customers: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    totals: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # of the customers done so far
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class CustomerReview(Base):
    """What one review found for one customer, and what the rules decided."""

    __tablename__ = "customer_reviews"
    __table_args__ = (UniqueConstraint("review_id", "customer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("credit_reviews.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    not_due: Mapped[Decimal] = mapped_column(Money)
    buckets: Mapped[list[str]] = mapped_column(JSON)  # overdue amount per ageing bucket, as the review's labels
    overdue: Mapped[Decimal] = mapped_column(Money)
    oldest_overdue_days: Mapped[int | None] = mapped_column(Integer)
    serious_overdue: Mapped[Decimal] = mapped_column(Money)
    dunnable: Mapped[Decimal] = mapped_column(Money)  # overdue and not on hold
    interest: Mapped[Decimal] = mapped_column(Money)
    fee: Mapped[Decimal] = mapped_column(Money)
    dso: Mapped[Decimal | None] = mapped_column(Days)
    exposure: Mapped[Decimal] = mapped_column(Money)
    credit_limit: Mapped[Decimal | None] = mapped_column(Money)  # None: no limit set
    utilisation: Mapped[Decimal | None] = mapped_column(Utilisation)
    payment_days: Mapped[Decimal | None] = mapped_column(Days)
    payment_days_change: Mapped[Decimal | None] = mapped_column(Days)
    altman_zone: Mapped[str | None] = mapped_column(String(10))  # from the latest financial statement, if any
    dunning_level: Mapped[int] = mapped_column(Integer)
    level_raised: Mapped[bool] = mapped_column(Boolean)
    outcome: Mapped[str] = mapped_column(String(30))
    actions: Mapped[list[str]] = mapped_column(JSON)
    reasons: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The facts the reasons print (`RuleSet.printed_facts`), to write them in the reader's language; None when
    they print none, and in the reviews before this column."""


class DunningState(Base):
    """Where a customer stands in the dunning policy."""

    __tablename__ = "dunning_states"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    level: Mapped[int] = mapped_column(Integer)
    raised_on: Mapped[dt.date] = mapped_column(Date)  # business date of the review that set the level
    carried_out: Mapped[bool] = mapped_column(Boolean)
    last_reminder_on: Mapped[dt.date | None] = mapped_column(Date)


class CollectionTask(Base):
    """An action for a person (the KAM, or the department head for an escalation); one per customer,
    business date and action."""

    __tablename__ = "collection_tasks"
    __table_args__ = (
        UniqueConstraint("customer_id", "business_date", "action"),
        Index("ix_collection_tasks_assignee_status", "assignee_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    business_date: Mapped[dt.date] = mapped_column(Date)
    action: Mapped[str] = mapped_column(String(30))
    channel: Mapped[str | None] = mapped_column(String(20))
    level: Mapped[int | None] = mapped_column(Integer)
    assignee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    next_action_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))  # open | done | cancelled
    reasons: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    amount: Mapped[Decimal] = mapped_column(Money)  # overdue (not on hold) when the task was made
    fee: Mapped[Decimal] = mapped_column(Money)
    review_id: Mapped[int] = mapped_column(ForeignKey("credit_reviews.id"))
    rules_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    done_on: Mapped[dt.date | None] = mapped_column(Date)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    note: Mapped[str] = mapped_column(Text, default="")


class PaymentPromise(Base):
    """A customer's promise to pay an amount by a date, recorded by the KAM; the review honours it."""

    __tablename__ = "payment_promises"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    promised_for: Mapped[dt.date] = mapped_column(Date)
    recorded_on: Mapped[dt.date] = mapped_column(Date)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20))  # open | kept | broken | superseded
    resolved_on: Mapped[dt.date | None] = mapped_column(Date)
