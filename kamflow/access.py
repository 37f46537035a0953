"""Who may see and who may act on what: one access policy, kept as data (`access.yaml` beside this module, or the
file the `access_policy` setting names), checked here and nowhere else. Every command and page asks it.

A customer is looked after by its KAM and the KAM's superiors; whoever stands in for one of them under a delegation
order in force sees and acts as they would, on behalf of them, until the order ends (clause 1.4). The roles the
policy names see every customer or every document. Reads of a customer's credit data are audited; a refusal is
raised as NotPermitted naming who was refused, and the entry point audits it in a transaction of its own once the
refused command has rolled back (`record_refusal`), so a refused command writes nothing but that event.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, NoReturn

from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow import audit, clock, org, policy
from kamflow.db import unit_of_work
from kamflow.errors import NotPermitted
from kamflow.i18n import _
from kamflow.models import ApprovalTask, Customer, Employee
from kamflow.settings import get_settings

POLICY_FILE = Path(__file__).with_name("access.yaml")


class AccessPolicy(policy.Versioned):
    audit_name: ClassVar[str] = "access"

    customers_seen_by: frozenset[str]
    documents_seen_by: frozenset[str]
    admin_roles: frozenset[str]


@functools.cache
def load(path: Path) -> AccessPolicy:
    return policy.read(path, AccessPolicy)


def current() -> AccessPolicy:
    """The policy of the settings' `access_policy` file, else the shipped one."""
    return load(get_settings().access_policy or POLICY_FILE)


def is_admin(roles: Collection[str]) -> bool:
    """Whether extra roles (Employee.roles) make their holder an admin: they keep people and accounts, import
    data, run the review on demand and replay rules."""
    return not current().admin_roles.isdisjoint(roles)


@dataclass(frozen=True)
class Right:
    """Why a person may act on a customer: `on_behalf_of` and `order_ref` name the absent person and the
    delegation order when the right is theirs, held by a delegate."""

    person: Employee
    on_behalf_of: Employee | None = None
    order_ref: str | None = None


def customer_right(
    session: Session, person: Employee, customer: Customer, *, on: dt.date, also: Collection[str] = ()
) -> Right | None:
    """Why `person` may act on `customer` on a date: they look after it, they hold one of the roles in `also`, or
    they stand in for someone who looks after it; None when nothing lets them."""
    looking_after = [customer.kam, *org.superiors(customer.kam)]
    if person in looking_after or person.role in also:
        return Right(person)
    delegations = org.delegations_on(session, on=on)
    for absent in looking_after:
        if absent.id != person.id and delegations.acting_for(absent).id == person.id:
            return Right(person, on_behalf_of=absent, order_ref=delegations.order_of[absent.id])
    return None


def act_on_customer(
    session: Session, person: Employee, customer: Customer, *, on: dt.date, also: Collection[str] = ()
) -> Right:
    """`customer_right`, or NotPermitted on `requester` (audited) when there is none. A delegate's act is audited
    as done on behalf of the absent person, naming the order (in the act's own transaction)."""
    right = customer_right(session, person, customer, on=on, also=also)
    if right is None:
        refuse(
            person,
            _("{login} does not look after customer {customer}").format(
                login=person.login, customer=customer.code
            ),
            field="requester",
        )
    if right.on_behalf_of is not None:
        audit.record(
            session,
            at=clock.now(),
            actor=person.login,
            action="acting_on_behalf",
            subject_type="customer",
            subject_id=customer.id,
            detail={
                "customer": customer.code,
                "on_behalf_of": right.on_behalf_of.login,
                "order": right.order_ref,
                "policies": policy.versions(current()),
            },
        )
    return right


def see_customer(session: Session, person: Employee, customer: Customer, *, what: str, now: dt.datetime) -> None:
    """Let `person` read `what` of the customer's data, audited; NotPermitted (audited) when they may not."""
    seen_by_role = person.role in current().customers_seen_by
    if not seen_by_role and customer_right(session, person, customer, on=clock.today(now)) is None:
        refuse(
            person,
            _("{login} may not see customer {customer}").format(login=person.login, customer=customer.code),
            field="customer",
        )
    audit.record(
        session,
        at=now,
        actor=person.login,
        action="customer_read",
        subject_type="customer",
        subject_id=customer.id,
        detail={"customer": customer.code, "what": what, "policies": policy.versions(current())},
    )


def see_document(session: Session, person: Employee, *, document_id: int, author_id: int, process: str) -> None:
    """Let `person` read a document: its author, the roles the policy names, and everyone with a step on it
    (or standing in for someone who has one); NotPermitted (audited) otherwise."""
    if person.id == author_id or person.role in current().documents_seen_by:
        return
    owners = session.scalars(
        select(ApprovalTask.owner_id).where(
            ApprovalTask.process == process, ApprovalTask.subject_id == document_id
        )
    )
    represented = org.delegations_on(session, on=clock.today()).represented_by(person)
    if represented.isdisjoint(owners):
        refuse(
            person,
            _("{login} may not see document {document}").format(login=person.login, document=document_id),
            field="document",
        )


def refuse(person: Employee, message: str, *, field: str) -> NoReturn:
    """Refuse `person`: the entry point that catches it audits it (`record_refusal`) once the refused command's
    transaction has rolled back."""
    raise NotPermitted(message, field=field, actor=person.login)


def record_refusal(refused: NotPermitted) -> None:
    """Audit a refusal in a transaction of its own: who, when, what was refused and why."""
    with unit_of_work() as session:
        audit.record(
            session,
            at=clock.now(),
            actor=refused.actor or "unknown",
            action="access_refused",
            subject_type="employee",
            subject_id=0,
            detail={"reason": refused.message, "field": refused.field},
        )
