"""The company's rule sets, read from the settings' rules folder (`KAMFLOW_RULES_DIR`) and hot-reloaded.

A rule file that does not load (its syntax, its schema, a control character) is refused, naming where it is
wrong, and the last good version keeps deciding: the latest version a decision used, as `rule_set_versions` keeps
it — so in every process, a fresh one under `kamflow serve` or on a worker too. The refusal is logged as a warning
and audited once per file content (`rule_file_refused`, naming the refused file's sha256). Fixing
the file takes effect at the next decision."""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow import audit, clock
from kamflow.db import unit_of_work
from kamflow.models import AuditEvent, RuleSetVersion
from kamflow.settings import get_settings
from rules.engine import RuleFileError, RuleSet, get_ruleset, load_ruleset_text

log = logging.getLogger(__name__)

REFUSED = "rule_file_refused"
_last_good: dict[tuple[str, str], RuleSet] = {}
"""By rule set and refused file's sha256: the stored version serving in its place in this process."""
_lock = threading.Lock()


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
