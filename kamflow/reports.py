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


def percent(value: Decimal | str | None) -> str:
    """A percent as the reader writes it: 12.5% / 12,5%; — for none (`pct` is the same in every language)."""
    return "—" if value is None else f"{i18n.number(value)}%"


def amount(value: Decimal | str | None) -> str:
    """An amount as the reader writes it, to the cent: 106,355.82 / 106.355,82; — for none."""
    return "—" if value is None else i18n.number(value, 2)


def figure_text(figure: str) -> str:
    """A figure as `decisions.figure` keeps it (12.5%, 1,250.00: the same in every language) as the reader writes
    it."""
    if figure.endswith("%"):
        return percent(figure.removesuffix("%"))
    return amount(figure.replace(",", ""))


ACRONYMS = {"kam": "KAM", "hr": "HR"}
ROLES = (
    *(i18n.N_("KAM"), i18n.N_("department head"), i18n.N_("commercial director"), i18n.N_("director")),
    *(i18n.N_("credit controller"), i18n.N_("HR"), i18n.N_("legal"), i18n.N_("planning")),
    *(i18n.N_("sales support"), i18n.N_("admin")),
)
"""The roles as people name them (`words`), for the catalog: `_(words(role))` reads one in the reader's
language."""


def words(identifier: str) -> str:
    """An id (a role, a channel, an action) as people say it: department_head → department head, kam → KAM,
    kam_call → KAM call."""
    return " ".join(ACRONYMS.get(word, word) for word in identifier.split("_"))


def to_whom(decision: dict[str, Any]) -> str:
    """Whom the rules sent a decision to, for a report: ' (to the **department head**)', or nothing."""
    return f" (to the **{words(decision['role'])}**)" if decision.get("role") else ""


def when(instant: dt.datetime) -> str:
    """An instant as the reader reads it: company time, to the minute, with its zone (2026-03-16 10:42 CET,
    16/03/2026 10:42 CET)."""
    from kamflow.settings import get_settings

    local = instant.astimezone(get_settings().tz)
    return f"{i18n.day(local.date())} {local:%H:%M %Z}"
