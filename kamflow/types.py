"""Field types the requests of every process share, each bounded by the column it is stored in (kamflow.bounds)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import Field

from kamflow.bounds import DOCUMENT_CHARS, MAX_ID, NOTE_CHARS, Amount, Code, IsoDate, Line, Prose
from kamflow.models import AuditEvent, Customer, Employee, Money, Percent

Login = Annotated[str, Line(Employee.login, AuditEvent.actor)]
"""A person's login: looked up in employees.login and written as the actor of audit events."""
CustomerCode = Annotated[str, Code(Customer.code, r"C[0-9]{4,}", example="C0001")]
Note = Annotated[str, Prose(NOTE_CHARS)]
"""A comment, note or reason: several lines, kept in a Text column."""
DocumentText = Annotated[str, Prose(DOCUMENT_CHARS, min_length=1)]
ApprovalCode = Annotated[str, Line(16)]
"""What an approver types as their code (kamflow.approvals makes them 9 characters long, e.g. ABCD-EFGH)."""
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Day = Annotated[dt.date, IsoDate()]
"""A business date, YYYY-MM-DD."""
Positive = Annotated[Decimal, Amount(Money, gt=Decimal(0))]
"""An amount above zero that a Money column holds."""
NonNegative = Annotated[Decimal, Amount(Money, ge=Decimal(0))]
Signed = Annotated[Decimal, Amount(Money)]
DiscountPercent = Annotated[Decimal, Amount(Percent, gt=Decimal(0), lt=Decimal(100))]
