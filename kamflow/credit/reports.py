"""Markdown of credit decisions: the same words in the approver's form, the Prefect artifact and the CLI."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kamflow import rulesets
from kamflow.credit.facts import money
from kamflow.credit.tables import CreditCheck, CreditLimitChange, OrderCreditCheck
from kamflow.reports import to_whom


def _amount(value: str | None) -> str:
    return "—" if value is None else money(Decimal(value))


def _no_limit(limit: Decimal | None) -> str:
    return "no limit" if limit is None else money(limit)


def _limit(facts: dict[str, Any]) -> str:
    """The order's total limit as its decision saw it ("no limit" when none was set; decisions made before the
    `has_limit` fact always had one)."""
    return "no limit" if facts.get("has_limit") is False else _amount(facts["credit_limit"])


def _reasons(decision: dict[str, Any]) -> str:
    reasons = "\n".join(f"- **{r['rule']}**: {r['text']}" for r in rulesets.reasons_in(None, decision))
    return f"Rules `{decision['ruleset']}` said **{decision['outcome']}**{to_whom(decision)}:\n\n{reasons}"


def _version(decision: dict[str, Any]) -> str:
    return f"Rule set `{decision['ruleset']}` version `{decision['version'][:12]}`."


def order_markdown(check: OrderCreditCheck) -> str:
    decision, order = check.decision, check.order
    f = decision["facts"]
    prepayment = (
        f"\n\nReleased against a prepayment of **{money(check.prepayment_amount)} {order.currency}**."
        if check.prepayment_amount is not None
        else ""
    )
    return (
        f"### Order {order.number} for {check.customer.code} {check.customer.name}: {check.status.upper()}\n\n"
        "| amount | open invoices | open orders with this one | overdue | exposure after | credit limit |\n"
        "|---|---|---|---|---|---|\n"
        f"| {money(order.amount)} {order.currency} | {_amount(f['open_invoices'])} | "
        f"{_amount(f['open_orders_after'])} | {_amount(f['overdue_amount'])} | {_amount(f['exposure_after'])} "
        f"| {_limit(f)} |\n\n"
        f"{_reasons(decision)}{prepayment}\n\n"
        f"Entered by {check.requester.full_name} ({check.requester.login}) on {order.order_date.isoformat()}.\n\n"
        f"{_version(decision)}"
    )


def limit_markdown(change: CreditLimitChange) -> str:
    until = f" until {change.until.isoformat()} (then the base limit again)" if change.until else ""
    released = ", ".join(str(check_id) for check_id in change.released) or "none"
    return (
        f"### Credit limit change {change.id} for {change.customer.code} {change.customer.name}: "
        f"{change.status.upper()}\n\n"
        "| limit | from | to | exposure today |\n|---|---|---|---|\n"
        f"| {change.category}{until} | {_no_limit(change.old_limit)} | {_no_limit(change.new_limit)} "
        f"| {money(change.exposure)} |\n\n"
        f"{_reasons(change.decision)}\n\n"
        f"Asked by {change.requester.full_name} ({change.requester.login})"
        + (" — confirmed below the current exposure" if change.confirmed else "")
        + f". Reason: {change.reason or '—'}\n\n"
        f"Blocked orders released by the re-check (order credit checks): {released}.\n\n"
        f"{_version(change.decision)}"
    )


def _scores_table(scores: dict[str, Any], statement: dict[str, Any] | None) -> str:
    if not scores or statement is None:
        return "No financial statements on file.\n\n"
    z = scores["altman"]
    ratios = " · ".join(f"X{i} {x}" for i, x in enumerate(z["ratios"], start=1))
    return (
        f"Statement of **{statement['period_end']}**: Altman **{z['model']} = {z['score']}**, "
        f"**{z['zone']}** zone ({ratios}).\n\n"
        "| current ratio | quick ratio | equity ratio | debt/equity |\n|---|---|---|---|\n"
        f"| {scores['current_ratio']} | {scores['quick_ratio']} | {scores['equity_ratio']} "
        f"| {scores['debt_to_equity'] or 'n/a'} |\n\n"
    )


def solvency_markdown(check: CreditCheck) -> str:
    s, decisions = check.snapshot, check.decisions
    final = check.decision or f"waiting ({check.outcome})"
    approved = f", approved limit **{money(check.approved_limit)}**" if check.approved_limit is not None else ""
    return (
        f"### Solvency check {check.id} of {check.customer.code} {check.customer.name}: "
        f"risk class {check.risk_class}, {final}{approved}\n\n"
        f"{_scores_table(check.scores, s['statement'])}"
        "| open invoices | overdue | oldest overdue (days) | days late (avg) | invoices late (12 m) "
        "| DSO | sales (12 m) | limit today |\n|---|---|---|---|---|---|---|---|\n"
        f"| {_amount(s['open_invoices'])} | {_amount(s['overdue'])} | {s['oldest_overdue_days']} "
        f"| {s['weighted_days_late']} | {s['invoices_late_12m']} of {s['invoices_due_12m']} "
        f"| {s['dso'] or 'n/a'} | {_amount(s['sales_12m'])} | {_amount(s['credit_limit'])} |\n\n"
        f"Proposed limit: {check.formula}\n\n"
        f"{_reasons(decisions['class'])}\n\n{_reasons(decisions['solvency'])}\n\n"
        f"Asked by {check.requester.full_name} ({check.requester.login}), purpose: {check.purpose}.\n\n"
        f"{_version(decisions['class'])} {_version(decisions['solvency'])}"
    )
