"""Domain tables (SQLAlchemy 2 typed models). Money is Numeric/Decimal beside a currency column."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal, get_args

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

Money = Numeric(18, 2)
Percent = Numeric(7, 4)
Utilisation = Numeric(24, 4)
"""An amount as a percentage of a limit: unbounded (a limit cut far below the exposure), so as wide as money over
the smallest limit."""


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware instants, stored as UTC on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an instant is required")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Employee(Base):
    """A person: their place in the org chart, their job role and any extra roles (such as `admin`), and their
    password's argon2 hash (none until one is set: they cannot sign in)."""

    __tablename__ = "employees"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    position: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(50), index=True)
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Extra roles beside the job role `role`, e.g. ["admin"]."""
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str | None] = mapped_column(String(2))
    """es or en; none: the company's default."""
    email: Mapped[str | None] = mapped_column(String(254))
    """Where notifications go; none: login@mail_domain (kamflow.settings)."""
    password_hash: Mapped[str | None] = mapped_column(String(255))

    manager: Mapped[Employee | None] = relationship(remote_side=[id])


class Delegation(Base):
    """Clause 1.4: during an absence, an order names who acts for whom, and for how long."""

    __tablename__ = "delegations"

    id: Mapped[int] = mapped_column(primary_key=True)
    from_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    to_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date] = mapped_column(Date)
    order_ref: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    customer_class: Mapped[str] = mapped_column(String(1))
    company_type: Mapped[str] = mapped_column(String(30), default="private")
    kam_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    credit_limit: Mapped[Decimal | None] = mapped_column(Money)
    """The base total limit: NULL is no limit set (exposure is not checked against one), 0 is no credit."""
    currency: Mapped[str] = mapped_column(String(3))
    payment_terms_days: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    kam: Mapped[Employee] = relationship()


class PriceList(Base):
    __tablename__ = "price_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    currency: Mapped[str] = mapped_column(String(3))


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    order_date: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20), default="open")
    """open (accepted on credit), invoiced, blocked, awaiting_prepayment (released once the prepayment is
    recorded), rejected or cancelled; only open orders count in exposure."""
    prepaid: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"), server_default="0")
    """Prepayments received for the order: what it adds to exposure is its amount less these and its invoices."""


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        Index("ix_invoices_customer_due", "customer_id", "due_date"),
        Index("ix_invoices_issue_date", "issue_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    issue_date: Mapped[dt.date] = mapped_column(Date)
    due_date: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    disputed: Mapped[bool] = mapped_column(Boolean, default=False)


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    paid_on: Mapped[dt.date] = mapped_column(Date, index=True)
    amount: Mapped[Decimal] = mapped_column(Money)


class Instalment(Base):
    """One part of an invoice's payment schedule: the amount due on a date. An invoice's instalments sum to its
    amount; an invoice without any falls due whole on its own due date. What pays an instalment is in
    `Allocation`."""

    __tablename__ = "instalments"
    __table_args__ = (UniqueConstraint("invoice_id", "due_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    due_date: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)


CreditNoteReason = Literal["returned", "refused", "damaged", "price_dispute"]
"""Why a credit note was issued (clause 2.11: the KAM analyses returns and refusals)."""
CREDIT_NOTE_REASONS: tuple[str, ...] = get_args(CreditNoteReason)


class CreditNote(Base):
    """A credit against an invoice (goods returned or refused, damaged goods, a price dispute settled): it reduces
    what the customer owes on that invoice as a payment does, on the day it is issued."""

    __tablename__ = "credit_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    issued_on: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str] = mapped_column(String(20))


class Allocation(Base):
    """The part of a payment or of a credit note (exactly one of them) that settles an instalment, dated as they
    are. A payment or credit note on an invoice without instalments needs none: it settles the invoice."""

    __tablename__ = "allocations"
    __table_args__ = (CheckConstraint("(payment_id IS NULL) <> (credit_note_id IS NULL)", name="one_source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instalment_id: Mapped[int] = mapped_column(ForeignKey("instalments.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    credit_note_id: Mapped[int | None] = mapped_column(ForeignKey("credit_notes.id"), index=True)
    settled_on: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)


class InvoiceHold(Base):
    """A disputed invoice on hold: still a receivable, but not overdue while the hold lasts (`kamflow.ledger`)."""

    __tablename__ = "invoice_holds"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    placed_on: Mapped[dt.date] = mapped_column(Date)
    placed_by_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    placed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    released_on: Mapped[dt.date | None] = mapped_column(Date)


class LedgerWindows(Base):
    """The running figures' windows (`kamflow.figures`), one row: the sales kept are those issued after
    `sales_after`, the payments those made after `paid_after` (None: since the first)."""

    __tablename__ = "ledger_windows"

    id: Mapped[int] = mapped_column(primary_key=True)
    sales_after: Mapped[dt.date | None] = mapped_column(Date)
    paid_after: Mapped[dt.date | None] = mapped_column(Date)


class CustomerFigures(Base):
    """A customer's running figures (`kamflow.figures`), kept up to date in the transaction that changes the
    ledger: the latest date in the customer's ledger, sales and payments within the windows (`LedgerWindows`),
    and what the open orders add to exposure (each None where the ledger has nothing to count, as its queries say).
    A customer with nothing in the ledger has no row."""

    __tablename__ = "customer_figures"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    latest: Mapped[dt.date] = mapped_column(Date)
    sales: Mapped[Decimal | None] = mapped_column(Money)
    paid: Mapped[Decimal | None] = mapped_column(Money)
    paid_days: Mapped[Decimal | None] = mapped_column(Numeric(24, 2))
    """The amounts paid × their days late."""
    open_orders: Mapped[Decimal | None] = mapped_column(Money)


class OpenItem(Base):
    """An invoice, or an instalment of one, with something unpaid on it (`kamflow.figures`), kept up to date with
    the customer's running figures."""

    __tablename__ = "open_items"
    __table_args__ = (Index("ix_open_items_customer_due", "customer_id", "due_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"))
    instalment_id: Mapped[int | None] = mapped_column(ForeignKey("instalments.id"))
    due_date: Mapped[dt.date] = mapped_column(Date)
    open_amount: Mapped[Decimal] = mapped_column(Money)
    disputed: Mapped[bool] = mapped_column(Boolean)


class ApprovalTask(Base):
    """A person's turn to decide. One row per level; an escalation closes one row and opens the next.

    The owner is who the task is for; who may act on it today follows from delegations (kamflow.org)."""

    __tablename__ = "approval_tasks"
    __table_args__ = (Index("ix_approval_tasks_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process: Mapped[str] = mapped_column(String(50))
    subject_id: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    explanation: Mapped[str] = mapped_column(Text)
    level: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(50))
    owner_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    flow_run_id: Mapped[str | None] = mapped_column(String(36), index=True)
    refused_inputs: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    action: Mapped[str | None] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    owner: Mapped[Employee] = relationship(foreign_keys=[owner_id])
    actor: Mapped[Employee | None] = relationship(foreign_keys=[actor_id])


class RuleSetVersion(Base):
    """The exact text of every rule-set version ever used, so past decisions can be re-explained."""

    __tablename__ = "rule_set_versions"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    ruleset: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    first_used_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    """Append-only trail: who, when, what, why, and under which rule-set version. A hash chain (kamflow.audit):
    `seq` is the event's place in the chain, `hash` covers its content, its place and the previous event's hash."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(50))
    subject_type: Mapped[str] = mapped_column(String(50))
    subject_id: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rules_version: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    hash: Mapped[str] = mapped_column(String(64))


class AuditChainHead(Base):
    """The audit chain's one row: the last event's place and hash. Writers lock it to extend the chain."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


def _refuse_change(_mapper: Mapper[Any], _connection: Any, target: AuditEvent) -> None:
    raise PermissionError(f"audit event {target.id} is append-only")


event.listen(AuditEvent, "before_update", _refuse_change)
event.listen(AuditEvent, "before_delete", _refuse_change)
