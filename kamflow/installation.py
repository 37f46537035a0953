"""The installation's own id: made once when the database is created, so what kamflow names outside its database
(Prefect's artifact keys) never repeats across databases, even after a fresh `kamflow init`."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from kamflow.errors import NotFound
from kamflow.models import Base, UTCDateTime


class Installation(Base):
    """One row, written by the migration that creates it."""

    __tablename__ = "installation"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


def installation_id(session: Session) -> str:
    found: str | None = session.scalar(select(Installation.id))
    if found is None:
        raise NotFound("this database has no installation id: run `kamflow init`", field="installation")
    return found
