"""Human-readable text of decisions: the same words in the Prefect UI, the CLI and the audit trail, in the reader's
language (`kamflow.i18n`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from kamflow import i18n
from kamflow.i18n import N_, _


def plain(value: Decimal) -> str:
    """A Decimal as a machine reads it back: 12.5, 20, 0.25 (never 2E+1 or 12.5000), in every language."""
    return f"{value.normalize():f}"


def number(value: Decimal | int | str | None, places: int | None = None) -> str:
    """A number as the reader writes it: 1,250.5 / 1.250,5; — for none."""
    return "—" if value is None or value == "" else i18n.number(value, places)


def pct(value: Decimal | str | None) -> str:
    """A percentage as the reader writes it: 12.5% / 12,5 %."""
    return "—" if value is None else _("{number}%").format(number=i18n.number(value))


def amount(value: Decimal | str | None) -> str:
    """An amount as the reader writes it, to the cent: 106,355.82 / 106.355,82; — for none."""
    return number(value, 2)


def figure_text(figure: str) -> str:
    """A figure as `decisions.figure` keeps it (12.5%, 1,250.00: the same in every language) as the reader writes
    it."""
    if figure.endswith("%"):
        return pct(figure.removesuffix("%"))
    return amount(figure.replace(",", ""))


ACRONYMS = {"kam": "KAM", "hr": "HR"}
WORDS = {
    # roles
    "kam": N_("KAM"),
    "department_head": N_("department head"),
    "credit_controller": N_("credit controller"),
    "commercial_director": N_("commercial director"),
    "director": N_("director"),
    "economic_planning": N_("economic planning"),
    "hr": N_("HR"),
    "legal": N_("legal"),
    "sales_support": N_("sales support"),
    # dunning channels and the review's actions
    "none": N_("none"),
    "kam_call": N_("KAM call"),
    "letter": N_("letter"),
    "stop_shipments": N_("stop shipments"),
    "block_orders": N_("block orders"),
    "propose_limit_change": N_("propose limit change"),
    "escalate": N_("escalate"),
    "dunning": N_("dunning"),
    # the rules' outcomes
    "approve": N_("approve"),
    "block": N_("block"),
    "reject": N_("reject"),
    "approve_limit": N_("approve limit"),
    "prepayment": N_("prepayment"),
    # why a solvency check was asked for, and an Altman score's zone
    "request": N_("request"),
    "contract": N_("contract"),
    "first_order": N_("first order"),
    "safe": N_("safe"),
    "grey": N_("grey"),
    "distress": N_("distress"),
}
"""The ids people read most (roles, dunning channels, the rules' outcomes, zones), in every language; statuses and
categories are `kamflow.labels`'; any other id is spelt out in English."""


def words(identifier: str) -> str:
    """An id (a role, a channel, an action) as people say it: department_head → department head (jefe de
    departamento), kam → KAM, kam_call → KAM call."""
    if identifier in WORDS:
        return _(WORDS[identifier])
    return " ".join(ACRONYMS.get(word, word) for word in identifier.split("_"))


def to_whom(decision: dict[str, Any]) -> str:
    """Whom the rules sent a decision to, for a report: ' (to the **department head**)', or nothing."""
    return _(" (to the **{role}**)").format(role=words(decision["role"])) if decision.get("role") else ""


def when(instant: dt.datetime) -> str:
    """An instant as the reader writes it: company time, to the minute, with its zone (2026-03-16 10:42 CET /
    16/03/2026 10:42 CET)."""
    from kamflow.settings import get_settings

    local = instant.astimezone(get_settings().tz)
    return f"{i18n.day(local.date())} {local.strftime('%H:%M %Z')}"
