"""The company's rule sets, read from the settings' rules folder (`KAMFLOW_RULES_DIR`) and hot-reloaded.

A rule file that does not load (its syntax, its schema, a control character) is refused, naming where it is
wrong, and the last good version keeps deciding: the latest version a decision used, as `rule_set_versions` keeps
it — so in every process, a fresh one under `kamflow serve` or on a worker too. The refusal is logged as a warning
and audited once per file content (`rule_file_refused`, naming the refused file's sha256). Fixing
the file takes effect at the next decision.

A stored decision's reasons are written in the rule file's first language; `reasons_in` writes them in the
reader's, from the text of the version that made the decision."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow import audit, clock, i18n
from kamflow.db import unit_of_work
from kamflow.models import AuditEvent, RuleSetVersion
from kamflow.settings import get_settings
from rules.engine import Decision, RuleFileError, RuleSet, get_ruleset, load_ruleset_text

log = logging.getLogger(__name__)

REFUSED = "rule_file_refused"
_last_good: dict[tuple[str, str], RuleSet] = {}
"""By rule set and refused file's sha256: the stored version serving in its place in this process."""
_lock = threading.Lock()
_versions: dict[str, RuleSet] = {}
"""Stored versions loaded to write reasons, by version (a content hash: the same text in every database)."""
MAX_VERSIONS = 64


def load(name: str, session: Session | None = None) -> RuleSet:
    """The rule set as its file stands, or the last good version while the file is refused. A decision's `session`
    keeps the refusal's audit event in the decision's transaction (on SQLite a second writer would wait for it)."""
    rules_dir = get_settings().rules_dir
    try:
        return get_ruleset(name, rules_dir, keep_last=False)
    except RuleFileError as refused:
        file_hash = _hash(rules_dir / f"{name}.yaml")
        if session is not None:
            return last_good(session, name, refused, file_hash=file_hash)
        with unit_of_work() as own:
            return last_good(own, name, refused, file_hash=file_hash)


def last_good(session: Session, name: str, refused: RuleFileError, *, file_hash: str) -> RuleSet:
    """The latest stored version of the rule set, standing in for the refused file (logged and audited the first
    time this content is met); `refused` itself when no version was ever stored."""
    with _lock:
        found = _last_good.get((name, file_hash))
        if found is not None:
            return found
        stored = session.scalar(
            select(RuleSetVersion)
            .where(RuleSetVersion.ruleset == name)
            .order_by(RuleSetVersion.first_used_at.desc())
            .limit(1)
        )
        if stored is None:
            raise refused
        found = load_ruleset_text(stored.text, f"{name} version {stored.version[:12]} (stored)")
        known = session.scalar(
            select(AuditEvent.id).where(
                AuditEvent.action == REFUSED, AuditEvent.detail["refused_sha256"].as_string() == file_hash
            )
        )
        if known is None:
            audit.record(
                session,
                at=clock.now(),
                actor="kamflow",
                action=REFUSED,
                subject_type="rule_set",
                subject_id=0,
                detail={
                    "ruleset": name,
                    "refused_sha256": file_hash,
                    "error": str(refused),
                    "deciding_version": found.version,
                },
            )
        log.warning(
            "%s -- rule set %r refused; the last good version, %s (stored), keeps deciding",
            refused,
            name,
            found.version[:12],
        )
        _last_good[(name, file_hash)] = found
        return found


def _hash(path: Path) -> str:
    """The sha256 of the file as it stands (of nothing when it cannot be read)."""
    try:
        with path.open("rb") as handle:
            return hashlib.sha256(handle.read(get_settings().max_rule_file_bytes + 1)).hexdigest()
    except OSError:
        return hashlib.sha256(b"").hexdigest()


def reasons_in(
    session: Session | None, decision: Mapping[str, Any], language: str | None = None
) -> list[dict[str, str]]:
    """A stored decision's reasons (a rules Decision as JSON, as the processes keep it) in `language` (default:
    the reader's), written from the text of the rule-set version that made it: the rule file as it stands when it
    is that version, else the text `rule_set_versions` keeps (read through `session`). As stored when they are in
    that language already, or when that text is not at hand, no longer loads or has no such language."""
    stored: list[dict[str, str]] = decision["reasons"]
    language = language or i18n.current()
    ruleset = _version(session, decision["ruleset"], decision["version"])
    if ruleset is None or language not in ruleset.languages[1:]:
        return stored
    try:
        written = ruleset.reasons(Decision.model_validate(decision), language)
    except ValueError:  # a decision its version cannot have made (a fact or rule it lacks): the stored words stand
        return stored
    return [reason.model_dump() for reason in written]


def _version(session: Session | None, name: str, version: str) -> RuleSet | None:
    """The rule set `name` as it was at `version`; None when that text is not at hand or no longer loads."""
    found = _versions.get(version)
    if found is None:
        found = _current(name, version) or _kept(session, version)
        if found is None:
            return None
        if len(_versions) >= MAX_VERSIONS:
            _versions.clear()
        _versions[version] = found
    return found


def _current(name: str, version: str) -> RuleSet | None:
    """The rule file as it stands, if it is that version."""
    try:
        current = get_ruleset(name, get_settings().rules_dir)
    except (RuleFileError, ValueError):  # a file never loaded, or not a rule set name
        return None
    return current if current.version == version else None


def _kept(session: Session | None, version: str) -> RuleSet | None:
    """The version as `rule_set_versions` keeps its text."""
    kept = None if session is None else session.get(RuleSetVersion, version)
    if kept is None:
        return None
    try:
        return load_ruleset_text(kept.text, f"{kept.ruleset} version {version[:12]} (stored)")
    except RuleFileError:
        return None
