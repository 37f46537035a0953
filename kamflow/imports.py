"""`kamflow import KIND FILE.csv`: customers, invoices, instalments, payments, credit notes, orders and financial
statements.

The file: UTF-8 (a byte-order mark is fine), at most `max_csv_bytes` (a setting), comma-separated, quoted as
spreadsheets quote, a header line naming the columns in any order, each once (optional ones, marked *, may be
left out or left empty). Amounts use a
dot for decimals, at most two places, no thousands separators; dates are YYYY-MM-DD; yes/no columns take
true/false.

Columns (* optional):

- customers: code (C0001…), name, customer_class (A, B or C), company_type (private,
  public_manufacturer or non_manufacturer), kam (a login), credit_limit, currency, payment_terms_days,
  open_orders_limit*, open_invoices_limit*, overdue_limit*. For every limit an empty cell (or a left-out
  optional column) is **no limit set**, which is not checked; 0 is no credit (for overdue_limit: no overdue
  tolerated). The credit_limit column must be there, but its cell may be empty.
- invoices: number, customer, issue_date, due_date, amount, currency*, order* (its order's number),
  disputed*
- instalments: invoice (its number), due_date, amount — an invoice's payment schedule, one row per instalment;
  an invoice's rows sum to its amount, and an invoice has one schedule. What already settled the invoice is
  allocated to its instalments, oldest due first.
- payments: invoice* (its number), customer*, instalment* (its place in the invoice's schedule, from 1), paid_on,
  amount — name the invoice (and the instalment, if it pays one), or only the customer: the payment then settles
  the oldest open instalments and invoices of the customer first (by due date), and is written as one payment per
  invoice it settles.
- credit_notes: number, invoice, issued_on, amount, reason (returned, refused, damaged or price_dispute),
  instalment* — a credit note settles its invoice (or the instalment it names, else the oldest open first) as a
  payment does.
- orders: number, customer, order_date, amount, currency*, status* (open or invoiced; default open)
- statements: customer, period_end, current_assets, current_liabilities, inventory, total_assets,
  total_liabilities, equity, retained_earnings, ebit, sales, market_value_equity*

The org chart (employees) is imported the same way by kamflow.people.directory.

Every row is checked on its own (types, signs, ranges) and against the database and the rest of the file:
unknown customers, invoices or orders, numbers already taken, a currency other than the customer's,
payments beyond what is open on the invoice. A file with any bad row imports nothing; the error lists
every bad row with its line and field. A good file is written in one transaction. Imported orders are
the existing order book: they count in exposure as they are, without an order credit check.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from kamflow import allocations, audit, clock, figures, i18n
from kamflow.bounds import Code, Line
from kamflow.credit import orders
from kamflow.credit.tables import CreditTerms, FinancialStatement, OrderCreditCheck
from kamflow.db import insert_many
from kamflow.errors import InvalidInput
from kamflow.i18n import _
from kamflow.models import CreditNote, CreditNoteReason, Customer, Employee, Instalment, Invoice, Order
from kamflow.settings import get_settings
from kamflow.types import CustomerCode, Day, Login, NonNegative, Positive, Signed

InvoiceNumber = Annotated[str, Line(Invoice.number)]
OrderNumber = Annotated[str, Line(Order.number)]
Currency = Annotated[str, Code(Customer.currency, "[A-Z]{3}", example="EUR")]
Money = NonNegative
LOOKUP_CHUNK = 500


class CsvRow(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CustomerRow(CsvRow):
    code: CustomerCode
    name: Annotated[str, Line(Customer.name)]
    customer_class: Literal["A", "B", "C"]
    company_type: Literal["private", "public_manufacturer", "non_manufacturer"]
    kam: Login
    credit_limit: Money | None  # a required column whose empty cell is no limit set
    currency: Currency
    payment_terms_days: int = Field(ge=0, le=365)
    open_orders_limit: Money | None = None
    open_invoices_limit: Money | None = None
    overdue_limit: Money | None = None


class InvoiceRow(CsvRow):
    number: InvoiceNumber
    customer: CustomerCode
    issue_date: Day
    due_date: Day
    amount: Positive
    currency: Currency | None = None
    order: OrderNumber | None = None
    disputed: bool = False

    @model_validator(mode="after")
    def _due_after_issue(self) -> InvoiceRow:
        if self.due_date < self.issue_date:
            raise ValueError("due_date: before the issue date")
        return self


class PaymentRow(CsvRow):
    invoice: InvoiceNumber | None = None
    customer: CustomerCode | None = None
    instalment: int | None = Field(default=None, ge=1, le=999)
    paid_on: Day
    amount: Positive

    @model_validator(mode="after")
    def _names_what_it_pays(self) -> PaymentRow:
        if self.invoice is None and self.customer is None:
            raise ValueError("invoice: name the invoice, or the customer whose oldest open invoices it pays")
        if self.instalment is not None and self.invoice is None:
            raise ValueError("instalment: an instalment is of an invoice; name the invoice too")
        return self


class InstalmentRow(CsvRow):
    invoice: InvoiceNumber
    due_date: Day
    amount: Positive


class CreditNoteRow(CsvRow):
    number: Annotated[str, Line(CreditNote.number)]
    invoice: InvoiceNumber
    issued_on: Day
    amount: Positive
    reason: CreditNoteReason
    instalment: int | None = Field(default=None, ge=1, le=999)


class OrderRow(CsvRow):
    number: OrderNumber
    customer: CustomerCode
    order_date: Day
    amount: Positive
    currency: Currency | None = None
    status: Literal["open", "invoiced"] = "open"


class StatementRow(CsvRow):
    customer: CustomerCode
    period_end: Day
    current_assets: Money
    current_liabilities: Positive
    inventory: Money
    total_assets: Positive
    total_liabilities: Positive
    equity: Signed
    retained_earnings: Signed
    ebit: Signed
    sales: Money
    market_value_equity: Money | None = None

    @model_validator(mode="after")
    def _parts_within_wholes(self) -> StatementRow:
        if self.inventory > self.current_assets:
            raise ValueError("inventory: above the current assets")
        if self.current_assets > self.total_assets:
            raise ValueError("current_assets: above the total assets")
        return self


ROWS: dict[str, type[CsvRow]] = {
    "customers": CustomerRow,
    "invoices": InvoiceRow,
    "instalments": InstalmentRow,
    "payments": PaymentRow,
    "credit_notes": CreditNoteRow,
    "orders": OrderRow,
    "statements": StatementRow,
}
KINDS = tuple(ROWS)
LOWERING = {"payments", "credit_notes"}
"""Kinds that lower what customers owe: their blocked orders are checked again."""
WHOLE = {"instalments"}
"""Kinds checked as a whole file: an invoice's instalments are checked together (they sum to it)."""
R = TypeVar("R", bound=CsvRow)


@dataclass(frozen=True)
class Problem:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return _("line {line}, {field}: {message}").format(line=self.line, field=self.field, message=self.message)


class ImportRejected(InvalidInput):
    """A file with bad rows: every problem, with its line and field; nothing was written."""

    def __init__(self, path: Path, problems: Sequence[Problem]) -> None:
        lines = len({p.line for p in problems})
        listing = "\n".join(f"  {p}" for p in problems)
        said = _("{file}: {count} bad line(s), nothing imported").format(file=path.name, count=i18n.number(lines))
        super().__init__(f"{said}\n{listing}", field=problems[0].field)
        self.problems = list(problems)

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "problems": [vars(p) for p in self.problems]}


@dataclass
class Batch:
    """The rows of a file as they pass the checks, and the problems found so far."""

    problems: list[Problem] = field(default_factory=list)
    bad: set[int] = field(default_factory=set)
    """The lines with a problem."""

    def problem(self, line: int, field_name: str, message: str) -> None:
        self.problems.append(Problem(line, field_name, message))
        self.bad.add(line)

    def good(self, rows: Sequence[tuple[int, R]]) -> list[tuple[int, R]]:
        """The rows of lines without a problem (written even when others have one: a file is read in chunks,
        and the rows written are what later chunks are checked against; a file with any problem is rolled
        back whole)."""
        return [(line, row) for line, row in rows if line not in self.bad]


def _records(
    path: Path, reader: csv.DictReader[str], batch: Batch
) -> Iterator[tuple[int, dict[str | Any, str | Any]]]:
    """The file's records with their line numbers; a line the csv module cannot read (a field longer than its
    limit of 131,072 characters, far above any column's) is a problem of that line and ends the reading, and a
    file that is not UTF-8 is refused."""
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            batch.problem(reader.line_num, "row", str(error))
            return
        except UnicodeDecodeError as error:
            said = _("{path} is not UTF-8: {reason} after line {line}")
            raise InvalidInput(
                said.format(path=path, reason=error.reason, line=reader.line_num), field="file"
            ) from None
        yield reader.line_num, record


Read = Callable[[int, int], None]
"""Told how far reading has come: the file's lines read after the header, and how many there are (one a row,
unless a quoted cell spans lines)."""
READ_EVERY = 1000


CHUNK = 5000
"""Rows checked and written at a time: memory stays flat whatever the file's length."""
BLOCK = 1 << 20


def _lines_in(path: Path, limit: int) -> int:
    """The file's lines, counted through one bounded pass of blocks (whatever the file is: InvalidInput naming
    the file and the limit if it holds more than `limit` bytes, or if it cannot be read)."""
    size = lines = 0
    last = b"\n"
    try:
        with path.open("rb") as handle:
            while block := handle.read(BLOCK):
                size += len(block)
                if size > limit:
                    raise InvalidInput(
                        _("the CSV file {path} is larger than the limit of {limit} bytes").format(
                            path=path, limit=i18n.number(limit)
                        ),
                        field="file",
                    )
                lines += block.count(b"\n")
                last = block[-1:]
    except OSError as error:
        said = _("cannot read the CSV file: {path}: {error}").format(path=path, error=error.strerror or error)
        raise InvalidInput(said, field="file") from None
    return lines + (last != b"\n")


def read_chunks(
    path: Path, model: type[R], batch: Batch, read: Read = lambda _rows, _lines: None, *, size: int | None = CHUNK
) -> Iterator[list[tuple[int, R]]]:
    """Parse and validate the file's rows as they are read, yielding them `size` at a time (None: all at once)
    and telling `read` every `READ_EVERY` rows and at the end; problems go into the batch. The file is bounded
    (the `max_csv_bytes` setting) and UTF-8 (a byte-order mark is fine); a field longer than the csv module's limit
    is a problem of its line."""
    total = _lines_in(path, get_settings().max_csv_bytes) - 1
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        try:
            header = reader.fieldnames or []
        except csv.Error as error:
            said = _("{file}: line 1: {error}").format(file=path.name, error=error)
            raise InvalidInput(said, field="header") from None
        except UnicodeDecodeError as error:
            said = _("{path} is not UTF-8: {reason} on line 1").format(path=path, reason=error.reason)
            raise InvalidInput(said, field="file") from None
        names = model.model_fields
        required = [name for name, info in names.items() if info.is_required()]
        blank_is_none = {name for name in required if type(None) in get_args(names[name].annotation)}
        for place, column in enumerate(header):
            if column not in names:
                said = _("unknown column; the columns are {columns}").format(columns=", ".join(names))
                batch.problem(1, column[:40] or "header", said)
            elif column in header[:place]:
                batch.problem(1, column, _("repeated column"))
        for column in required:
            if column not in header:
                batch.problem(1, column, _("required column missing"))
        if batch.problems:
            return
        chunk: list[tuple[int, R]] = []
        count = 0
        for count, (line, record) in enumerate(_records(path, reader, batch), start=1):
            if count % READ_EVERY == 0:
                read(line - 1, total)
            if None in record:
                batch.problem(line, "row", _("more cells than columns in the header"))
                continue
            values: dict[str, str | None] = {
                name: value for name, value in record.items() if value is not None and value.strip() != ""
            }
            values |= {name: None for name in blank_is_none if name not in values}
            try:
                chunk.append((line, model.model_validate(values)))
            except ValidationError as error:
                for issue in error.errors():
                    where = ".".join(str(part) for part in issue["loc"])
                    message = str(issue["msg"]).removeprefix("Value error, ")
                    if not where and ": " in message:
                        where, message = message.split(": ", 1)
                    batch.problem(line, where or "row", message)
            if size is not None and len(chunk) == size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk
        read(reader.line_num - 1, total)
        if count == 0 and not batch.problems:
            batch.problem(1, "file", _("no rows to import"))


def read_rows(
    path: Path, model: type[R], batch: Batch, read: Read = lambda _rows, _lines: None
) -> list[tuple[int, R]]:
    """Every good row of a file at once (`read_chunks`), for files read whole."""
    return [row for chunk in read_chunks(path, model, batch, read, size=None) for row in chunk]


def lookup(session: Session, column: InstrumentedAttribute[Any], keys: Iterable[Any]) -> dict[Any, Any]:
    """The rows whose `column` is one of `keys`, by key (in chunks, so any number of keys works)."""
    wanted = sorted(set(keys))
    found: dict[Any, Any] = {}
    model = column.class_
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        for row in session.scalars(select(model).where(column.in_(wanted[start : start + LOOKUP_CHUNK]))):
            found[getattr(row, column.key)] = row
    return found


def unique(
    batch: Batch, rows: Sequence[tuple[int, Any]], key: Callable[[Any], Any], taken: set[Any], what: str
) -> None:
    """Report rows whose key is taken in the database or repeats an earlier row of the file."""
    first: dict[Any, int] = {}
    for line, row in rows:
        value = key(row)
        if value in taken:
            batch.problem(line, what, _("{value} already exists").format(value=value))
        elif value in first:
            batch.problem(line, what, _("{value} repeats line {line}").format(value=value, line=first[value]))
        else:
            first[value] = line


def _new_numbers(
    session: Session, batch: Batch, rows: Sequence[tuple[int, Any]], column: InstrumentedAttribute[str]
) -> None:
    """Report rows whose `number` is taken in the database or repeats an earlier row."""
    taken = set(lookup(session, column, (row.number for _, row in rows)))
    unique(batch, rows, lambda row: row.number, taken, "number")


def _customers_of(session: Session, batch: Batch, rows: Sequence[tuple[int, Any]]) -> dict[str, Customer]:
    """The customers the rows name; each unknown one is a problem of its row."""
    customers = lookup(session, Customer.code, (row.customer for _, row in rows))
    for line, row in rows:
        client = customers.get(row.customer)
        if client is None:
            batch.problem(line, "customer", _("no customer {code}").format(code=row.customer))
        elif getattr(row, "currency", None) not in (None, client.currency):
            said = _("{currency} is not the customer's currency {expected}")
            batch.problem(line, "currency", said.format(currency=row.currency, expected=client.currency))
    return customers


def _issued_before(invoice: Invoice) -> str:
    return _("before the invoice's issue date {day}").format(day=i18n.day(invoice.issue_date))


def _insert(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    """Insert the rows in one executemany (`kamflow.db.insert_many`, nothing when there are none)."""
    if rows:
        insert_many(session.connection(), model, rows)


def _import_customers(session: Session, batch: Batch, rows: Sequence[tuple[int, CustomerRow]]) -> None:
    taken = set(lookup(session, Customer.code, (row.code for _, row in rows)))
    unique(batch, rows, lambda row: row.code, taken, "code")
    kams = lookup(session, Employee.login, (row.kam for _, row in rows))
    for line, row in rows:
        if row.kam not in kams or not kams[row.kam].active:
            batch.problem(line, "kam", _("no active employee {login}").format(login=repr(row.kam)))
    rows = batch.good(rows)
    limits = ("open_orders_limit", "open_invoices_limit", "overdue_limit")
    terms = []
    for _line, row in rows:
        client = Customer(
            code=row.code,
            name=row.name,
            customer_class=row.customer_class,
            company_type=row.company_type,
            kam_id=kams[row.kam].id,
            credit_limit=row.credit_limit,
            currency=row.currency,
            payment_terms_days=row.payment_terms_days,
            active=True,
        )
        session.add(client)
        if any(getattr(row, name) is not None for name in limits):
            terms.append((client, row))
    session.flush()
    now = clock.now()
    session.add_all(
        CreditTerms(customer_id=client.id, updated_at=now, **{name: getattr(row, name) for name in limits})
        for client, row in terms
    )


def _import_invoices(session: Session, batch: Batch, rows: Sequence[tuple[int, InvoiceRow]]) -> set[int]:
    customers = _customers_of(session, batch, rows)
    _new_numbers(session, batch, rows, Invoice.number)
    orders = lookup(session, Order.number, (row.order for _, row in rows if row.order))
    for line, row in rows:
        order = orders.get(row.order) if row.order else None
        if row.order and order is None:
            batch.problem(line, "order", _("no order {number}").format(number=row.order))
        elif order is not None and row.customer in customers and order.customer_id != customers[row.customer].id:
            batch.problem(line, "order", _("order {number} is another customer's").format(number=row.order))
    rows = batch.good(rows)
    _insert(
        session,
        Invoice,
        [
            {
                "number": row.number,
                "customer_id": customers[row.customer].id,
                "order_id": orders[row.order].id if row.order else None,
                "issue_date": row.issue_date,
                "due_date": row.due_date,
                "amount": row.amount,
                "currency": customers[row.customer].currency,
                "disputed": row.disputed,
            }
            for _, row in rows
        ],
    )
    return {customers[row.customer].id for _, row in rows}


def _import_instalments(session: Session, batch: Batch, rows: Sequence[tuple[int, InstalmentRow]]) -> set[int]:
    invoices = lookup(session, Invoice.number, (row.invoice for _, row in rows))
    scheduled = set(
        session.scalars(
            select(Instalment.invoice_id).where(Instalment.invoice_id.in_([i.id for i in invoices.values()]))
        )
    )
    schedules: defaultdict[str, list[tuple[int, InstalmentRow]]] = defaultdict(list)
    for line, row in rows:
        invoice = invoices.get(row.invoice)
        if invoice is None:
            batch.problem(line, "invoice", _("no invoice {number}").format(number=row.invoice))
        elif invoice.id in scheduled:
            said = _("invoice {number} already has instalments").format(number=row.invoice)
            batch.problem(line, "invoice", said)
        elif row.due_date < invoice.issue_date:
            batch.problem(line, "due_date", _issued_before(invoice))
        else:
            schedules[row.invoice].append((line, row))
    for number, lines in schedules.items():
        unique(batch, lines, lambda row: row.due_date, set(), "due_date")
        total = sum((row.amount for _, row in lines), Decimal("0.00"))
        if total != invoices[number].amount:
            batch.problem(
                lines[-1][0],
                "amount",
                _("the instalments of invoice {number} sum to {total}, not to its amount {amount}").format(
                    number=number, total=total, amount=invoices[number].amount
                ),
            )
    if batch.problems:
        return set()
    allocations.schedule(
        session,
        {
            invoices[number]: sorted((row.due_date, row.amount) for _, row in lines)
            for number, lines in schedules.items()
        },
    )
    return {invoices[number].customer_id for number in schedules}


def _import_payments(session: Session, batch: Batch, rows: Sequence[tuple[int, PaymentRow]]) -> set[int]:
    invoices = lookup(session, Invoice.number, (row.invoice for _, row in rows if row.invoice))
    customers = lookup(session, Customer.code, (row.customer for _, row in rows if row.customer))
    book = allocations.Book(
        session, {invoice.customer_id for invoice in invoices.values()} | {c.id for c in customers.values()}
    )
    payments: list[tuple[dt.date, allocations.Settled]] = []
    for line, row in rows:
        invoice = invoices.get(row.invoice)
        client = customers.get(row.customer)
        if row.invoice and invoice is None:
            batch.problem(line, "invoice", _("no invoice {number}").format(number=row.invoice))
        elif row.customer and client is None:
            batch.problem(line, "customer", _("no customer {code}").format(code=row.customer))
        elif invoice is not None and client is not None and invoice.customer_id != client.id:
            batch.problem(line, "invoice", _("invoice {number} is another customer's").format(number=row.invoice))
        elif invoice is not None and row.paid_on < invoice.issue_date:
            batch.problem(line, "paid_on", _issued_before(invoice))
        else:
            try:
                if invoice is not None:
                    payments.append(
                        (row.paid_on, book.settle_invoice(invoice, row.amount, instalment=row.instalment))
                    )
                elif client is not None:
                    payments.append((row.paid_on, book.settle_customer(client, row.amount, on=row.paid_on)))
            except InvalidInput as refused:
                batch.problem(line, refused.field or "amount", refused.message)
    allocations.write_payments(session, payments)
    return {part.customer_id for _, settled in payments for part, _ in settled}


def _import_credit_notes(session: Session, batch: Batch, rows: Sequence[tuple[int, CreditNoteRow]]) -> set[int]:
    _new_numbers(session, batch, rows, CreditNote.number)
    invoices = lookup(session, Invoice.number, (row.invoice for _, row in rows))
    book = allocations.Book(session, {invoice.customer_id for invoice in invoices.values()})
    notes: list[tuple[dict[str, Any], allocations.Settled]] = []
    for line, row in rows:
        invoice = invoices.get(row.invoice)
        if invoice is None:
            batch.problem(line, "invoice", _("no invoice {number}").format(number=row.invoice))
        elif row.issued_on < invoice.issue_date:
            batch.problem(line, "issued_on", _issued_before(invoice))
        else:
            try:
                settled = book.settle_invoice(invoice, row.amount, instalment=row.instalment)
            except InvalidInput as refused:
                batch.problem(line, refused.field or "amount", refused.message)
                continue
            note = row.model_dump(include={"number", "issued_on", "amount", "reason"})
            if line not in batch.bad:  # its number may be taken
                notes.append(({**note, "invoice_id": invoice.id}, settled))
    allocations.write_credit_notes(session, notes)
    return {invoices[row.invoice].customer_id for _, row in batch.good(rows)}


def _import_orders(session: Session, batch: Batch, rows: Sequence[tuple[int, OrderRow]]) -> set[int]:
    customers = _customers_of(session, batch, rows)
    _new_numbers(session, batch, rows, Order.number)
    rows = batch.good(rows)
    _insert(
        session,
        Order,
        [
            {
                "number": row.number,
                "customer_id": customers[row.customer].id,
                "order_date": row.order_date,
                "amount": row.amount,
                "currency": customers[row.customer].currency,
                "status": row.status,
                "prepaid": Decimal("0.00"),
            }
            for _, row in rows
        ],
    )
    return {customers[row.customer].id for _, row in rows}


def _import_statements(session: Session, batch: Batch, rows: Sequence[tuple[int, StatementRow]]) -> None:
    customers = _customers_of(session, batch, rows)
    ids = [client.id for client in customers.values()]
    taken = {
        (code, period)
        for code, period in session.execute(
            select(Customer.code, FinancialStatement.period_end)
            .join(Customer, Customer.id == FinancialStatement.customer_id)
            .where(FinancialStatement.customer_id.in_(ids))
        )
    }
    unique(batch, rows, lambda row: (row.customer, row.period_end), taken, "period_end")
    rows = batch.good(rows)
    _insert(
        session,
        FinancialStatement,
        [
            {
                "customer_id": customers[row.customer].id,
                "currency": customers[row.customer].currency,
                **row.model_dump(exclude={"customer"}),
            }
            for _, row in rows
        ],
    )


WRITERS: dict[str, Callable[[Session, Batch, Any], set[int] | None]] = {
    # each checks the valid rows against the database and writes them if all is well; those that write to the
    # ledger return the customers whose ledger they changed, for their running figures (`kamflow.figures`)
    "customers": _import_customers,
    "invoices": _import_invoices,
    "instalments": _import_instalments,
    "payments": _import_payments,
    "credit_notes": _import_credit_notes,
    "orders": _import_orders,
    "statements": _import_statements,
}


def reject_if_bad(session: Session, path: Path, batch: Batch) -> None:
    """ImportRejected, with every problem by line and nothing written, if the batch has any; else flush."""
    if batch.problems:
        session.rollback()
        raise ImportRejected(path, sorted(batch.problems, key=lambda p: p.line))
    session.flush()


def import_file(
    session: Session, kind: str, path: Path, *, actor: str, read: Read = lambda _rows, _lines: None
) -> dict[str, Any]:
    """Check and write the file's rows a chunk at a time, in one transaction (telling `read` how far reading has
    come), with the running figures of the customers whose ledger changed (`kamflow.figures`); ImportRejected, and
    everything rolled back, if any row is bad. An import that lands is audited as one
    event (who, the kind, the file's name, size and sha256, the rows). The caller's unit of work commits."""
    if kind not in ROWS:
        said = _("unknown kind {kind}; one of {kinds}").format(kind=repr(kind), kinds=", ".join(KINDS))
        raise InvalidInput(said, field="kind")
    batch = Batch()
    imported, changed = 0, set[int]()
    size = None if kind in WHOLE else CHUNK
    for rows in read_chunks(path, ROWS[kind], batch, read, size=size):
        changed |= WRITERS[kind](session, batch, rows) or set()
        imported += len(rows)
    reject_if_bad(session, path, batch)
    figures.refresh(session, changed)
    released = _recheck(session, changed if kind in LOWERING else set())
    audit.record(
        session,
        at=clock.now(),
        actor=actor,
        action="file_imported",
        subject_type=f"{kind}_import",
        subject_id=0,  # a file, not a row: what it was is in the detail
        detail={
            "kind": kind,
            "file": path.name,
            "bytes": path.stat().st_size,
            "sha256": _digest(path),
            "rows": imported,
        },
    )
    return {
        "kind": kind,
        "file": str(path),
        "imported": imported,
        "released_orders": [check.order.number for check in released],
        "released_checks": [check.id for check in released],
    }


def _digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _recheck(session: Session, customer_ids: set[int]) -> list[OrderCreditCheck]:
    """Re-check the blocked orders of the customers who owe less now (`kamflow.credit.orders.recheck_blocked`);
    the orders released."""
    blocked = session.scalars(
        select(OrderCreditCheck.customer_id)
        .where(OrderCreditCheck.status == "blocked", OrderCreditCheck.customer_id.in_(sorted(customer_ids)))
        .distinct()
    ).all()
    now = clock.now()
    return [
        check
        for customer_id in sorted(blocked)
        for check in orders.recheck_blocked(session, customer_id=customer_id, now=now)
    ]
