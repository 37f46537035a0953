"""The review's writes for a batch, in bulk: the customer reviews, the dunning states that moved, the promises
settled, and a collection task per action decided, each audited with its action's reasons. A re-run of the
same business date updates the same rows and creates no task twice (a task is unique per customer, business
date and action; an open one is not repeated either)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, delete, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from kamflow import audit
from kamflow.db import insert_many
from kamflow.policy import versions
from kamflow.review.assess import ZERO, Assessed, Decided
from kamflow.review.dunning import DUNNING
from kamflow.review.read import Run
from kamflow.review.tables import CollectionTask, CustomerReview, DunningState, PaymentPromise
from rules.engine import Decision


def write(session: Session, run: Run, customers: Select[Any], decided: Sequence[Decided]) -> int:
    """Record a decided batch (`customers`: its customers' ids); returns how many tasks it created."""
    _reviews(session, run, customers, decided)
    reviewed = [customer for customer, _, _ in decided]
    _dunning(session, run, reviewed)
    _promises(session, run, reviewed)
    return _tasks(session, run, customers, decided)


def _reviews(session: Session, run: Run, customers: Select[Any], decided: Sequence[Decided]) -> None:
    session.execute(
        delete(CustomerReview).where(
            CustomerReview.review_id == run.review_id, CustomerReview.customer_id.in_(customers)
        )
    )
    rows = []
    for customer, decision, asked in decided:
        reasons = [reason for found in asked.values() for reason in found]
        printed = run.ruleset.printed_facts([reason["rule"] for reason in reasons], decision.facts)
        rows.append(
            customer.values
            | {"outcome": decision.outcome, "actions": sorted(asked), "reasons": reasons, "facts": printed or None}
        )
    if rows:
        insert_many(session.connection(), CustomerReview, rows)


def _dunning(session: Session, run: Run, reviewed: Sequence[Assessed]) -> None:
    """Write the dunning states that moved tonight; cancel the open dunning tasks of customers back at 0."""
    changed = [c for c in reviewed if (c.moved.raised and c.state.raised_on != run.as_of) or c.moved.reset]
    rows = [
        {
            "customer_id": c.id,
            "level": c.moved.level,
            "raised_on": run.as_of,
            "carried_out": False,
            "last_reminder_on": None if c.moved.reset else c.state.last_reminder_on,
        }
        for c in changed
    ]
    updates = [row for row, c in zip(rows, changed, strict=True) if c.has_state]
    inserts = [row for row, c in zip(rows, changed, strict=True) if not c.has_state]
    if updates:
        session.execute(sql_update(DunningState), updates)
    if inserts:
        insert_many(session.connection(), DunningState, inserts)
    reset = [c.id for c in reviewed if c.moved.reset]
    if reset:
        session.execute(
            sql_update(CollectionTask)
            .where(
                CollectionTask.customer_id.in_(reset),
                CollectionTask.action == DUNNING,
                CollectionTask.status == "open",
            )
            .values(status="cancelled", note="nothing left to dun")
            .execution_options(synchronize_session=False)
        )


def _promises(session: Session, run: Run, reviewed: Sequence[Assessed]) -> None:
    settled = [
        {"id": c.promise[0], "status": c.promise[1], "resolved_on": run.as_of} for c in reviewed if c.promise
    ]
    if settled:
        session.execute(sql_update(PaymentPromise), settled)


def _tasks(session: Session, run: Run, customers: Select[Any], decided: Sequence[Decided]) -> int:
    """A collection task per action decided, unless this date already has it or the same action is open."""
    existing = set(
        session.connection()
        .execute(
            select(CollectionTask.customer_id, CollectionTask.action).where(
                CollectionTask.customer_id.in_(customers),
                or_(CollectionTask.business_date == run.as_of, CollectionTask.status == "open"),
            )
        )
        .all()
    )
    rows, behind = [], []  # each task's row, and the customer and decision behind it
    for customer, decision, asked in decided:
        for action, reasons in asked.items():
            if (customer.id, action) in existing:
                continue
            rows.append(_task(run, customer, decision, action, reasons))
            behind.append((customer, decision))
    if not rows:
        return 0
    insert_many(session.connection(), CollectionTask, rows)
    made = {
        (task.customer_id, task.action): task.id
        for task in session.connection().execute(
            select(CollectionTask.customer_id, CollectionTask.action, CollectionTask.id).where(
                CollectionTask.customer_id.in_(customers), CollectionTask.business_date == run.as_of
            )
        )
    }
    policies = versions(run.policy, run.credit)
    events = [
        audit.Event(
            at=run.now,
            actor="rules",
            action=f"collection_{row['action']}",
            subject_type="collection_task",
            subject_id=made[customer.id, row["action"]],
            decision=decision,
            reasons=row["reasons"],
            detail={
                "customer": customer.code,
                "business_date": run.as_of.isoformat(),
                "assignee": run.employees[row["assignee_id"]].login,
                "level": row["level"],
                "channel": row["channel"],
                "policies": policies,
            },
        )
        for row, (customer, decision) in zip(rows, behind, strict=True)
    ]
    audit.record_many(session, events)
    return len(rows)


def _task(
    run: Run,
    customer: Assessed,
    decision: Decision,
    action: str,
    reasons: list[dict[str, str]],
) -> dict[str, Any]:
    channel: str | None
    if action == DUNNING:
        level = run.policy.levels[customer.moved.level - 1]
        channel, within, fee, number = level.channel, level.act_within_days, customer.values["fee"], level.level
    else:
        rule = run.policy.actions[action]  # type: ignore[index]
        channel, within, fee, number = rule.channel, rule.act_within_days, ZERO, None
    role = decision.role if action == "escalate" else None
    return {
        "customer_id": customer.id,
        "business_date": run.as_of,
        "action": action,
        "channel": channel,
        "level": number,
        "assignee_id": run.assignee(customer.kam_id, role),
        "next_action_on": run.as_of + dt.timedelta(days=within),
        "status": "open",
        "reasons": reasons,
        "amount": customer.values["dunnable"],
        "fee": fee,
        "review_id": run.review_id,
        "rules_version": decision.version,
        "created_at": run.now,
        "note": "",
    }
