"""Solvency checks (clauses 2.5, 2.15): before a contract, a first large order, or on request.

Facts from the latest financial statement (ratios, the Altman variant for the company type) and from the
ledger (debt, payment history, DSO) go to the `credit_class` rules for a risk class A–E, then with the
proposed limit to the `solvency` rules for the decision: approve the proposed limit, require prepayment,
reject, or escalate to the department head. The approved limit is a proposal: `kamflow credit limit set`
puts a limit in force."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from kamflow import approvals, audit, clock, decisions, i18n, ledger, rulesets
from kamflow.credit import facts, policy, standing
from kamflow.credit.tables import CreditCheck, FinancialStatement
from kamflow.errors import InvalidInput
from kamflow.i18n import _
from kamflow.models import ApprovalTask, Customer, Employee
from kamflow.policy import versions
from kamflow.reports import amount
from kamflow.types import CustomerCode, Day, Login, NonNegative
from kamflow.views import Explained, said
from rules.engine import Decision

PROCESS = "solvency-check"
RULESET = "solvency"
CLASS_RULESET = "credit_class"
FINAL = ("approve_limit", "prepayment", "reject")
FIGURES = tuple(figure.name for figure in fields(facts.Statement))
"""The statement's figures the scores need (columns of the same names in `financial_statements`)."""


class SolvencyCheckIn(BaseModel):
    """A request to check a customer's reliability and solvency (clause 2.5)."""

    model_config = ConfigDict(extra="forbid")

    customer: CustomerCode = Field(description="Customer code, e.g. C0001.")
    purpose: Literal["request", "contract", "first_order"] = Field(
        default="request", description="Why: on request, before a contract, or before a first order."
    )
    order_amount: NonNegative = Field(default=Decimal(0), description="The first order's amount, if any.")
    requester: Login = Field(description="Who asks: the customer's KAM, a superior or the credit controller.")
    checked_on: Day | None = Field(default=None, description="Business date of the check; default today.")


class SolvencyAnswerPayload(BaseModel):
    action: Literal["approve_limit", "prepayment", "reject"]
    amount: Decimal | None = None


@dataclass(frozen=True)
class Assessment:
    statement: FinancialStatement | None
    snapshot: dict[str, Any]
    scores: dict[str, Any]
    proposal: facts.ProposedLimit
    risk: Decision
    decision: Decision


def latest_statement(session: Session, customer_id: int, *, on: dt.date) -> FinancialStatement | None:
    return session.scalar(
        select(FinancialStatement)
        .where(FinancialStatement.customer_id == customer_id, FinancialStatement.period_end <= on)
        .order_by(FinancialStatement.period_end.desc())
        .limit(1)
    )


def _figures_json(statement: FinancialStatement) -> dict[str, str | None]:
    figures = {name: getattr(statement, name) for name in FIGURES}
    return {"period_end": statement.period_end.isoformat()} | {
        name: None if value is None else str(value) for name, value in figures.items()
    }


def _scores(statement: FinancialStatement, company_type: str) -> dict[str, Any]:
    figures = facts.Statement(**{name: getattr(statement, name) for name in FIGURES})
    ratios = facts.ratios(figures)
    z = facts.altman(figures, company_type)
    return {
        "current_ratio": str(ratios.current),
        "quick_ratio": str(ratios.quick),
        "equity_ratio": str(ratios.equity_ratio),
        "debt_to_equity": None if ratios.debt_to_equity is None else str(ratios.debt_to_equity),
        "altman": {"model": z.model, "ratios": [str(x) for x in z.ratios], "score": str(z.score), "zone": z.zone},
    }


def assess(session: Session, client: Customer, *, on: dt.date, purpose: str, order_amount: Decimal) -> Assessment:
    """Every fact of the check, the risk class and the decision; reads only (and remembers rule sets)."""
    now = standing.standing(session, client, on=on)
    rules = policy.current()
    ids, days = [client.id], rules.history_days

    def row(query: Select[Any]) -> Any:
        return session.execute(query).one_or_none()

    late, due, sold, dso = (
        row(ledger.days_late(on, days=days, customer_ids=ids)),
        row(ledger.paid_late(on, days=days, customer_ids=ids)),
        row(ledger.sales(on, days=days, customer_ids=ids)),
        row(ledger.dso(on, days=days, customer_ids=ids)),
    )
    sales_12m = sold.sales if sold else Decimal("0.00")
    statement = latest_statement(session, client.id, on=on)
    scores = _scores(statement, client.company_type) if statement else {}
    zero = Decimal(0)
    class_facts: dict[str, Any] = {
        "has_statements": statement is not None,
        "statement_age_days": (on - statement.period_end).days if statement else 0,
        "altman_zone": scores["altman"]["zone"] if statement else "none",
        "equity_ratio": Decimal(scores["equity_ratio"]) if statement else zero,
        "current_ratio": Decimal(scores["current_ratio"]) if statement else zero,
        "overdue_amount": now.exposure.overdue,
        "oldest_overdue_days": now.oldest_overdue_days,
        "weighted_days_late": late.weighted_days_late if late else zero,
        "share_paid_late_pct": facts.share_pct(due.invoices_late, due.invoices_due) if due else zero,
        "invoices_due_12m": due.invoices_due if due else 0,
    }
    risk = rulesets.load(CLASS_RULESET, session).decide(class_facts)
    proposal = rules.proposed_limit.propose(sales_12m, client.payment_terms_days)
    decision = rulesets.load(RULESET, session).decide(
        {
            "risk_class": risk.outcome,
            "key_account": client.customer_class in rules.key_account_classes,
            "altman_zone": class_facts["altman_zone"],
            "has_history": sales_12m > 0,
            "purpose": purpose,
            "order_amount": order_amount,
            "proposed_limit": proposal.amount,
            "has_limit": now.limits.total is not None,
            "current_limit": facts.or_zero(now.limits.total),
            "limit_increase": facts.ZERO if now.limits.total is None else proposal.amount - now.limits.total,
        }
    )
    snapshot = {
        "as_of": on.isoformat(),
        "company_type": client.company_type,
        "customer_class": client.customer_class,
        "payment_terms_days": client.payment_terms_days,
        "grace_days": now.grace_days,
        "open_invoices": str(now.exposure.open_invoices),
        "open_orders": str(now.exposure.open_orders),
        "overdue": str(now.exposure.overdue),
        "oldest_overdue_days": now.oldest_overdue_days,
        "credit_limit": None if now.limits.total is None else str(now.limits.total),
        "sales_12m": str(sales_12m),
        "paid_12m": str(late.paid_amount) if late else "0.00",
        "weighted_days_late": str(class_facts["weighted_days_late"]),
        "invoices_due_12m": class_facts["invoices_due_12m"],
        "invoices_late_12m": due.invoices_late if due else 0,
        "dso": str(dso.dso) if dso else None,
        "statement": _figures_json(statement) if statement else None,
        "proposed_limit": {"amount": str(proposal.amount), "formula": proposal.formula},
    }
    return Assessment(statement, snapshot, scores, proposal, risk, decision)


def prepare(session: Session, request: SolvencyCheckIn) -> tuple[Customer, Employee]:
    """The customer and who asks, if they may (a KamflowError naming the field otherwise); reads only."""
    client = standing.customer(session, request.customer)
    asks = policy.current().asks_solvency_checks
    return client, standing.requester(session, request.requester, client, also=asks)


def submit(
    session: Session, *, request: SolvencyCheckIn, flow_run_id: str | None, now: dt.datetime
) -> CreditCheck:
    """Check, record and audit; one per flow run (a re-run finds the check as it was decided)."""
    if flow_run_id is not None:
        existing = session.scalar(select(CreditCheck).where(CreditCheck.flow_run_id == flow_run_id))
        if existing is not None:
            return existing
    on = request.checked_on or clock.today(now)
    client, person = prepare(session, request)
    found = assess(session, client, on=on, purpose=request.purpose, order_amount=request.order_amount)
    for name in (CLASS_RULESET, RULESET):
        audit.remember_ruleset(session, rulesets.load(name, session), at=now)
    outcome = found.decision.outcome
    final = outcome if outcome in FINAL else None
    check = CreditCheck(
        flow_run_id=flow_run_id,
        customer_id=client.id,
        requester_id=person.id,
        purpose=request.purpose,
        order_amount=request.order_amount,
        statement_id=found.statement.id if found.statement else None,
        snapshot=found.snapshot,
        scores=found.scores,
        risk_class=found.risk.outcome,
        outcome=outcome,
        status="decided" if final else "pending",
        decision=final,
        proposed_limit=found.proposal.amount,
        approved_limit=found.proposal.amount if final == "approve_limit" else None,
        formula=found.proposal.formula,
        reasons=[r.model_dump() for r in (*found.risk.reasons, *found.decision.reasons)],
        decisions={
            "class": found.risk.model_dump(mode="json"),
            "solvency": found.decision.model_dump(mode="json"),
        },
        rules_version=found.decision.version,
        class_rules_version=found.risk.version,
        created_at=now,
        decided_at=now if final else None,
    )
    return decisions.record_decision(
        session,
        check,
        subject_type="credit_check",
        action="solvency",
        decision=found.decision,
        now=now,
        customer=client.code,
        requester=person.login,
        risk_class=found.risk.outcome,
        class_reasons=[r.model_dump() for r in found.risk.reasons],
        class_rules_version=found.risk.version,
        scores=found.scores,
        policies=versions(policy.current()),
    )


def request_of(_session: Session, check: CreditCheck) -> SolvencyCheckIn:
    """The request a solvency check was started from, as its flow takes it (a fresh run for it says what was
    asked), as of the day it was checked."""
    return SolvencyCheckIn(
        customer=check.customer.code,
        purpose=check.purpose,
        order_amount=check.order_amount,
        requester=check.requester.login,
        checked_on=dt.date.fromisoformat(check.snapshot["as_of"]),
    )


def check_answer(check: CreditCheck) -> approvals.Check:
    """An approved limit defaults to the proposed one (so one must be given when nothing was proposed);
    prepayment and rejection take no amount."""
    proposed = check.proposed_limit

    def verify(_task: ApprovalTask, payload: dict[str, Any]) -> None:
        answer = SolvencyAnswerPayload.model_validate(payload)
        if answer.action != "approve_limit" and answer.amount is not None:
            raise InvalidInput(f"{answer.action} takes no amount", field="amount")
        if answer.action == "approve_limit" and answer.amount is None and proposed <= 0:
            raise InvalidInput("nothing was proposed: give the limit you approve (--amount)", field="amount")
        if answer.amount is not None and answer.amount < 0:
            raise InvalidInput("a limit cannot be negative", field="amount")

    return verify


def apply_answer(session: Session, *, subject_id: int, task_id: int, now: dt.datetime) -> CreditCheck:
    """Carry a decided task's answer onto the pending check, once."""
    check = get(session, subject_id)
    if check.status != "pending":
        return check
    task, answer, actor = decisions.read_answer(session, task_id, SolvencyAnswerPayload)
    check.status, check.decision, check.decided_at = "decided", answer.action, now
    if answer.action == "approve_limit":
        check.approved_limit = check.proposed_limit if answer.amount is None else answer.amount
    decisions.audit_answer(
        session,
        task,
        actor=actor,
        action=f"solvency_{answer.action}",
        subject_type="credit_check",
        subject_id=check.id,
        now=now,
        approved_limit=None if check.approved_limit is None else str(check.approved_limit),
    )
    return check


def get(session: Session, check_id: int) -> CreditCheck:
    return standing.get_row(session, CreditCheck, check_id, "solvency check")


class SolvencyView(Explained):
    """A solvency check: what `kamflow credit check` and `kamflow decide` show."""

    check_id: int
    customer: str
    status: str
    risk_class: str
    outcome: str
    decision: str | None
    proposed_limit: str
    approved_limit: str | None
    formula: str
    scores: dict[str, Any]
    rules_version: str
    class_rules_version: str
    flow_run_id: str | None

    def text(self) -> str:
        altman = self.scores.get("altman")
        score = (
            _("Altman {model} {score} ({zone})").format(
                model=altman["model"], score=i18n.number(altman["score"]), zone=_(altman["zone"])
            )
            if altman
            else _("no statements")
        )
        limit = _(", limit {limit}").format(limit=amount(self.approved_limit)) if self.approved_limit else ""
        head = _("solvency of {customer}: risk class {risk_class}, {score} — {decision}{limit}").format(
            customer=self.customer,
            risk_class=self.risk_class,
            score=score,
            decision=said(self.decision or self.outcome),
            limit=limit,
        )
        proposed = _("proposed: {formula}").format(formula=self.formula)
        return "\n".join([head, proposed, *self.waiting_lines(), *self.reason_lines()])


def view(session: Session, check: CreditCheck) -> SolvencyView:
    """What `kamflow credit check` and `kamflow decide` show of a solvency check."""
    return SolvencyView(
        check_id=check.id,
        customer=check.customer.code,
        status=check.status,
        risk_class=check.risk_class,
        outcome=check.outcome,
        decision=check.decision,
        proposed_limit=str(check.proposed_limit),
        approved_limit=None if check.approved_limit is None else str(check.approved_limit),
        formula=check.formula,
        scores=check.scores,
        reasons=[
            *rulesets.reasons_in(session, check.decisions["class"]),
            *rulesets.reasons_in(session, check.decisions["solvency"]),
        ],
        rules_version=check.rules_version,
        class_rules_version=check.class_rules_version,
        flow_run_id=check.flow_run_id,
        **decisions.waiting(session, process=PROCESS, subject_id=check.id, on=clock.today()),
    )
