"""The audit trail as a hash chain: `kamflow audit verify` passes on an intact trail and names the first event
changed, removed or reordered in SQL behind the triggers' back; business rows that disagree with their audited
decision are reported; decisions carry the versions of the policies they used. The tampering scenarios are
shared with the PostgreSQL variant (tests/integration/test_postgres.py)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from hashlib import sha256
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from kamflow import audit, migrate
from kamflow.app.cli import app
from kamflow.credit import policy as credit_policy
from kamflow.db import dispose_engines, get_engine, unit_of_work
from kamflow.discounts import service as discounts
from kamflow.documents import chains
from kamflow.models import AuditEvent
from kamflow.review import dunning
from kamflow.settings import Settings
from tests.conftest import NOW, customer
from tests.unit.credit.conftest import change, order
from tests.unit.test_discounts import ask

runner = CliRunner()


def verify() -> tuple[int, dict[str, Any]]:
    done = runner.invoke(app, ["audit", "verify", "--json"])
    return done.exit_code, json.loads(done.stdout)


def write_events(settings: Settings, *, batches: int = 20, size: int = 50) -> None:
    """Events as the services write them: one at a time and in batches, over several transactions."""
    for b in range(batches):
        with unit_of_work(settings) as session:
            at = NOW + dt.timedelta(minutes=b)
            audit.record(session, at=at, actor="kam", action="chain_test", subject_type="t", subject_id=b)
            audit.record_many(
                session,
                [
                    audit.Event(
                        at=at,
                        actor="rules",
                        action="chain_test",
                        subject_type="t",
                        subject_id=k,
                        # a key that is not text, on purpose: stored as JSON does, "3"
                        detail={"k": k, "pct": "12.50", 3: [None, "á"]},  # type: ignore[dict-item]
                    )
                    for k in range(size)
                ],
            )


def unguard(connection: Connection) -> None:
    """What a database owner can do: drop the append-only triggers."""
    if connection.dialect.name == "sqlite":
        connection.execute(text("DROP TRIGGER audit_events_no_update"))
        connection.execute(text("DROP TRIGGER audit_events_no_delete"))
    else:
        connection.execute(text("DROP TRIGGER audit_events_append_only ON audit_events"))


def event_at(connection: Connection, seq: int) -> int:
    return int(connection.execute(text("SELECT id FROM audit_events WHERE seq = :s"), {"s": seq}).scalar_one())


def _update(connection: Connection, seq: int) -> str:
    event = event_at(connection, seq)
    connection.execute(text("UPDATE audit_events SET actor = 'someone else' WHERE id = :e"), {"e": event})
    return f"event {event} (seq {seq}) was changed"


def _delete(connection: Connection, seq: int) -> str:
    connection.execute(text("DELETE FROM audit_events WHERE id = :e"), {"e": event_at(connection, seq)})
    return f"the event at seq {seq} is missing"


def _delete_last(connection: Connection, _seq: int) -> str:
    last = connection.execute(text("SELECT max(seq) FROM audit_events")).scalar_one()
    connection.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": last})
    return f"the event at seq {last} is missing"


def _swap_contents(connection: Connection, seq: int) -> str:
    """Two events trade what they say (who, what, on which subject) and keep their ids, seqs and hashes."""
    first, second = event_at(connection, seq), event_at(connection, seq + 1)
    columns = ("actor", "action", "subject_type", "subject_id")
    read = text(f"SELECT {', '.join(columns)} FROM audit_events WHERE id = :e")
    rows = {event: connection.execute(read, {"e": event}).one() for event in (first, second)}
    assignments = ", ".join(f"{c} = :{c}" for c in columns)
    for event, other in ((first, second), (second, first)):
        values = dict(zip(columns, rows[other], strict=True))
        connection.execute(text(f"UPDATE audit_events SET {assignments} WHERE id = :e"), values | {"e": event})
    return f"event {first} (seq {seq}) was changed"


def _swap_rows(connection: Connection, seq: int) -> str:
    """Two whole events trade places in the chain: each takes the other's seq."""
    first, second = event_at(connection, seq), event_at(connection, seq + 1)
    for event, place in ((first, -1), (second, seq), (first, seq + 1)):
        connection.execute(text("UPDATE audit_events SET seq = :s WHERE id = :e"), {"s": place, "e": event})
    return f"event {second} (seq {seq}) was reordered: it comes before event {first}"


TAMPERING: dict[str, Callable[[Connection, int], str]] = {
    "update": _update,
    "delete": _delete,
    "delete the last": _delete_last,
    "swap contents": _swap_contents,
}


def tamper_and_verify(engine: Engine, tamper: Callable[[Connection, int], str]) -> None:
    """Verify passes; after the tampering (triggers dropped), it fails with exit 2 naming the event."""
    assert verify()[0] == 0
    with engine.begin() as connection:
        unguard(connection)
        expected = tamper(connection, 57)
    code, report = verify()
    assert code == 2 and not report["ok"]
    assert report["chain"]["problem"] == expected


def test_verify_passes_on_a_fresh_demo_database(settings: Settings) -> None:
    code, report = verify()
    assert code == 0 and report["ok"] and report["disagreeing"] == 0


def test_verify_passes_after_many_writes_and_counts_every_event(settings: Settings) -> None:
    write_events(settings)
    code, report = verify()
    assert code == 0 and report["ok"]
    with get_engine(settings).connect() as connection:
        count, last = connection.execute(select(func.count(), func.max(AuditEvent.seq))).one()
        head = connection.execute(text("SELECT seq, hash FROM audit_chain_head")).one()
    assert report["chain"]["events"] == count == last == head.seq
    assert report["chain"]["head_hash"] == head.hash


def test_a_text_report_names_the_head(settings: Settings) -> None:
    write_events(settings, batches=1, size=3)
    done = runner.invoke(app, ["audit", "verify"])
    assert done.exit_code == 0 and "4 events intact" in done.stdout and "chain intact" in done.stdout


@pytest.mark.parametrize("tamper", TAMPERING.values(), ids=TAMPERING.keys())
def test_a_change_made_in_sql_is_found_and_named(
    settings: Settings, tamper: Callable[[Connection, int], str]
) -> None:
    write_events(settings)
    tamper_and_verify(get_engine(settings), tamper)


def test_events_that_trade_places_are_found_reordered(settings: Settings) -> None:
    write_events(settings)
    tamper_and_verify(get_engine(settings), _swap_rows)


def test_a_write_that_fails_gives_its_seqs_back(settings: Settings) -> None:
    write_events(settings, batches=1, size=2)
    with pytest.raises(RuntimeError), unit_of_work(settings) as session:
        audit.record(session, at=NOW, actor="kam", action="chain_test", subject_type="t", subject_id=1)
        raise RuntimeError("the rest of the transaction failed")
    write_events(settings, batches=1, size=2)
    assert verify()[0] == 0


def change_rows_and_verify(settings: Settings) -> None:
    """Decide a discount, an order and a new limit; change each row in SQL; verify names all three."""
    with unit_of_work(settings) as session:
        request = discounts.submit(session, request=ask(session, discount_pct="5"), flow_run_id=None, now=NOW)
        check = order(session, "C0001", "1000")
        old_limit = customer(session, "C0001").credit_limit
        assert old_limit is not None
        new_limit = old_limit + 100000  # within what applies at once
        limit = change(session, "C0001", new_limit)
        assert (request.status, check.status, limit.status) == ("approved", "approved", "applied")
        ids = request.id, check.id
    assert verify()[0] == 0
    with get_engine(settings).begin() as connection:
        connection.execute(text("UPDATE discount_requests SET granted_pct = 9 WHERE id = :i"), {"i": ids[0]})
        connection.execute(text("UPDATE order_credit_checks SET status = 'released' WHERE id = :i"), {"i": ids[1]})
        connection.execute(text("UPDATE customers SET credit_limit = 900000 WHERE code = 'C0001'"))
    code, report = verify()
    assert code == 2 and report["chain"]["problem"] is None
    assert {(d["subject"], d["column"], d["row"], d["audited"]) for d in report["disagreements"]} == {
        (f"discount_request {ids[0]}", "granted_pct", "9.0000", "5"),
        (f"order_credit_check {ids[1]}", "status", "released", "approved"),
        ("customer C0001", "credit_limit", "900000.00", str(new_limit)),
    }


def test_a_business_row_changed_in_sql_is_reported(settings: Settings) -> None:
    change_rows_and_verify(settings)


def test_a_decision_keeps_the_version_of_the_policies_it_used(session: Session) -> None:
    check = order(session, "C0001", "1000")
    [event] = audit.trail(session, subject_type="order_credit_check", subject_id=check.id)
    shipped = sha256(credit_policy.POLICY_FILE.read_bytes()).hexdigest()
    assert event.detail["policies"] == {"credit": shipped}
    assert dunning.load_policy().version == sha256(dunning.POLICY_FILE.read_bytes()).hexdigest()
    assert chains.load().version == sha256(chains.CHAINS_FILE.read_bytes()).hexdigest()


def test_the_migration_chains_the_events_already_there(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    migrate.upgrade(settings, "0005")
    with get_engine(settings).begin() as connection:
        for k in range(2500):  # more than a batch of the migration
            connection.execute(
                text(
                    "INSERT INTO audit_events (at, actor, action, subject_type, subject_id, reasons, facts, "
                    "rules_version, detail) VALUES (:at, 'rules', 'old', 't', :k, '[]', '{\"a\": 1}', NULL, :d)"
                ),
                {"at": "2026-03-16 09:30:00.000000", "k": k, "d": json.dumps({"k": k, "b": [1.5, None]})},
            )
    migrate.upgrade(settings)
    with get_engine(settings).connect() as connection:
        check = audit.walk(connection)
    assert check.problem is None and check.events == check.head_seq == 2500
    with unit_of_work(settings) as session:  # and the chain goes on from there
        audit.record(session, at=NOW, actor="kam", action="new", subject_type="t", subject_id=1)
    with get_engine(settings).connect() as connection:
        assert audit.walk(connection).events == 2501
    dispose_engines()
