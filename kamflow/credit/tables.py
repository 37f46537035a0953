"""Credit control's records: financial statements, solvency checks, credit terms and limit changes, and
the credit decision on every order. A customer's base credit limit stays `customers.credit_limit`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kamflow.models import Base, Customer, Employee, Money, Order, UTCDateTime


class FinancialStatement(Base):
    """A customer's figures for one period (imported, or made up by the demo)."""

    __tablename__ = "financial_statements"
    __table_args__ = (UniqueConstraint("customer_id", "period_end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    period_end: Mapped[dt.date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    current_assets: Mapped[Decimal] = mapped_column(Money)
    current_liabilities: Mapped[Decimal] = mapped_column(Money)
    inventory: Mapped[Decimal] = mapped_column(Money)
    total_assets: Mapped[Decimal] = mapped_column(Money)
    total_liabilities: Mapped[Decimal] = mapped_column(Money)
    equity: Mapped[Decimal] = mapped_column(Money)
    retained_earnings: Mapped[Decimal] = mapped_column(Money)
    ebit: Mapped[Decimal] = mapped_column(Money)
    sales: Mapped[Decimal] = mapped_column(Money)
    market_value_equity: Mapped[Decimal | None] = mapped_column(Money)


class CreditCheck(Base):
    """A solvency check: what it was given, what it scored, and what was decided, by the rules or a person."""

    __tablename__ = "credit_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    flow_run_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    purpose: Mapped[str] = mapped_column(String(20))
    order_amount: Mapped[Decimal] = mapped_column(Money)
    statement_id: Mapped[int | None] = mapped_column(ForeignKey("financial_statements.id"))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Every input the decision saw: ledger facts, the statement's figures, limits, the proposal."""
    scores: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Ratios and the Altman score with its model and zone (empty without a statement)."""
    risk_class: Mapped[str] = mapped_column(String(1))
    outcome: Mapped[str] = mapped_column(String(20))
    """What the rules said: approve_limit, prepayment, reject or escalate."""
    status: Mapped[str] = mapped_column(String(20))
    """pending (waiting for a person) or decided."""
    decision: Mapped[str | None] = mapped_column(String(20))
    """The final decision: approve_limit, prepayment or reject."""
    proposed_limit: Mapped[Decimal] = mapped_column(Money)
    approved_limit: Mapped[Decimal | None] = mapped_column(Money)
    formula: Mapped[str] = mapped_column(Text)
    reasons: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    """Why: the reasons of the risk class, then of the decision."""
    decisions: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The two rule decisions in full: {"class": ..., "solvency": ...}."""
    rules_version: Mapped[str] = mapped_column(String(64))
    class_rules_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    customer: Mapped[Customer] = relationship()
    requester: Mapped[Employee] = relationship()


class CreditTerms(Base):
    """A customer's limits besides the base limit: a temporary total limit until a date, and sub-limits
    per category. A NULL limit is no limit set (not checked); 0 is no credit in that category (for overdue:
    none tolerated). No row means no temporary limit and no sub-limit set."""

    __tablename__ = "credit_terms"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    temporary_limit: Mapped[Decimal | None] = mapped_column(Money)
    temporary_until: Mapped[dt.date | None] = mapped_column(Date)
    open_orders_limit: Mapped[Decimal | None] = mapped_column(Money)
    open_invoices_limit: Mapped[Decimal | None] = mapped_column(Money)
    overdue_limit: Mapped[Decimal | None] = mapped_column(Money)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class CreditLimitChange(Base):
    """A request to change one of a customer's limits: decided by the rules or a person, applied once."""

    __tablename__ = "credit_limit_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    flow_run_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    category: Mapped[str] = mapped_column(String(20))
    """total, open_orders, open_invoices or overdue."""
    old_limit: Mapped[Decimal | None] = mapped_column(Money)
    """None: no limit was set."""
    new_limit: Mapped[Decimal | None] = mapped_column(Money)
    """None: the limit is cleared (no limit set: not checked)."""
    until: Mapped[dt.date | None] = mapped_column(Date)
    """Last day of a temporary total limit; None for a lasting change."""
    exposure: Mapped[Decimal] = mapped_column(Money)
    confirmed: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    requester_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    status: Mapped[str] = mapped_column(String(20))
    """pending, applied or rejected."""
    decision: Mapped[dict[str, Any]] = mapped_column(JSON)
    rules_version: Mapped[str] = mapped_column(String(64))
    released: Mapped[list[int]] = mapped_column(JSON, default=list)
    """Order credit checks the re-check after this change released."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    customer: Mapped[Customer] = relationship()
    requester: Mapped[Employee] = relationship()


class OrderCreditCheck(Base):
    """The credit decision on an order: approved, or blocked until released (perhaps against a
    prepayment) or rejected by a person, or released when a re-check under a new limit passes."""

    __tablename__ = "order_credit_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    flow_run_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    status: Mapped[str] = mapped_column(String(20), index=True)
    """approved, blocked, released or rejected."""
    prepayment_amount: Mapped[Decimal | None] = mapped_column(Money)
    decision: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The rules' decision with the input snapshot; a re-check replaces it (the audit trail keeps both)."""
    rules_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    order: Mapped[Order] = relationship()
    customer: Mapped[Customer] = relationship()
    requester: Mapped[Employee] = relationship()
