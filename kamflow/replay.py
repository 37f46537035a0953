"""Stored rule decisions explained again as they were made, and replayed against a candidate rule file.

Every decision a process audits keeps its facts, its reasons and the content hash of its rule set
(`audit_events.facts`, `.reasons`, `.rules_version`), and `rule_set_versions` keeps the exact text of every
version used (`kamflow.audit.remember_ruleset`). So a stored decision is decided again under its own
version (its reasons come back as they were) and under a candidate file (what a change would do).
The reasons of changed decisions are shown in the reader's language. Reads only.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow import i18n
from kamflow.errors import InvalidInput, NotFound
from kamflow.models import AuditEvent, RuleSetVersion
from rules.engine import Decision, RuleFileError, RuleSet, load_ruleset_text

BATCH = 2000
"""Stored decisions read and decided at a time: memory stays flat over any history."""


def kept_version(session: Session, version: str) -> RuleSet:
    """The rule set exactly as it was at this content hash, from the text kept when it first decided."""
    kept = session.get(RuleSetVersion, version)
    if kept is None:
        raise NotFound(f"the text of rules version {version[:12]} was not kept", field="decision")
    try:
        return load_ruleset_text(kept.text, f"rule_set_versions[{version[:12]}]")
    except RuleFileError as error:  # kept text that loaded once; a newer rules module may read it otherwise
        raise InvalidInput(f"rules version {version[:12]} no longer loads: {error}", field="decision") from None


@dataclass(frozen=True)
class Reexplained:
    event: AuditEvent
    ruleset: RuleSet
    decision: Decision

    @property
    def as_stored(self) -> bool:
        """Whether deciding again under the kept version gives the reasons the audit trail stored."""
        return reproduces(self.decision, self.event.reasons)


def reproduces(decision: Decision, stored: list[dict[str, str]]) -> bool:
    """Whether a decision gives every reason stored with it (an audit event may keep only some of them, as the
    nightly review's collection tasks keep the reasons for their action)."""
    given = [reason.model_dump() for reason in decision.reasons]
    return bool(stored) and all(reason in given for reason in stored)


def reexplain(session: Session, *, event_id: int, ruleset: str | None = None) -> Reexplained:
    """Decide a stored decision's facts again under the version it was made with (and, if given, check that
    it was a decision of that rule set)."""
    event = session.get(AuditEvent, event_id)
    if event is None:
        raise NotFound(f"no audit event {event_id}", field="decision")
    if event.rules_version is None:
        raise InvalidInput(f"audit event {event_id} ({event.action}) is not a rule decision", field="decision")
    kept = kept_version(session, event.rules_version)
    if ruleset is not None and kept.name != ruleset:
        raise InvalidInput(
            f"audit event {event_id} is a decision of rule set {kept.name!r}, not {ruleset!r}", field="decision"
        )
    return Reexplained(event, kept, kept.decide(stored_facts(kept, event.facts, event.id)))


def stored_facts(ruleset: RuleSet, facts: Mapping[str, Any], event_id: int) -> dict[str, Any]:
    """A stored decision's JSON facts typed for a rule set, leaving out facts it does not declare."""
    try:
        return ruleset.typed_facts({name: value for name, value in facts.items() if name in ruleset.fact_types})
    except ValueError as error:
        raise InvalidInput(f"audit event {event_id}: {error}", field="facts") from None


def label(decision: Decision) -> str:
    return decision.outcome if decision.role is None else f"{decision.outcome} ({decision.role})"


@dataclass
class Replay:
    candidate: RuleSet
    since: dt.datetime | None
    limit: int
    decisions: int = 0
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    changed: int = 0
    reasons_changed: int = 0
    """Same outcome and role, but other rules fired."""
    first_changed: list[dict[str, Any]] = field(default_factory=list)
    not_replayed: int = 0
    """Stored decisions the candidate cannot decide (e.g. it needs a fact that was not stored)..."""
    first_not_replayed: list[str] = field(default_factory=list)
    """... and why, for the first `limit` of them."""
    not_reproduced: list[int] = field(default_factory=list)
    """Audit events (the first `limit`) whose kept version, deciding again, does not give the stored reasons
    (none, unless the rules module changed how it decides)."""

    def skip(self, why: str) -> None:
        self.not_replayed += 1
        if len(self.first_not_replayed) < self.limit:
            self.first_not_replayed.append(why)

    def add(self, event: AuditEvent, kept: RuleSet, old: Decision, new: Decision) -> None:
        """One stored decision decided again: `old` under its `kept` version, `new` under the candidate."""
        self.decisions += 1
        self.transitions[label(old), label(new)] += 1
        if not reproduces(old, event.reasons) and len(self.not_reproduced) < self.limit:
            self.not_reproduced.append(event.id)
        if (old.outcome, old.role) != (new.outcome, new.role):
            self.changed += 1
            if len(self.first_changed) < self.limit:
                self.first_changed.append(
                    {
                        "audit_event": event.id,
                        "at": event.at.isoformat(),
                        "subject": f"{event.subject_type} {event.subject_id}",
                        "old": _outcome_view(kept, old),
                        "new": _outcome_view(self.candidate, new),
                    }
                )
        elif old.fired != new.fired:
            self.reasons_changed += 1

    def to_json(self) -> dict[str, Any]:
        return {
            "ruleset": self.candidate.name,
            "candidate_version": self.candidate.version,
            "since": self.since.isoformat() if self.since else None,
            "decisions": self.decisions,
            "changed": self.changed,
            "reasons_changed": self.reasons_changed,
            "transitions": [
                {"old": old, "new": new, "count": count}
                for (old, new), count in sorted(self.transitions.items(), key=lambda item: (-item[1], item[0]))
            ],
            "first_changed": self.first_changed,
            "not_replayed": self.not_replayed,
            "first_not_replayed": self.first_not_replayed,
            "not_reproduced": self.not_reproduced,
        }


def _outcome_view(ruleset: RuleSet, decision: Decision) -> dict[str, Any]:
    return {
        "outcome": decision.outcome,
        "role": decision.role,
        "reasons": [reason.model_dump() for reason in ruleset.reasons(decision, i18n.current())],
    }


def replay(
    session: Session, *, ruleset: str, candidate: RuleSet, since: dt.datetime | None = None, limit: int = 10
) -> Replay:
    """Decide every stored decision of `ruleset` (audited since `since`) again, under the version it was
    made with and under the candidate, and count what changes."""
    if candidate.name != ruleset:
        raise InvalidInput(f"the candidate is rule set {candidate.name!r}, not {ruleset!r}", field="candidate")
    query = (
        select(AuditEvent, RuleSetVersion.version)
        .join(RuleSetVersion, RuleSetVersion.version == AuditEvent.rules_version)
        .where(RuleSetVersion.ruleset == ruleset)
        .order_by(AuditEvent.id)
    )
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    report = Replay(candidate, since, limit)
    versions: dict[str, RuleSet] = {}
    for rows in session.execute(query.execution_options(yield_per=BATCH)).partitions():
        old_facts: dict[str, list[dict[str, Any]]] = defaultdict(list)
        new_facts: list[dict[str, Any]] = []
        events: list[tuple[AuditEvent, str]] = []
        for event, version in rows:
            if version not in versions:
                versions[version] = kept_version(session, version)
            try:
                typed = stored_facts(candidate, event.facts, event.id)
            except InvalidInput as error:
                report.skip(error.message)
                continue
            old_facts[version].append(stored_facts(versions[version], event.facts, event.id))
            new_facts.append(typed)
            events.append((event, version))
        old = {version: iter(versions[version].decide_many(facts)) for version, facts in old_facts.items()}
        for (event, version), decided in zip(events, candidate.decide_many(new_facts), strict=True):
            report.add(event, versions[version], next(old[version]), decided)
    return report
