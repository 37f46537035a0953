"""Discounts' records (clauses 2.9, 2.18): the price-list columns and the norms on them, promotions, and every
discount request with the rules' decision on it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kamflow.models import Base, Customer, Employee, Money, Percent, UTCDateTime


class PriceColumn(Base):
    """A level of price/discount in a price list (clause 2.9)."""

    __tablename__ = "price_columns"
    __table_args__ = (UniqueConstraint("price_list_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    price_list_id: Mapped[int] = mapped_column(ForeignKey("price_lists.id"))
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))


class DiscountNorm(Base):
    """The company norm: the largest discount a KAM may give on a column to a customer class."""

    __tablename__ = "discount_norms"
    __table_args__ = (UniqueConstraint("price_column_id", "customer_class"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    price_column_id: Mapped[int] = mapped_column(ForeignKey("price_columns.id"))
    customer_class: Mapped[str] = mapped_column(String(1))
    max_pct: Mapped[Decimal] = mapped_column(Percent)


class Promotion(Base):
    """A time-bound discount programme decided by management (clause 2.18)."""

    __tablename__ = "promotions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date] = mapped_column(Date)
    extra_pct: Mapped[Decimal] = mapped_column(Percent)
    customer_class: Mapped[str | None] = mapped_column(String(1))


class DiscountRequest(Base):
    __tablename__ = "discount_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    flow_run_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    price_column: Mapped[int] = mapped_column(Integer)
    discount_pct: Mapped[Decimal] = mapped_column(Percent)
    order_total: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    note: Mapped[str] = mapped_column(Text, default="")
    requester_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    status: Mapped[str] = mapped_column(String(20))
    granted_pct: Mapped[Decimal | None] = mapped_column(Percent)
    decision: Mapped[dict[str, Any]] = mapped_column(JSON)
    rules_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    customer: Mapped[Customer] = relationship()
    requester: Mapped[Employee] = relationship()
