"""Counting the SQL statements a piece of code sends, to show that it reads a fixed handful whatever the number
of rows, rather than one more per row."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session


@contextmanager
def statements(session: Session) -> Iterator[list[str]]:
    """The statements sent inside the block. What is pending is flushed first and the identity map emptied, so
    the code reads what it needs as a fresh request would (objects held before are detached: fetch them again)."""
    session.flush()
    session.expunge_all()
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def reads(sent: list[str]) -> int:
    """How many of the statements are queries (writes grow with what is written, as they must)."""
    return sum(1 for statement in sent if statement.lstrip().upper().startswith(("SELECT", "WITH")))
