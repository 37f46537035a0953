"""Human-readable text of decisions: the same words in the Prefect UI, the CLI and the audit trail."""

from __future__ import annotations

from decimal import Decimal

from kamflow.models import DiscountRequest


def plain(value: Decimal) -> str:
    """A Decimal as people write it: 12.5, 20, 0.25 (never 2E+1 or 12.5000)."""
    return f"{value.normalize():f}"


def pct(value: Decimal | None) -> str:
    return "—" if value is None else f"{plain(value)}%"


def decision_markdown(request: DiscountRequest) -> str:
    decision = request.decision
    reasons = "\n".join(f"- **{r['rule']}**: {r['text']}" for r in decision["reasons"])
    return (
        f"### Discount request {request.id}: {request.status}\n\n"
        f"| customer | class | column | asked | granted | order total |\n|---|---|---|---|---|---|\n"
        f"| {request.customer.code} {request.customer.name} | {request.customer.customer_class} "
        f"| {request.price_column} | {pct(request.discount_pct)} | {pct(request.granted_pct)} "
        f"| {request.order_total:,.2f} {request.currency} |\n\n"
        f"Rules said **{decision['outcome']}**"
        + (f" (to the **{decision['role'].replace('_', ' ')}**)" if decision.get("role") else "")
        + f":\n\n{reasons}\n\n"
        f"Requested by {request.requester.full_name} ({request.requester.login}). "
        f"Note: {request.note or '—'}\n\n"
        f"Rule set `{decision['ruleset']}` version `{request.rules_version[:12]}`."
    )
