"""What `kamflow audit verify` checks: the audit chain is intact (`kamflow.audit.walk`), and the business rows
agree with the decisions audited on them — a discount request's status and granted discount with its last audited
decision, an order credit check's status (and prepayment) with its last, a customer's credit limit with the last
new base limit applied. A row changed behind the services' back (in SQL) shows here; so does a decided row with
no audited decision. Reads only, streaming: memory stays flat whatever the number of rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import chain
from typing import Any

from sqlalchemy import Connection, Select, func, select

from kamflow import audit
from kamflow.credit.tables import CreditLimitChange, OrderCreditCheck
from kamflow.discounts.tables import DiscountRequest
from kamflow.i18n import _
from kamflow.models import AuditEvent, Customer

SHOWN = 100  # disagreements listed; all are counted


@dataclass(frozen=True)
class Disagreement:
    """A business row whose value is not the one its last audited decision left."""

    subject: str  # "discount_request 12", "customer C0001"
    column: str
    row: str | None
    audited: str | None
    event_id: int | None  # the audit event that says otherwise; None: no audited decision at all

    def text(self) -> str:
        if self.event_id is None:
            return _("{subject} has no audited decision").format(subject=self.subject)
        return _("{subject}: {column} is {row}, event {event} audited {audited}").format(
            subject=self.subject, column=self.column, row=self.row, event=self.event_id, audited=self.audited
        )


@dataclass(frozen=True)
class Audited:
    """A table of decided subjects: the audit actions that decide a row's columns, which they name in their
    detail (a column an event's detail does not name is not compared)."""

    table: Any  # DiscountRequest, OrderCreditCheck
    subject_type: str
    actions: tuple[str, ...]
    columns: tuple[str, ...]


DECIDED = (
    Audited(
        DiscountRequest,
        "discount_request",
        ("discount_approve", "discount_escalate", "discount_reject", "discount_counter"),
        ("status", "granted_pct"),
    ),
    Audited(
        OrderCreditCheck,
        "order_credit_check",
        (
            "order_approve",
            "order_block",
            "order_release",
            "order_release_with_prepayment",
            "order_reject",
            "order_released_on_recheck",
            "order_still_blocked_on_recheck",
            "order_released_on_prepayment",
            "order_cancelled",
        ),
        ("status", "prepayment_amount"),
    ),
)


def _same(value: Any, audited: Any) -> bool:
    if value is None or audited is None:
        return value is None and audited is None
    if isinstance(value, Decimal):
        return value == Decimal(str(audited))
    return str(value) == str(audited)


def _last_events(subject_type: str, actions: tuple[str, ...]) -> Any:
    """The seq of the last event of each subject among these actions."""
    return (
        select(AuditEvent.subject_id, func.max(AuditEvent.seq).label("seq"))
        .where(AuditEvent.subject_type == subject_type, AuditEvent.action.in_(actions))
        .group_by(AuditEvent.subject_id)
        .subquery()
    )


def _stream(connection: Connection, query: Select[Any]) -> Iterator[Any]:
    yield from connection.execution_options(yield_per=2000).execute(query)


def _decided(connection: Connection, audited: Audited) -> Iterator[Disagreement]:
    table, last = audited.table, _last_events(audited.subject_type, audited.actions)
    query = (
        select(table.id, *(getattr(table, c) for c in audited.columns), AuditEvent.id, AuditEvent.detail)
        .outerjoin(last, last.c.subject_id == table.id)
        .outerjoin(AuditEvent, AuditEvent.seq == last.c.seq)
        .order_by(table.id)
    )
    for subject_id, *values, event_id, detail in _stream(connection, query):
        subject = f"{audited.subject_type} {subject_id}"
        if event_id is None:
            yield Disagreement(subject, "decision", None, None, None)
            continue
        for column, value in zip(audited.columns, values, strict=True):
            if column in detail and not _same(value, detail[column]):
                shown = None if value is None else str(value)
                yield Disagreement(subject, column, shown, detail[column], event_id)


def _credit_limits(connection: Connection) -> Iterator[Disagreement]:
    """Each customer's credit limit against the last new base limit applied to it (a customer whose limit no
    change ever set keeps the one it was created with, which no decision audits)."""
    base = (CreditLimitChange.category == "total", CreditLimitChange.until.is_(None))
    last = (
        select(CreditLimitChange.customer_id, func.max(AuditEvent.seq).label("seq"))
        .join(CreditLimitChange, CreditLimitChange.id == AuditEvent.subject_id)
        .where(AuditEvent.subject_type == "credit_limit_change", AuditEvent.action == "limit_applied", *base)
        .group_by(CreditLimitChange.customer_id)
        .subquery()
    )
    query = (
        select(Customer.code, Customer.credit_limit, AuditEvent.id, AuditEvent.detail)
        .join(last, last.c.customer_id == Customer.id)
        .join(AuditEvent, AuditEvent.seq == last.c.seq)
        .order_by(Customer.id)
    )
    for code, limit, event_id, detail in _stream(connection, query):
        if not _same(limit, detail["new_limit"]):
            yield Disagreement(f"customer {code}", "credit_limit", str(limit), detail["new_limit"], event_id)


@dataclass
class Report:
    """The chain's check and the business rows that disagree with their audit (the first SHOWN, all counted)."""

    chain: audit.ChainCheck
    disagreements: list[Disagreement] = field(default_factory=list)
    disagreeing: int = 0

    @property
    def ok(self) -> bool:
        return self.chain.problem is None and self.disagreeing == 0


def verify(connection: Connection) -> Report:
    report = Report(audit.walk(connection))
    found = chain(*(_decided(connection, audited) for audited in DECIDED), _credit_limits(connection))
    for disagreement in found:
        report.disagreeing += 1
        if len(report.disagreements) < SHOWN:
            report.disagreements.append(disagreement)
    return report
