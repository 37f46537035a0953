"""Markdown of credit decisions: the same words in the approver's form, the Prefect artifact and the CLI, in the
reader's language, with numbers and money as the reader writes them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from kamflow import i18n, labels, rulesets
from kamflow.credit.tables import CreditCheck, CreditLimitChange, OrderCreditCheck
from kamflow.i18n import _
from kamflow.reports import to_whom, words


def _amount(value: Decimal | str | None) -> str:
    """An amount in the customer's currency (stated in the heading or the order): 1,234.50 / 1.234,50."""
    return "—" if value is None else i18n.number(Decimal(value), 2)


def _figure(value: Decimal | str | int | None) -> str:
    """A ratio, a score or a count, as many decimals as it has; "n/a" when it cannot be computed."""
    return _("n/a") if value is None else i18n.number(Decimal(value))


def _no_limit(limit: Decimal | None) -> str:
    return _("no limit") if limit is None else _amount(limit)


def _limit(facts: dict[str, Any]) -> str:
    """The order's total limit as its decision saw it ("no limit" when none was set; decisions made before the
    `has_limit` fact always had one)."""
    return _("no limit") if facts.get("has_limit") is False else _amount(facts["credit_limit"])


def _day(value: dt.date | str) -> str:
    return i18n.day(value if isinstance(value, dt.date) else dt.date.fromisoformat(value))


def _reasons(decision: dict[str, Any]) -> str:
    reasons = "\n".join(f"- **{r['rule']}**: {r['text']}" for r in rulesets.reasons_in(None, decision))
    return _("Rules `{ruleset}` said **{outcome}**{to_whom}:\n\n{reasons}").format(
        ruleset=decision["ruleset"], outcome=words(decision["outcome"]), to_whom=to_whom(decision), reasons=reasons
    )


def _version(decision: dict[str, Any]) -> str:
    return _("Rule set `{ruleset}` version `{version}`.").format(
        ruleset=decision["ruleset"], version=decision["version"][:12]
    )


def _status(status: str) -> str:
    return labels.status(status).upper()


def order_markdown(check: OrderCreditCheck) -> str:
    decision, order = check.decision, check.order
    f = decision["facts"]
    prepayment = (
        "\n\n"
        + _("Released against a prepayment of **{amount}**.").format(
            amount=i18n.money(check.prepayment_amount, order.currency)
        )
        if check.prepayment_amount is not None
        else ""
    )
    head = _("| amount | open invoices | open orders with this one | overdue | exposure after | credit limit |")
    return (
        _("### Order {number} for {customer} {name}: {status}").format(
            number=order.number,
            customer=check.customer.code,
            name=check.customer.name,
            status=_status(check.status),
        )
        + f"\n\n{head}\n|---|---|---|---|---|---|\n"
        f"| {i18n.money(order.amount, order.currency)} | {_amount(f['open_invoices'])} | "
        f"{_amount(f['open_orders_after'])} | {_amount(f['overdue_amount'])} | {_amount(f['exposure_after'])} "
        f"| {_limit(f)} |\n\n"
        f"{_reasons(decision)}{prepayment}\n\n"
        + _("Entered by {name} ({login}) on {day}.").format(
            name=check.requester.full_name, login=check.requester.login, day=i18n.day(order.order_date)
        )
        + f"\n\n{_version(decision)}"
    )


def limit_markdown(change: CreditLimitChange) -> str:
    until = (
        _(" until {day} (then the base limit again)").format(day=i18n.day(change.until)) if change.until else ""
    )
    released = ", ".join(str(check_id) for check_id in change.released) or _("none")
    asked = _("Asked by {name} ({login})").format(name=change.requester.full_name, login=change.requester.login)
    confirmed = _(" — confirmed below the current exposure") if change.confirmed else ""
    head = _("| limit | from | to | exposure today |")
    return (
        _("### Credit limit change {id} for {customer} {name}: {status}").format(
            id=change.id, customer=change.customer.code, name=change.customer.name, status=_status(change.status)
        )
        + f"\n\n{head}\n|---|---|---|---|\n"
        f"| {labels.category(change.category)}{until} | {_no_limit(change.old_limit)} "
        f"| {_no_limit(change.new_limit)} | {_amount(change.exposure)} |\n\n"
        f"{_reasons(change.decision)}\n\n"
        + _("{asked}{confirmed}. Reason: {reason}").format(
            asked=asked, confirmed=confirmed, reason=change.reason or "—"
        )
        + "\n\n"
        + _("Blocked orders released by the re-check (order credit checks): {released}.").format(released=released)
        + f"\n\n{_version(change.decision)}"
    )


def _scores_table(scores: dict[str, Any], statement: dict[str, Any] | None) -> str:
    if not scores or statement is None:
        return _("No financial statements on file.") + "\n\n"
    z = scores["altman"]
    ratios = " · ".join(f"X{i} {_figure(x)}" for i, x in enumerate(z["ratios"], start=1))
    head = _("| current ratio | quick ratio | equity ratio | debt/equity |")
    return (
        _("Statement of **{day}**: Altman **{model} = {score}**, **{zone}** zone ({ratios}).").format(
            day=_day(statement["period_end"]),
            model=z["model"],
            score=_figure(z["score"]),
            zone=words(z["zone"]),
            ratios=ratios,
        )
        + f"\n\n{head}\n|---|---|---|---|\n"
        f"| {_figure(scores['current_ratio'])} | {_figure(scores['quick_ratio'])} "
        f"| {_figure(scores['equity_ratio'])} | {_figure(scores['debt_to_equity'])} |\n\n"
    )


def solvency_markdown(check: CreditCheck) -> str:
    s, decisions = check.snapshot, check.decisions
    final = words(check.decision) if check.decision else _("waiting ({outcome})").format(outcome=check.outcome)
    approved = (
        _(", approved limit **{limit}**").format(limit=_amount(check.approved_limit))
        if check.approved_limit is not None
        else ""
    )
    head = _(
        "| open invoices | overdue | oldest overdue (days) | days late (avg) | invoices late (12 m) | DSO "
        "| sales (12 m) | limit today |"
    )
    late = _("{late} of {due}").format(late=s["invoices_late_12m"], due=s["invoices_due_12m"])
    return (
        _("### Solvency check {id} of {customer} {name}: risk class {risk_class}, {final}{approved}").format(
            id=check.id,
            customer=check.customer.code,
            name=check.customer.name,
            risk_class=check.risk_class,
            final=final,
            approved=approved,
        )
        + f"\n\n{_scores_table(check.scores, s['statement'])}{head}\n|---|---|---|---|---|---|---|---|\n"
        f"| {_amount(s['open_invoices'])} | {_amount(s['overdue'])} | {_figure(s['oldest_overdue_days'])} "
        f"| {_figure(s['weighted_days_late'])} | {late} "
        f"| {_figure(s['dso'])} | {_amount(s['sales_12m'])} | {_amount(s['credit_limit'])} |\n\n"
        + _("Proposed limit: {formula}").format(formula=check.formula)
        + f"\n\n{_reasons(decisions['class'])}\n\n{_reasons(decisions['solvency'])}\n\n"
        + _("Asked by {name} ({login}), purpose: {purpose}.").format(
            name=check.requester.full_name, login=check.requester.login, purpose=words(check.purpose)
        )
        + f"\n\n{_version(decisions['class'])} {_version(decisions['solvency'])}"
    )
