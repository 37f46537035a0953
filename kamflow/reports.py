"""Human-readable text of decisions: the same words in the Prefect UI, the CLI and the audit trail."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from kamflow import i18n


def plain(value: Decimal) -> str:
    """A Decimal as people write it: 12.5, 20, 0.25 (never 2E+1 or 12.5000)."""
    return f"{value.normalize():f}"


def pct(value: Decimal | None) -> str:
    return "—" if value is None else f"{plain(value)}%"


ACRONYMS = {"kam": "KAM", "hr": "HR"}


def words(identifier: str) -> str:
    """An id (a role, a channel, an action) as people say it: department_head → department head, kam → KAM,
    kam_call → KAM call."""
    return " ".join(ACRONYMS.get(word, word) for word in identifier.split("_"))


def to_whom(decision: dict[str, Any]) -> str:
    """Whom the rules sent a decision to, for a report: ' (to the **department head**)', or nothing."""
    return f" (to the **{words(decision['role'])}**)" if decision.get("role") else ""


def when(instant: dt.datetime) -> str:
    """An instant as people read it: company time, to the minute, with its zone, the date as the reader writes it
    (2026-03-16 10:42 CET / 16/03/2026 10:42 CET)."""
    from kamflow.settings import get_settings

    local = instant.astimezone(get_settings().tz)
    return f"{i18n.day(local.date())} {local:%H:%M %Z}"
