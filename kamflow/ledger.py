"""Facts from a customer's ledger (invoices and payments), computed in SQL as of a business date.

SQLite keeps NUMERIC as binary floating point; every money aggregate is cast back to Numeric(18, 2) so the
result arrives as an exact Decimal rounded to the cent (PostgreSQL computes it exactly in the first place).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import cast, func, select
from sqlalchemy.orm import Session

from kamflow.models import Invoice, Money, Payment


def paid_until(as_of: dt.date):  # type: ignore[no-untyped-def]
    """Payments per invoice made on or before a date (a subquery)."""
    return (
        select(Payment.invoice_id, func.sum(Payment.amount).label("paid"))
        .where(Payment.paid_on <= as_of)
        .group_by(Payment.invoice_id)
        .subquery()
    )


def overdue_amount(session: Session, *, customer_id: int, as_of: dt.date) -> Decimal:
    """What the customer owes on invoices whose due date has passed, as of a date."""
    paid = paid_until(as_of)
    open_part = Invoice.amount - func.coalesce(paid.c.paid, 0)
    total = session.scalar(
        select(cast(func.coalesce(func.sum(open_part), 0), Money))
        .select_from(Invoice)
        .outerjoin(paid, paid.c.invoice_id == Invoice.id)
        .where(Invoice.customer_id == customer_id, Invoice.due_date < as_of, open_part > Decimal("0.005"))
    )
    return Decimal(total or 0).quantize(Decimal("0.01"))
