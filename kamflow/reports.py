"""Human-readable text of decisions: the same words in the Prefect UI, the CLI and the audit trail."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kamflow.models import DiscountRequest


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


def decision_markdown(request: DiscountRequest) -> str:
    decision = request.decision
    reasons = "\n".join(f"- **{r['rule']}**: {r['text']}" for r in decision["reasons"])
    return (
        f"### Discount request {request.id}: {request.status}\n\n"
        f"| customer | class | column | asked | granted | order total |\n|---|---|---|---|---|---|\n"
        f"| {request.customer.code} {request.customer.name} | {request.customer.customer_class} "
        f"| {request.price_column} | {pct(request.discount_pct)} | {pct(request.granted_pct)} "
        f"| {request.order_total:,.2f} {request.currency} |\n\n"
        f"Rules said **{decision['outcome']}**{to_whom(decision)}:\n\n{reasons}\n\n"
        f"Requested by {request.requester.full_name} ({request.requester.login}). "
        f"Note: {request.note or '—'}\n\n"
        f"Rule set `{decision['ruleset']}` version `{request.rules_version[:12]}`."
    )
