"""Customers by their code: the one lookup every process uses."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow.errors import KamflowError, NotFound
from kamflow.i18n import _
from kamflow.models import Customer


def by_code(
    session: Session, code: str, *, field: str = "customer", missing: type[KamflowError] = NotFound
) -> Customer:
    """The customer with this code; otherwise `missing` (NotFound unless the caller says) naming `field`."""
    found = session.scalar(select(Customer).where(Customer.code == code))
    if found is None:
        raise missing(_("no customer with code {code}").format(code=repr(code)), field=field)
    return found
