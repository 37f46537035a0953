"""The audit trail: `record` writes one event at once, `record_many` a sweep's events in one statement — row for
row what `record` writes (the chain itself: test_audit_chain.py)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow import audit
from kamflow.db import get_engine
from kamflow.models import AuditEvent, RuleSetVersion
from kamflow.settings import Settings
from rules.engine import Decision, Reason, get_ruleset
from tests.conftest import NOW
from tests.unit.statements import statements

COLUMNS = "at, actor, action, subject_type, subject_id, reasons, facts, rules_version, detail"


def test_record_many_writes_in_one_statement_the_rows_record_writes(session: Session) -> None:
    decision = Decision(
        ruleset="discount",
        outcome="escalate",
        role="commercial_director",
        reasons=[Reason(rule="over_norm", text="2 points above the norm")],
        facts={"requested": "12.50", "key_account": True},
        version="f" * 64,
    )
    madrid = NOW.astimezone(dt.timezone(dt.timedelta(hours=1)))
    events = [
        audit.Event(
            at=madrid,
            actor="commercial",
            action="audit_test",
            subject_type="discount_request",
            subject_id=7,
            decision=decision,
            # a key that is not text, on purpose: both writes store it as JSON does, "3"
            detail={"comment": "ok", 3: ["á", None]},  # type: ignore[dict-item]
        ),
        audit.Event(at=NOW, actor="kamflow", action="audit_test", subject_type="approval_task", subject_id=8),
        audit.Event(
            at=NOW,
            actor="rules",
            action="audit_test",
            subject_type="collection_task",
            subject_id=9,
            decision=decision,
            reasons=[{"rule": "one_of_them", "text": "only this action's reason"}],
        ),
    ]
    for event in events:
        audit.record(session, **vars(event))
    with statements(session) as sent:
        audit.record_many(session, events)
        audit.record_many(session, [])  # nothing to write: no statement
    assert [s.split()[0] for s in sent] == ["UPDATE", "UPDATE", "INSERT"]  # the head: reserve, move; the events
    raw = session.connection().exec_driver_sql(
        f"SELECT {COLUMNS} FROM audit_events WHERE action = 'audit_test' ORDER BY id"
    )
    rows = [tuple(row) for row in raw]
    assert len(rows) == 6 and rows[3:] == rows[:3]  # the same stored text, JSON and instants included
    stored = session.scalars(select(AuditEvent).where(AuditEvent.action == "audit_test").order_by(AuditEvent.id))
    *_, bulk, _, only_some = list(stored)
    assert bulk.at == NOW and bulk.at.tzinfo is not None
    assert (bulk.reasons, bulk.facts, bulk.rules_version) == (
        [{"rule": "over_norm", "text": "2 points above the norm"}],
        {"requested": "12.50", "key_account": True},
        "f" * 64,
    )
    assert bulk.detail == {"comment": "ok", "3": ["á", None]}
    assert only_some.reasons == [{"rule": "one_of_them", "text": "only this action's reason"}]
    assert (only_some.facts, only_some.rules_version) == (decision.facts, decision.version)


def test_a_rule_set_version_kept_by_two_processes_is_kept_once_with_its_first_use(settings: Settings) -> None:
    """Two workers deciding under a new version each keep it: the second insert finds the row and does nothing
    (an insert that ignores the conflict, so a check-then-insert race between processes cannot fail one)."""
    ruleset = get_ruleset("discount")
    engine = get_engine(settings)
    with Session(engine) as first, Session(engine) as second:
        audit.remember_ruleset(first, ruleset, at=NOW)
        first.commit()
        audit.remember_ruleset(second, ruleset, at=NOW + dt.timedelta(hours=1))
        second.commit()
    with Session(engine) as session:
        [kept] = session.scalars(select(RuleSetVersion).where(RuleSetVersion.version == ruleset.version))
        assert (kept.text, kept.first_used_at) == (ruleset.text, NOW)
