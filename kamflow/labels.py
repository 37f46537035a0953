"""Words for what the domain keeps as identifiers — a task's answers and what an answer gives, a subject's status,
the facts a task shows — each marked for the catalog and shown in the reader's language (the workspace, the mail).
An identifier without a label here reads as its words (`reports.words`); a person's outcome in capitals is
`kamflow.views.said`'s."""

from __future__ import annotations

from kamflow import reports
from kamflow.i18n import N_, _

ACTIONS = {
    "approve": N_("Approve"),
    "reject": N_("Reject"),
    "counter": N_("Counter-offer"),
    "return": N_("Return to the author"),
    "revise": N_("Revise"),
    "release": N_("Release"),
    "release_with_prepayment": N_("Release with prepayment"),
    "approve_limit": N_("Approve the limit"),
    "prepayment": N_("Prepayment only"),
}
"""A person's answers to a task, as the form offers them."""

GIVEN = {
    "discount_pct": N_("counter-offer (%)"),
    "amount": N_("amount"),
    "content": N_("text"),
}
"""What an answer gives besides its action and comment, as a decision's mail names it."""

STATUSES = {
    "pending": N_("pending"),
    "open": N_("open"),
    "decided": N_("decided"),
    "escalated": N_("escalated"),
    "blocked": N_("blocked"),
    "cancelled": N_("cancelled"),
    "withdrawn": N_("withdrawn"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "countered": N_("countered"),
    "released": N_("released"),
    "in_review": N_("in review"),
    "completed": N_("completed"),
    "done": N_("done"),
    "superseded": N_("superseded"),
    "effective": N_("effective"),
    "applied": N_("applied"),
    "awaiting_prepayment": N_("awaiting prepayment"),
    "running": N_("running"),
    "failed": N_("failed"),
}
"""A task's or subject's status."""

SUBJECTS = {
    "discount_request": N_("discount request"),
    "order_credit_check": N_("order credit check"),
    "credit_limit_change": N_("credit limit change"),
    "credit_check": N_("solvency check"),
    "document": N_("document"),
    "collection_task": N_("collection task"),
    "approval_task": N_("task"),
    "customer": N_("customer"),
}
"""What a decision or a history is about (an audit event's `subject_type`)."""

CATEGORIES = {
    "total": N_("total"),
    "open_orders": N_("open orders"),
    "open_invoices": N_("open invoices"),
    "overdue": N_("overdue"),
    "this_order": N_("this order"),
}
"""The categories of a customer's credit exposure and limits."""

FACTS = {
    "verdict": N_("decision"),
    "request_id": N_("request"),
    "check_id": N_("check"),
    "change_id": N_("change"),
    "document_id": N_("document"),
    "status": N_("status"),
    "customer": N_("customer"),
    "customer_class": N_("customer class"),
    "key_account": N_("key account"),
    "discount_pct": N_("discount asked (%)"),
    "granted_pct": N_("discount granted (%)"),
    "norm_pct": N_("norm (%)"),
    "excess_pct": N_("above the norm (points)"),
    "price_column": N_("price column"),
    "promotion_active": N_("promotion active"),
    "order": N_("order"),
    "order_total": N_("order total"),
    "order_amount": N_("order amount"),
    "amount": N_("amount"),
    "currency": N_("currency"),
    "prepayment_amount": N_("prepayment"),
    "overdue_amount": N_("overdue amount"),
    "oldest_overdue_days": N_("oldest overdue (days)"),
    "grace_days": N_("grace (days)"),
    "open_invoices": N_("open invoices"),
    "open_orders_after": N_("open orders after this one"),
    "exposure": N_("exposure"),
    "exposure_after": N_("exposure after this order"),
    "credit_limit": N_("credit limit"),
    "has_limit": N_("has a limit"),
    "had_limit": N_("had a limit"),
    "over_limit_amount": N_("over the limit"),
    "open_orders_limit": N_("open orders limit"),
    "has_open_orders_limit": N_("has an open orders limit"),
    "open_invoices_limit": N_("open invoices limit"),
    "has_open_invoices_limit": N_("has an open invoices limit"),
    "overdue_limit": N_("overdue limit"),
    "has_overdue_limit": N_("has an overdue limit"),
    "category": N_("category"),
    "old_limit": N_("old limit"),
    "new_limit": N_("new limit"),
    "current_limit": N_("current limit"),
    "increase": N_("increase"),
    "limit_increase": N_("limit increase"),
    "temporary": N_("temporary"),
    "until": N_("until"),
    "released_orders": N_("released orders"),
    "requester_role": N_("requester's role"),
    "risk_class": N_("risk class"),
    "solvency_decision": N_("solvency decision"),
    "outcome": N_("outcome"),
    "decision": N_("decision"),
    "proposed_limit": N_("proposed limit"),
    "approved_limit": N_("approved limit"),
    "formula": N_("formula"),
    "altman_zone": N_("Altman zone"),
    "has_history": N_("has a payment history"),
    "has_statements": N_("has financial statements"),
    "statement_age_days": N_("age of the statements (days)"),
    "equity_ratio": N_("equity ratio"),
    "current_ratio": N_("current ratio"),
    "weighted_days_late": N_("weighted days late"),
    "share_paid_late_pct": N_("share paid late (%)"),
    "purpose": N_("purpose"),
    "type": N_("type"),
    "title": N_("title"),
    "author": N_("author"),
    "round": N_("round"),
    "version": N_("version"),
    "effective_version": N_("effective version"),
}
"""The facts a task shows (its subject's view and the facts the rules decided on)."""


TASKS = {"escalate": N_("escalated case")}
"""A collection task's action where the review's word for it (`reports.words`: escalate) names no task."""


def _shown(table: dict[str, str], key: str) -> str:
    return _(table[key]) if key in table else reports.words(key)


def action(key: str) -> str:
    """An answer as the form offers it: Approve / Aprobar."""
    return _shown(ACTIONS, key)


def given(key: str) -> str:
    """What an answer gave: counter-offer (%) / contraoferta (%)."""
    return _shown(GIVEN, key)


def status(key: str) -> str:
    """A status: pending / pendiente."""
    return _shown(STATUSES, key)


def subject(key: str) -> str:
    """What an audit event is about: discount request / solicitud de descuento."""
    return _shown(SUBJECTS, key)


def category(key: str) -> str:
    """A category of exposure (its identifier, or its words as the exposure's breakdown names it): open orders /
    pedidos abiertos."""
    return _shown(CATEGORIES, key.replace(" ", "_"))


def fact(key: str) -> str:
    """A fact's name: discount asked (%) / descuento solicitado (%)."""
    return _shown(FACTS, key)


def task(key: str) -> str:
    """A collection task's action: dunning / reclamación, escalated case / caso elevado."""
    return _shown(TASKS, key)
