"""the audit trail becomes a hash chain: every event's seq and hash, and the chain's head

Existing events are chained in id order (kamflow.audit.content and .link, as the writers and verify hash). The
append-only triggers are set aside for that one update and are in force again afterwards (on SQLite the
table is rebuilt to make the new columns NOT NULL, which drops its triggers: they are made again).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kamflow import audit
from kamflow.models import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BATCH = 2000
events = sa.table(
    "audit_events",
    sa.column("id", sa.Integer()),
    sa.column("at", UTCDateTime()),
    *(sa.column(name, sa.JSON()) for name in ("reasons", "facts", "detail")),
    *(sa.column(name, sa.String()) for name in ("actor", "action", "subject_type", "rules_version")),
    sa.column("subject_id", sa.Integer()),
    sa.column("seq", sa.Integer()),
    sa.column("hash", sa.String()),
)


def _sqlite_triggers(verb: str) -> None:
    """Drop or create the append-only triggers of migration 0001 on SQLite."""
    for change in ("UPDATE", "DELETE"):
        name = f"audit_events_no_{change.lower()}"
        op.execute(
            f"DROP TRIGGER {name}"
            if verb == "DROP"
            else f"CREATE TRIGGER {name} BEFORE {change} ON audit_events "
            "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
        )


def _chain_existing() -> tuple[int, str]:
    """Chain the events already there in id order, a batch at a time; the last seq and hash."""
    connection = op.get_bind()
    seq, previous, after = 0, audit.GENESIS, 0
    while rows := connection.execute(
        sa.select(events).where(events.c.id > after).order_by(events.c.id).limit(BATCH)
    ).all():
        chained = []
        for row in rows:
            seq += 1
            previous = audit.link(previous, seq, audit.content(row._mapping))
            chained.append({"event": row.id, "seq": seq, "hash": previous})
        connection.execute(
            events.update()
            .where(events.c.id == sa.bindparam("event"))
            .values(seq=sa.bindparam("seq"), hash=sa.bindparam("hash")),
            chained,
        )
        after = rows[-1].id
    return seq, previous


def upgrade() -> None:
    sqlite = op.get_context().dialect.name == "sqlite"
    op.add_column("audit_events", sa.Column("seq", sa.Integer(), nullable=True))
    op.add_column("audit_events", sa.Column("hash", sa.String(length=64), nullable=True))
    head = op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    if sqlite:
        _sqlite_triggers("DROP")
    else:
        op.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
    seq, last = _chain_existing()
    op.bulk_insert(head, [{"id": 1, "seq": seq, "hash": last}])
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_audit_events_seq"), ["seq"])
    if sqlite:
        _sqlite_triggers("CREATE")
    else:
        op.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only")


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_events_seq"), type_="unique")
        batch_op.drop_column("hash")
        batch_op.drop_column("seq")
    if op.get_context().dialect.name == "sqlite":
        _sqlite_triggers("CREATE")  # the rebuilt table lost them
    op.drop_table("audit_chain_head")
