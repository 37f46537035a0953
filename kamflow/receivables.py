"""Accounts receivable ageing as of a date, per key account manager and per customer, in the buckets of the
review's dunning policy (`kamflow/review/dunning.yaml`: upper bounds inclusive, what is not yet due in no bucket) —
what `kamflow report ageing` shows and exports, and the nightly review publishes per KAM. Also whose customers a
person may read in a report: the access policy's, asked once per KAM."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from decimal import Decimal

from sqlalchemy import BigInteger, case, cast, func, select, union_all
from sqlalchemy.orm import Session

from kamflow import access, i18n, ledger
from kamflow.i18n import _
from kamflow.models import Customer, CustomerFigures, Employee, OpenItem
from kamflow.review.ageing import Bucket, days_overdue, shown
from kamflow.tabular import Column, Row, Table, Tabular
from kamflow.views import Part

ZERO = Decimal("0.00")


def kams_seen_by(session: Session, person: Employee, *, on: dt.date) -> list[int] | None:
    """The KAMs whose customers `person` may read in a report on `on`: None for everyone's (a role the access
    policy lets see every customer), else those they look after or stand in for (the policy asked once per KAM: a
    customer's right follows its KAM)."""
    if person.role in access.current().customers_seen_by:
        return None
    one_each = session.scalars(select(func.min(Customer.id)).group_by(Customer.kam_id)).all()
    return sorted(
        client.kam_id
        for client in session.scalars(select(Customer).where(Customer.id.in_(one_each)))
        if access.customer_right(session, person, client, on=on) is not None
    )


class AgeingLine(Part):
    """Open receivables of a customer, or the total of a KAM's customers or of everyone's, in one currency."""

    kam: str
    customer: str | None
    name: str
    currency: str
    not_due: Decimal
    buckets: list[Decimal]
    past_due: Decimal
    total: Decimal
    oldest_overdue_days: int | None

    def cells(self) -> tuple[str | int | Decimal | None, ...]:
        head = (self.kam, self.customer, self.name, self.currency, self.not_due)
        return (*head, *self.buckets, self.past_due, self.total, self.oldest_overdue_days)


class AgeingView(Tabular):
    """The ageing of receivables as of a date: each customer with something open under its KAM, each KAM's total
    and the grand total, per currency."""

    as_of: dt.date
    kam: str | None
    bucket_labels: list[str]
    customers: list[AgeingLine]
    kams: list[AgeingLine]
    totals: list[AgeingLine]

    def _columns(self) -> tuple[Column, ...]:
        return (
            Column(_("KAM")),
            Column(_("customer")),
            Column(_("name")),
            Column(_("currency")),
            Column(_("not due"), "money"),
            *(Column(shown(label), "money") for label in self.bucket_labels),
            Column(_("past due"), "money"),
            Column(_("total"), "money"),
            Column(_("oldest overdue (days)"), "count"),
        )

    def _lines(self) -> tuple[str, ...]:
        whose = _("customers of {kam}").format(kam=self.kam) if self.kam else _("every customer you may see")
        return (
            _(
                "as of {day}, {whose}; buckets in days past due (upper bound included); past due is not all "
                "overdue: overdue leaves out the grace days and invoices on hold or disputed"
            ).format(day=i18n.day(self.as_of), whose=whose),
        )

    def table(self) -> Table:
        rows: list[Row] = []
        for kam in self.kams:
            theirs = [c for c in self.customers if c.kam == kam.kam and c.currency == kam.currency]
            rows += [Row(c.cells()) for c in theirs]
            rows.append(Row(kam.cells(), total=True))
        rows += [Row(total.cells(), total=True) for total in self.totals]
        title = _("Receivables ageing as of {day}").format(day=i18n.day(self.as_of))
        return Table(title, self._lines(), self._columns(), tuple(rows))

    def per_kam(self) -> Table:
        """Each KAM's total only (the nightly review's artifact)."""
        rows = (
            *(Row(line.cells()) for line in self.kams),
            *(Row(line.cells(), total=True) for line in self.totals),
        )
        title = _("Receivables ageing per KAM as of {day}").format(day=i18n.day(self.as_of))
        return Table(title, self._lines(), self._columns(), rows)


def ageing(
    session: Session, *, as_of: dt.date, buckets: Sequence[Bucket], kams: Collection[int] | None, kam: str | None
) -> AgeingView:
    """Open receivables as of `as_of` of the customers of `kams` (None: everyone's), bucketed by days overdue;
    `kam` names the one KAM asked for, if any. Reads one row per customer and due date with something open."""
    customers = select(Customer.id)
    if kams is not None:
        customers = customers.where(Customer.kam_id.in_(kams))
    balances = ledger.invoice_balances(as_of, open_only=True, customer_ids=customers).subquery()
    per_due = session.execute(
        select(balances.c.customer_id, balances.c.due_date, ledger.money_sum(balances.c.open_amount)).group_by(
            balances.c.customer_id, balances.c.due_date
        )
    ).all()
    owed: dict[int, list[tuple[dt.date, Decimal]]] = {}
    for customer_id, due, amount in per_due:
        owed.setdefault(customer_id, []).append((due, Decimal(amount)))
    clients = session.execute(
        select(Customer.id, Customer.code, Customer.name, Customer.currency, Employee.login)
        .join(Employee, Employee.id == Customer.kam_id)
        .where(Customer.id.in_(customers))
        .order_by(Employee.login, Customer.code)
    ).all()
    lines = [
        _customer_line(as_of, buckets, kam=login, code=code, name=name, currency=currency, owed=owed[customer_id])
        for customer_id, code, name, currency, login in clients
        if customer_id in owed
    ]
    groups: dict[tuple[str, str], list[AgeingLine]] = {}
    for line in lines:
        groups.setdefault((line.kam, line.currency), []).append(line)
    kam_lines = [
        _sum(_("total of {kam}").format(kam=login), login, currency, group)
        for (login, currency), group in groups.items()
    ]
    totals = _totals(lines)
    return AgeingView(
        as_of=as_of,
        kam=kam,
        bucket_labels=[bucket.label for bucket in buckets],
        customers=lines,
        kams=kam_lines,
        totals=totals,
    )


def ageing_per_kam(session: Session, *, as_of: dt.date, buckets: Sequence[Bucket]) -> AgeingView:
    """`ageing` of everyone's customers less its customers' lines: each KAM's total and the grand total (the
    nightly review's artifact, `AgeingView.per_kam`), added up in cents in the database from the ledger's running
    figures' open items where they are the ledger's as of `as_of` (nothing dated after it, `kamflow.figures`), from
    the ledger itself for the other customers: a few rows read, whatever the number of customers."""
    fresh = select(OpenItem.customer_id, OpenItem.due_date, OpenItem.open_amount).join(
        CustomerFigures, CustomerFigures.customer_id == OpenItem.customer_id
    )
    later = select(CustomerFigures.customer_id).where(CustomerFigures.latest > as_of)
    balances = ledger.invoice_balances(as_of, open_only=True, customer_ids=later).subquery()
    owed = union_all(
        fresh.where(CustomerFigures.latest <= as_of),
        select(balances.c.customer_id, balances.c.due_date, balances.c.open_amount),
    ).subquery()
    due, cents = owed.c.due_date, cast(func.round(owed.c.open_amount * 100), BigInteger)
    windows = [bucket.due_window(as_of) for bucket in buckets]
    in_bucket = [
        due <= latest if earliest is None else due.between(earliest, latest) for earliest, latest in windows
    ]
    rows = session.execute(
        select(
            Employee.login,
            Customer.currency,
            func.sum(case((due >= as_of, cents), else_=0)),
            *(func.sum(case((window, cents), else_=0)) for window in in_bucket),
            func.min(case((due < as_of, due))),
        )
        .select_from(owed)
        .join(Customer, Customer.id == owed.c.customer_id)
        .join(Employee, Employee.id == Customer.kam_id)
        .group_by(Employee.login, Customer.currency)
        .order_by(Employee.login, func.min(Customer.code))  # as `ageing` meets them
    ).all()
    kam_lines = []
    for login, currency, not_due, *amounts, oldest in rows:
        in_cents = [Decimal(int(amount)).scaleb(-2) for amount in (not_due, *amounts)]
        past_due = sum(in_cents[1:], ZERO)
        kam_lines.append(
            AgeingLine(
                kam=login,
                customer=None,
                name=_("total of {kam}").format(kam=login),
                currency=currency,
                not_due=in_cents[0],
                buckets=in_cents[1:],
                past_due=past_due,
                total=in_cents[0] + past_due,
                oldest_overdue_days=None if oldest is None else days_overdue(as_of, oldest),
            )
        )
    totals = _totals(kam_lines)
    return AgeingView(
        as_of=as_of,
        kam=None,
        bucket_labels=[bucket.label for bucket in buckets],
        customers=[],
        kams=kam_lines,
        totals=totals,
    )


def _customer_line(
    as_of: dt.date,
    buckets: Sequence[Bucket],
    *,
    kam: str,
    code: str,
    name: str,
    currency: str,
    owed: list[tuple[dt.date, Decimal]],
) -> AgeingLine:
    not_due, amounts, oldest = ZERO, [ZERO] * len(buckets), None
    for due, amount in owed:
        days = days_overdue(as_of, due)
        if days < 1:
            not_due += amount
            continue
        oldest = max(oldest or 0, days)
        index = next(i for i, b in enumerate(buckets) if b.high is None or days <= b.high)
        amounts[index] += amount
    past_due = sum(amounts, ZERO)
    return AgeingLine(
        kam=kam,
        customer=code,
        name=name,
        currency=currency,
        not_due=not_due,
        buckets=amounts,
        past_due=past_due,
        total=not_due + past_due,
        oldest_overdue_days=oldest,
    )


def _totals(lines: list[AgeingLine]) -> list[AgeingLine]:
    """One total line per currency of `lines`."""
    return [
        _sum(_("total"), "", currency, [line for line in lines if line.currency == currency])
        for currency in sorted({line.currency for line in lines})
    ]


def _sum(name: str, kam: str, currency: str, lines: list[AgeingLine]) -> AgeingLine:
    return AgeingLine(
        kam=kam,
        customer=None,
        name=name,
        currency=currency,
        not_due=sum((line.not_due for line in lines), ZERO),
        buckets=[sum(amounts, ZERO) for amounts in zip(*(line.buckets for line in lines), strict=True)],
        past_due=sum((line.past_due for line in lines), ZERO),
        total=sum((line.total for line in lines), ZERO),
        oldest_overdue_days=max((line.oldest_overdue_days or 0 for line in lines), default=0) or None,
    )
