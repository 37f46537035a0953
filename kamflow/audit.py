"""The append-only audit trail and the store of every rule-set version ever used."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from kamflow.db import insert_many
from kamflow.models import AuditEvent, RuleSetVersion
from rules.engine import Decision, RuleSet


@dataclass(frozen=True)
class Event:
    """An audit event to write: `record` takes its fields one event at a time, `record_many` a list of them."""

    at: dt.datetime
    actor: str
    action: str
    subject_type: str
    subject_id: int
    decision: Decision | None = None
    detail: dict[str, Any] | None = None
    reasons: list[dict[str, str]] | None = None
    """The reasons to keep when not all of the decision's (a collection task keeps only its action's)."""

    def row(self) -> dict[str, Any]:
        """Every column of its row but the id."""
        decision = self.decision
        reasons = self.reasons
        if reasons is None:
            reasons = [r.model_dump() for r in decision.reasons] if decision else []
        return {
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "subject_type": self.subject_type,
            "subject_id": self.subject_id,
            "reasons": reasons,
            "facts": decision.facts if decision else {},
            "rules_version": decision.version if decision else None,
            "detail": self.detail or {},
        }


def record(
    session: Session,
    *,
    at: dt.datetime,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: int,
    decision: Decision | None = None,
    detail: dict[str, Any] | None = None,
    reasons: list[dict[str, str]] | None = None,
) -> AuditEvent:
    event = Event(
        at=at,
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        decision=decision,
        detail=detail,
        reasons=reasons,
    )
    row = AuditEvent(**event.row())
    session.add(row)
    session.flush()
    return row


def record_many(session: Session, events: Sequence[Event]) -> None:
    """Write events in one statement, in the order given, each row as `record` writes it (a sweep's events)."""
    insert_many(session.connection(), AuditEvent, [event.row() for event in events])


def remember_ruleset(session: Session, ruleset: RuleSet, *, at: dt.datetime) -> None:
    """Keep the exact text of a rule-set version the first time a decision uses it. Two processes deciding under
    a new version at once both keep it: whichever inserts second finds the row there and inserts nothing."""
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(RuleSetVersion)
        .values(version=ruleset.version, ruleset=ruleset.name, text=ruleset.text, first_used_at=at)
        .on_conflict_do_nothing(index_elements=["version"])
    )


def trail(session: Session, *, subject_type: str, subject_id: int) -> list[AuditEvent]:
    query = (
        select(AuditEvent)
        .where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id)
        .order_by(AuditEvent.id)
    )
    return list(session.scalars(query))
