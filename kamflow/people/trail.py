"""The audit events people and access write: each about one person (subject `employee`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from kamflow import audit

NOBODY = 0
"""The subject id of an event about a login that names no one."""


def about(session: Session, action: str, *, person_id: int, actor: str, now: dt.datetime, **detail: Any) -> None:
    """Audit an event about a person: who did it (`actor`, "anonymous" while unproven), what, and its detail."""
    audit.record(
        session, at=now, actor=actor, action=action, subject_type="employee", subject_id=person_id, detail=detail
    )
