"""The append-only audit trail, a hash chain, and the store of every rule-set version ever used.

The chain: every event has a place, `seq` (1, 2, 3, … with no gap, one chain per database), and a `hash`, the
sha256 of the previous event's hash, its own seq and its content — every column but the id, the seq and the
hash, serialised canonically (`content`: JSON with sorted keys, the instant as a UTC ISO string; the JSON
values as the database keeps them, so what is read back hashes as what was written). The one row of
`audit_chain_head` holds the last seq and hash. `kamflow audit verify` walks the chain in seq order and names
the first event that was changed, removed or reordered; triggers keep the table append-only, the chain shows
it when the triggers were dropped. A rewrite of the whole chain from some event on is only seen against a head
hash noted elsewhere (`verify` prints it).

Writing: `record` and `record_many` are the only writers, and a batch costs one round on the head:
- what can be done without the head is done first: each event's row and its canonical content bytes;
- then one `UPDATE audit_chain_head SET seq = seq + n … RETURNING` reserves the batch's seqs and returns the
  previous hash. That UPDATE is the lock: a row lock held to commit on PostgreSQL (a concurrent writer waits
  at its own UPDATE, then reads the committed head), the database's write lock on SQLite (one writer; an
  UPDATE, unlike a SELECT … FOR UPDATE there, takes it before the head is read);
- the hashes are chained in Python (a sha256 over prepared bytes, about a microsecond an event), the head
  takes the batch's last hash, and the batch is inserted in one statement.
So seqs are handed out under the lock and a transaction's events are contiguous; as the lock is held to
commit, commit order is seq order and a reader never sees a later seq without every earlier one. Ids come from
the inserts under the lock, so they too rise with seq (verify checks it: ids are what other records cite).
The nightly review writes each batch's events last, just before the batch commits, so its shards hold the
head for the insert and the commit only, not for the batch's reading and deciding. A rolled-back transaction
gives its seqs back with the head.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

import orjson
from sqlalchemy import Connection, Result, select, update
from sqlalchemy.orm import Session

from kamflow.db import insert_many
from kamflow.models import AuditChainHead, AuditEvent, RuleSetVersion
from rules.engine import Decision, RuleSet

GENESIS = "0" * 64  # the hash before the first event
CONTENT = ("at", "actor", "action", "subject_type", "subject_id", "reasons", "facts", "rules_version", "detail")
_CANONICAL = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS  # as kamflow.db stores JSON, keys sorted


def content(row: Mapping[Any, Any]) -> bytes:
    """An event's content as hashed: its columns but the id, seq and hash, as sorted-key JSON, the instant in UTC.
    The same bytes for the values written and for the values read back (JSON keys that are not strings are
    stored as strings, as here)."""
    values = {name: row[name] for name in CONTENT}
    values["at"] = _utc(row["at"])
    return orjson.dumps(values, option=_CANONICAL)


@functools.lru_cache(maxsize=256)
def _utc(at: dt.datetime) -> str:
    """An instant as a UTC ISO string (cached: a batch's events mostly share theirs)."""
    return at.astimezone(dt.UTC).isoformat()


def link(previous: str, seq: int, body: bytes) -> str:
    """The hash of the event at `seq` with content `body`, after the event whose hash is `previous`."""
    return sha256(b"%s\n%d\n%s" % (previous.encode(), seq, body)).hexdigest()


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
        """Every column of its row but the id and the chain's."""
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


def _chain(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Give the rows their seq and hash at the chain's end and move the head past them: the lock on the head
    is taken here and held to commit (see the module's docstring)."""
    bodies = [content(row) for row in rows]
    reserve = (
        update(AuditChainHead)
        .where(AuditChainHead.id == 1)
        .values(seq=AuditChainHead.seq + len(rows))
        .returning(AuditChainHead.seq, AuditChainHead.hash)
        .execution_options(synchronize_session=False)
    )
    last, previous = session.execute(reserve).one()
    seq = last - len(rows)
    for row, body in zip(rows, bodies, strict=True):
        seq += 1
        previous = row["hash"] = link(previous, seq, body)
        row["seq"] = seq
    moved = update(AuditChainHead).where(AuditChainHead.id == 1).values(hash=previous)
    session.execute(moved.execution_options(synchronize_session=False))


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
    row = event.row()
    _chain(session, [row])
    stored = AuditEvent(**row)
    session.add(stored)
    session.flush()
    return stored


def record_many(session: Session, events: Sequence[Event]) -> None:
    """Write events in one statement, in the order given, each row as `record` writes it (a sweep's events, the
    nightly review's): one round on the chain's head for the batch."""
    if not events:
        return
    rows = [event.row() for event in events]
    _chain(session, rows)
    insert_many(session.connection(), AuditEvent, rows)


def remember_ruleset(session: Session, ruleset: RuleSet, *, at: dt.datetime) -> None:
    """Keep the exact text of a rule-set version the first time a decision uses it. Two processes deciding under
    a new version at once both keep it: whichever inserts second finds the row there and inserts nothing."""
    # The database's own dialect only: importing PostgreSQL's costs every flow process on SQLite 0.1 s.
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]  # the same ON CONFLICT clause
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


@dataclass(frozen=True)
class ChainCheck:
    """What walking the chain found: how many events are intact, the head, and the first break if any."""

    events: int
    head_seq: int
    head_hash: str
    problem: str | None = None  # "event 1234 (seq 1200) was changed", "the event at seq 57 is missing", …
    event_id: int | None = None
    seq: int | None = None


def _head(connection: Connection) -> tuple[int, str]:
    seq, hash_ = connection.execute(select(AuditChainHead.seq, AuditChainHead.hash)).one()
    return seq, hash_


def _in_seq_order(connection: Connection, batch: int) -> Result[Any]:
    """Every event in seq order, read `batch` rows at a time (a server-side cursor on PostgreSQL)."""
    table = AuditEvent.__table__
    query = select(table.c.id, table.c.seq, table.c.hash, *(table.c[name] for name in CONTENT))
    return connection.execution_options(yield_per=batch).execute(query.order_by(table.c.seq))


def walk(connection: Connection, *, batch: int = 2000) -> ChainCheck:
    """Walk the chain from its first event, in seq order, holding one batch of rows at a time; stop at the first
    event that was changed, removed or reordered. Events appended while it walks are walked too."""
    start_seq, _ = _head(connection)
    seq, previous, last_id, events = 0, GENESIS, 0, 0

    def broken(problem: str, event_id: int | None, at: int) -> ChainCheck:
        head_seq, head_hash = _head(connection)
        return ChainCheck(events, head_seq, head_hash, problem, event_id, at)

    rows = iter(_in_seq_order(connection, batch))
    for row in rows:
        if row.seq != seq + 1:
            return broken(f"the event at seq {seq + 1} is missing", None, seq + 1)
        seq = row.seq
        if row.id <= last_id:  # ids rise with seq: they are handed out under the head's lock too
            return broken(f"event {row.id} (seq {seq}) was reordered: it comes after event {last_id}", row.id, seq)
        previous = link(previous, seq, content(row._mapping))
        if previous != row.hash:
            following = next(rows, None)
            if following is not None and following.id < row.id:
                moved = f"event {row.id} (seq {seq}) was reordered: it comes before event {following.id}"
                return broken(moved, row.id, seq)
            return broken(f"event {row.id} (seq {seq}) was changed", row.id, seq)
        last_id, events = row.id, events + 1
    head_seq, head_hash = _head(connection)
    if seq < start_seq:
        return broken(f"the event at seq {seq + 1} is missing", None, seq + 1)
    if head_seq < seq:
        return broken(f"event {last_id} (seq {seq}) lies beyond the chain's head (seq {head_seq})", last_id, seq)
    if head_seq == seq and head_hash != previous:
        return broken(f"the chain's head was changed (seq {seq})", None, seq)
    return ChainCheck(events, head_seq, head_hash)
