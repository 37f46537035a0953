"""The append-only audit trail and the store of every rule-set version ever used."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow.models import AuditEvent, RuleSetVersion
from rules.engine import Decision, RuleSet


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
) -> AuditEvent:
    event = AuditEvent(
        at=at,
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        reasons=[r.model_dump() for r in decision.reasons] if decision else [],
        facts=decision.facts if decision else {},
        rules_version=decision.version if decision else None,
        detail=detail or {},
    )
    session.add(event)
    session.flush()
    return event


def remember_ruleset(session: Session, ruleset: RuleSet, *, at: dt.datetime) -> None:
    """Keep the exact text of a rule-set version the first time a decision uses it."""
    if session.get(RuleSetVersion, ruleset.version) is None:
        session.add(
            RuleSetVersion(version=ruleset.version, ruleset=ruleset.name, text=ruleset.text, first_used_at=at)
        )
        session.flush()


def trail(session: Session, *, subject_type: str, subject_id: int) -> list[AuditEvent]:
    query = (
        select(AuditEvent)
        .where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id)
        .order_by(AuditEvent.id)
    )
    return list(session.scalars(query))
