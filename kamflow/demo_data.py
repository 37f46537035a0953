"""The deterministic demo company: org chart, customers, price list, promotions and 18 months of ledger.

`generate(engine, customers=..., seed=..., today=...)` fills an EMPTY kamflow schema. The same
(customers, seed, today) always gives the same rows: one `random.Random(seed)`, no clock, every amount
computed in integer cents and stored as a two-place `Decimal`.

Facts the tests and the demo rely on (keep them):

* Logins, fixed whatever the seed: `director`, `commercial`, `head.north`, `head.south`, `kam.north1`,
  `kam.north2`, `kam.south1`, `kam.south2`, `support`, `legal`, `hr`, `planning`, `credit`.
  Reporting line KAM -> department head -> commercial director -> company director. `hr` is also an admin
  (keeps the org chart and the accounts). Nobody has a password: `give_demo_passwords` (run by
  `kamflow init --demo`, which prints it) gives everyone DEMO_PASSWORD.
* Customers are owned round-robin: C0001 kam.north1, C0002 kam.north2, C0003 kam.south1, C0004 kam.south2, ...
* C0001 is a healthy class-A key account: 60-day terms, every invoice paid 0-5 days before its due date
  (so the latest ones are open but not yet due), none disputed, and a credit limit of at least twice its
  open receivables plus open orders.
* C0002 is a class-A key account with overdue receivables: an undisputed invoice left unpaid more than
  30 days past its due date at `today`.
* Every customer has a total limit and tolerates no overdue (credit terms with an overdue limit of 0); no
  sub-limit is set.
* Classes are ABC by cumulative share of revenue: A up to 75 %, B up to 90 %, C the rest.
* Price list "Base 2026" (EUR), columns 1..5, a discount norm for every column x class.
* Promotions: WINTER (class B, +3 %, from today-30 to today+30, active) and AUTUMN (all classes, +2 %,
  ended today-60).
* Financial statements for the two last year ends before `today`, from their own random stream (so the
  ledger does not change with them), shaped to an Altman zone: C0001 safe, C0002 distress, the others by
  payment behaviour; a fifth of the class-C customers have none.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, Table, insert, select, text
from sqlalchemy.orm import Session

from kamflow import figures
from kamflow.credit import facts
from kamflow.credit.tables import CreditTerms, FinancialStatement
from kamflow.discounts.tables import DiscountNorm, PriceColumn, Promotion
from kamflow.i18n import N_, _
from kamflow.models import Customer, Employee, Invoice, Order, Payment, PriceList
from kamflow.people import passwords

CURRENCY = "EUR"
CHUNK = 10_000  # rows per executemany
WINDOW_DAYS = 548  # 18 months of ledger before `today`
MEDIAN_ANNUAL_CENTS = 30_000_00
SIGMA = 1.8  # log-normal spread: ~13 % of customers carry 75 % of revenue, whatever their number
MAX_FACTOR = 1_500.0  # the largest customer buys at most 1500 x the median

# login, full name, position, department, role, manager login (managers listed before their reports); positions
# and departments are the org chart's own words (chains and document fields name them), shown through the catalog
EMPLOYEES: tuple[tuple[str, str, str, str, str, str | None], ...] = (
    ("director", "Martínez Ruiz, Carmen", N_("Company Director"), N_("Management"), "director", None),
    (
        "commercial",
        "Fernández Gil, Javier",
        N_("Commercial Director"),
        N_("Commercial"),
        "commercial_director",
        "director",
    ),
    (
        "head.north",
        "López Navarro, Elena",
        N_("Head of Sales North"),
        N_("Sales North"),
        "department_head",
        "commercial",
    ),
    (
        "head.south",
        "Sánchez Romero, Miguel Ángel",
        N_("Head of Sales South"),
        N_("Sales South"),
        "department_head",
        "commercial",
    ),
    ("kam.north1", "García López, Ana María", N_("Key Account Manager"), N_("Sales North"), "kam", "head.north"),
    ("kam.north2", "Moreno Castro, Pablo", N_("Key Account Manager"), N_("Sales North"), "kam", "head.north"),
    ("kam.south1", "Jiménez Ortega, Lucía", N_("Key Account Manager"), N_("Sales South"), "kam", "head.south"),
    ("kam.south2", "Ruiz Delgado, José Luis", N_("Key Account Manager"), N_("Sales South"), "kam", "head.south"),
    (
        "support",
        "Díaz Herrera, Marta",
        N_("Sales Support Specialist"),
        N_("Sales Support"),
        "sales_support",
        "head.north",
    ),
    ("legal", "Álvarez Molina, Fernando", N_("Legal Counsel"), N_("Legal"), "legal", "director"),
    ("hr", "Romero Vega, Isabel", N_("HR Manager"), N_("Human Resources"), "hr", "director"),
    (
        "planning",
        "Torres Medina, Raúl",
        N_("Economic Planning Manager"),
        N_("Economic Planning"),
        "economic_planning",
        "director",
    ),
    (
        "credit",
        "Navarro Ramos, Cristina",
        N_("Credit Controller"),
        N_("Credit Control"),
        "credit_controller",
        "commercial",
    ),
)
KAMS = ("kam.north1", "kam.north2", "kam.south1", "kam.south2")
ADMINS = ("hr",)
DEMO_PASSWORD = "kamflow-demo"
"""Every demo login's password once `give_demo_passwords` ran: the demo company's only, never a real person's."""

PRICE_LIST = "Base 2026"
COLUMNS = (N_("list price"), N_("wholesale"), N_("distributor"), N_("volume"), N_("key account"))
"""The price columns' names, written in the language the demo company is built in (as its promotions')."""
# max discount % per column (1..5) for classes A, B, C
NORMS = ((5, 3, 0), (10, 6, 3), (15, 10, 6), (20, 14, 9), (25, 18, 12))

COMPANY_TYPES = (("private", 60), ("non_manufacturer", 25), ("public_manufacturer", 15))
SECTORS = (
    "Distribuciones",
    "Industrias",
    "Suministros",
    "Comercial",
    "Grupo",
    "Talleres",
    "Almacenes",
    "Farmacéutica",
    "Construcciones",
    "Alimentación",
    "Logística",
    "Hostelería",
)
SURNAMES = (
    "García",
    "Fernández",
    "González",
    "Rodríguez",
    "López",
    "Martínez",
    "Sánchez",
    "Pérez",
    "Gómez",
    "Martín",
    "Jiménez",
    "Ruiz",
    "Hernández",
    "Díaz",
    "Moreno",
    "Álvarez",
    "Romero",
    "Alonso",
    "Navarro",
    "Torres",
    "Domínguez",
    "Vázquez",
    "Ramos",
    "Gil",
    "Serrano",
    "Blanco",
    "Molina",
    "Castro",
    "Ortega",
    "Delgado",
    "Iglesias",
    "Medina",
    "Garrido",
    "Cortés",
    "Lozano",
)
PLACES = (
    "del Norte",
    "Levante",
    "Ibérica",
    "del Sur",
    "Atlántica",
    "Mediterránea",
    "Castellana",
    "Cantábrica",
    "Andaluza",
    "del Ebro",
    "Gallega",
    "Balear",
)
LEGAL_FORMS = {
    "private": ("S.L.", "S.A."),
    "non_manufacturer": ("S.L.", "S.Coop."),
    "public_manufacturer": ("S.M.E.", "S.A."),
}

# payment behaviour: name, weight
PROFILES = (("prompt", 60), ("late", 25), ("instalments", 10), ("bad", 5))
# the Altman zone a customer's statements are shaped to, by payment behaviour: zone, weight
ZONES = {
    "strict": (("safe", 1),),  # C0001
    "prompt": (("safe", 7), ("grey", 3)),
    "late": (("safe", 2), ("grey", 6), ("distress", 2)),
    "instalments": (("safe", 5), ("grey", 5)),
    "bad": (("grey", 3), ("distress", 7)),
}
# ranges of X1 (working capital), X2 (retained earnings), X3 (EBIT), each / total assets, and the equity
# ratio, per zone
SHAPES = {
    "safe": ((0.15, 0.35), (0.20, 0.40), (0.08, 0.20), (0.40, 0.60)),
    "grey": ((0.00, 0.15), (0.00, 0.15), (0.00, 0.06), (0.20, 0.40)),
    "distress": ((-0.15, 0.02), (-0.20, 0.00), (-0.10, 0.00), (0.02, 0.15)),
}


@dataclass(frozen=True)
class DemoSummary:
    """What `generate` wrote."""

    employees: int
    customers: int
    invoices: int
    payments: int
    orders: int
    key_accounts: tuple[str, ...]  # codes of the class-A customers
    statements: int = 0


def money(cents: int) -> Decimal:
    """Integer cents as a two-place Decimal (123456 -> Decimal('1234.56'))."""
    return Decimal(cents).scaleb(-2)


def _weighted(rng: random.Random, options: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([name for name, _ in options], weights=[w for _, w in options])[0]


def _round_thousand_eur(cents: int, *, up: bool = False) -> int:
    """Cents -> euros rounded (or rounded up) to a multiple of 1000, at least 1000."""
    euros = cents // 100
    thousands = -(-euros // 1000) if up else (euros + 500) // 1000
    return max(1, thousands) * 1000


def annual_revenues(rng: random.Random, n: int) -> list[int]:
    """Heavy-tailed (log-normal) yearly revenue in cents; the two largest go to C0001 and C0002."""
    annual = [int(min(rng.lognormvariate(0.0, SIGMA), MAX_FACTOR) * MEDIAN_ANNUAL_CENTS) for _ in range(n)]
    for pos in (0, 1):
        best = max(range(pos, n), key=annual.__getitem__)
        annual[pos], annual[best] = annual[best], annual[pos]
    return annual


def abc_classes(annual: list[int]) -> list[str]:
    """A while the cumulative share before the customer is under 75 %, B under 90 %, else C."""
    total = sum(annual)
    classes = ["C"] * len(annual)
    running = 0
    for i in sorted(range(len(annual)), key=lambda i: (-annual[i], i)):
        classes[i] = "A" if running * 100 < 75 * total else "B" if running * 100 < 90 * total else "C"
        running += annual[i]
    classes[0] = classes[1] = "A"
    return classes


def _split(cents: int, parts: int) -> list[int]:
    share = cents // parts
    return [share] * (parts - 1) + [cents - share * (parts - 1)]


def _payment_plan(rng: random.Random, profile: str, cents: int, due: int) -> list[tuple[int, int]]:
    """(day ordinal, cents) the customer pays for one invoice; may leave part or all of it unpaid."""
    if profile == "strict":  # C0001: always on or just before the due date
        return [(due - rng.randint(0, 5), cents)]
    if profile == "prompt":
        late = rng.random() < 0.1
        return [(due + (rng.randint(1, 9) if late else -rng.randint(0, 10)), cents)]
    if profile == "late":
        late = rng.random() < 0.7
        return [(due + (rng.randint(10, 90) if late else rng.randint(-5, 5)), cents)]
    if profile == "instalments":
        parts = _split(cents, rng.choice((2, 3)))
        return [(due + 30 * k + rng.randint(-3, 5), part) for k, part in enumerate(parts)]
    if profile == "disputed":  # withheld, or only the undisputed part paid
        return [] if rng.random() < 0.5 else [(due + rng.randint(0, 30), cents * rng.randint(5, 8) // 10)]
    roll = rng.random()  # "bad"
    if roll < 0.3:
        return []
    if roll < 0.5:
        return [(due + rng.randint(10, 60), cents // 2)]
    return [(due + rng.randint(10, 90), cents)]


class _Writer:
    """Buffers rows with pre-assigned ids and inserts them in foreign-key order, a chunk at a time."""

    ORDER = (Customer, CreditTerms, FinancialStatement, Order, Invoice, Payment)

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.rows: dict[str, list[dict[str, Any]]] = {m.__tablename__: [] for m in self.ORDER}
        self.counts = dict.fromkeys(self.rows, 0)

    def next_id(self, table: str) -> int:
        self.counts[table] += 1
        return self.counts[table]

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.rows[table].append(row)

    def flush_if_full(self) -> None:
        if max(len(rows) for rows in self.rows.values()) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        for model in self.ORDER:
            rows = self.rows[model.__tablename__]
            if rows:
                self.connection.execute(insert(_table(model)), rows)
                rows.clear()


def _table(model: type[Any]) -> Table:
    table: Table = model.__table__
    return table


def _ensure_empty(connection: Connection) -> None:
    for model in (Employee, Customer):
        table = _table(model)
        if connection.execute(select(table.c.id).limit(1)).first() is not None:
            raise ValueError(f"table {table.name!r} already holds rows; demo data needs an empty schema")


def _insert_reference_data(connection: Connection, today: dt.date) -> dict[str, int]:
    ids = {login: i for i, (login, *_rest) in enumerate(EMPLOYEES, start=1)}
    connection.execute(
        insert(_table(Employee)),
        [
            {
                "id": ids[login],
                "login": login,
                "full_name": name,
                "position": position,
                "department": dept,
                "role": role,
                "roles": ["admin"] if login in ADMINS else [],
                "manager_id": ids[manager] if manager else None,
                "active": True,
            }
            for login, name, position, dept, role, manager in EMPLOYEES
        ],
    )
    connection.execute(insert(_table(PriceList)), [{"id": 1, "name": PRICE_LIST, "currency": CURRENCY}])
    connection.execute(
        insert(_table(PriceColumn)),
        [
            {
                "id": number,
                "price_list_id": 1,
                "number": number,
                "name": _("Column {number} — {label}").format(number=number, label=_(label)),
            }
            for number, label in enumerate(COLUMNS, start=1)
        ],
    )
    connection.execute(
        insert(_table(DiscountNorm)),
        [
            {
                "id": 3 * (number - 1) + k + 1,
                "price_column_id": number,
                "customer_class": cls,
                "max_pct": Decimal(pct),
            }
            for number, row in enumerate(NORMS, start=1)
            for k, (cls, pct) in enumerate(zip("ABC", row, strict=True))
        ],
    )
    day = dt.timedelta(days=1)
    connection.execute(
        insert(_table(Promotion)),
        [
            {
                "id": 1,
                "code": "WINTER",
                "name": _("Winter programme for class B"),
                "valid_from": today - 30 * day,
                "valid_to": today + 30 * day,
                "extra_pct": Decimal(3),
                "customer_class": "B",
            },
            {
                "id": 2,
                "code": "AUTUMN",
                "name": _("Autumn volume programme"),
                "valid_from": today - 150 * day,
                "valid_to": today - 60 * day,
                "extra_pct": Decimal(2),
                "customer_class": None,
            },
        ],
    )
    return ids


def give_demo_passwords(session: Session, *, now: dt.datetime) -> str:
    """Give every demo login DEMO_PASSWORD (argon2-hashed and audited as any password); the password."""
    for person in session.scalars(select(Employee).where(Employee.login.in_([e[0] for e in EMPLOYEES]))):
        passwords.set_password(session, person, DEMO_PASSWORD, actor="kamflow", now=now)
    return DEMO_PASSWORD


def _customer_name(rng: random.Random, company_type: str) -> str:
    tail = rng.choice(SURNAMES) if rng.random() < 0.6 else rng.choice(PLACES)
    return f"{rng.choice(SECTORS)} {tail} {rng.choice(LEGAL_FORMS[company_type])}"


def _invoice_count(rng: random.Random, customer_class: str) -> int:
    """Monthly for key accounts, fewer for the rest; about 10 per customer on average."""
    if customer_class == "A":
        return 18
    if customer_class == "B":
        return rng.randint(10, 16)
    return rng.randint(4, 12)


class _Bill(NamedTuple):
    issue: int  # day ordinals
    due: int
    cents: int
    disputed: bool
    order_day: int | None  # the order it came from, if any
    payments: list[tuple[int, int]]  # (day ordinal, cents), none after `today`


def _bills(
    rng: random.Random, index: int, profile: str, count: int, typical: int, terms: int, today_ord: int
) -> list[_Bill]:
    """`count` invoices spread over the 18 months before `today`, with what was paid on them by `today`."""
    slot = WINDOW_DAYS / count
    start = today_ord - WINDOW_DAYS
    bills = []
    for k in range(count):
        issue = start + int(k * slot + rng.random() * slot)
        due = issue + terms
        cents = max(100_00, int(typical * rng.uniform(0.6, 1.4)))
        disputed = index > 1 and rng.random() < 0.01
        plan = _payment_plan(rng, "disputed" if disputed else profile, cents, due)
        order_day = issue - rng.randint(1, 10) if rng.random() < 0.6 else None
        bills.append(_Bill(issue, due, cents, disputed, order_day, [p for p in plan if p[0] <= today_ord]))
    if index == 1:  # C0002: the last invoice more than 30 days past due stays unpaid
        last = max(k for k, bill in enumerate(bills) if bill.due < today_ord - 30)
        bills[last] = bills[last]._replace(payments=[])
    return bills


def _statement(books: random.Random, zone: str, company_type: str, sales_cents: int) -> dict[str, Decimal | None]:
    """Figures of one statement whose Altman score for the company type falls in `zone`."""
    model_zone = None
    while model_zone != zone:
        x1, x2, x3, equity_ratio = (books.uniform(low, high) for low, high in SHAPES[zone])
        assets = int(sales_cents / books.uniform(0.8, 2.2))
        current_liabilities = int(assets * books.uniform(0.15, 0.35))
        current_assets = current_liabilities + int(assets * x1)
        equity = int(assets * equity_ratio)
        figures = {
            "current_assets": money(current_assets),
            "current_liabilities": money(current_liabilities),
            "inventory": money(int(current_assets * books.uniform(0.2, 0.5))),
            "total_assets": money(assets),
            "total_liabilities": money(assets - equity),
            "equity": money(equity),
            "retained_earnings": money(int(assets * x2)),
            "ebit": money(int(assets * x3)),
            "sales": money(sales_cents),
        }
        market_value = (
            money(int(equity * books.uniform(1.0, 3.0))) if company_type == "public_manufacturer" else None
        )
        model_zone = facts.altman(facts.Statement(**figures, market_value_equity=market_value), company_type).zone
    return {**figures, "market_value_equity": market_value}


def _write_statements(
    w: _Writer,
    books: random.Random,
    customer_id: int,
    company_type: str,
    zone: str,
    annual_cents: int,
    today: dt.date,
) -> None:
    """The statements of the last two year ends before `today`, both shaped to `zone`."""
    total_sales = annual_cents * books.randint(5, 20)
    for years_back in (2, 1):
        w.add(
            "financial_statements",
            {
                "id": w.next_id("financial_statements"),
                "customer_id": customer_id,
                "period_end": dt.date(today.year - years_back, 12, 31),
                "currency": CURRENCY,
                **_statement(books, zone, company_type, int(total_sales * books.uniform(0.85, 1.0))),
            },
        )


def _write_customer(
    w: _Writer,
    rng: random.Random,
    books: random.Random,
    index: int,
    annual_cents: int,
    customer_class: str,
    kam_id: int,
    today: dt.date,
) -> None:
    """One customer with its invoices, payments, orders and statements; C0001 healthy, C0002 overdue."""
    customer_id = w.next_id("customers")  # == index + 1
    company_type = _weighted(rng, COMPANY_TYPES)
    name = _customer_name(rng, company_type)
    terms = 60 if index == 0 else rng.choice((30, 45, 60))
    profile = "strict" if index == 0 else "late" if index == 1 else _weighted(rng, PROFILES)
    count = _invoice_count(rng, customer_class)
    typical = annual_cents * WINDOW_DAYS // 365 // count
    bills = _bills(rng, index, profile, count, typical, terms, today.toordinal())
    open_count = (
        1
        if index == 0
        else {"A": rng.randint(0, 2), "B": int(rng.random() < 0.5), "C": int(rng.random() < 0.15)}[customer_class]
    )
    open_orders = [
        (today.toordinal() - rng.randint(0, 20), max(100_00, int(typical * rng.uniform(0.5, 1.2))))
        for _ in range(open_count)
    ]

    exposure = sum(b.cents - sum(c for _, c in b.payments) for b in bills) + sum(c for _, c in open_orders)
    limit = _round_thousand_eur(int(annual_cents / 12 * (terms / 30 + 1) * rng.uniform(1.0, 1.5)))
    if index == 0:
        limit = max(limit, _round_thousand_eur(2 * exposure, up=True))
    w.add(
        "customers",
        {
            "id": customer_id,
            "code": f"C{customer_id:04d}",
            "name": name,
            "customer_class": customer_class,
            "company_type": company_type,
            "kam_id": kam_id,
            "credit_limit": money(limit * 100),
            "currency": CURRENCY,
            "payment_terms_days": terms,
            "active": True,
        },
    )
    w.add(
        "credit_terms",
        {
            "customer_id": customer_id,
            "overdue_limit": Decimal("0.00"),
            "updated_at": dt.datetime.combine(today, dt.time(), dt.UTC),
        },
    )

    def order(day: int, cents: int, status: str) -> int:
        order_id = w.next_id("orders")
        w.add(
            "orders",
            {
                "id": order_id,
                "number": f"ORD-{order_id:08d}",
                "customer_id": customer_id,
                "order_date": dt.date.fromordinal(day),
                "amount": money(cents),
                "currency": CURRENCY,
                "status": status,
            },
        )
        return order_id

    for bill in bills:
        invoice_id = w.next_id("invoices")
        w.add(
            "invoices",
            {
                "id": invoice_id,
                "number": f"INV-{invoice_id:08d}",
                "customer_id": customer_id,
                "order_id": None if bill.order_day is None else order(bill.order_day, bill.cents, "invoiced"),
                "issue_date": dt.date.fromordinal(bill.issue),
                "due_date": dt.date.fromordinal(bill.due),
                "amount": money(bill.cents),
                "currency": CURRENCY,
                "disputed": bill.disputed,
            },
        )
        for day, cents in bill.payments:
            w.add(
                "payments",
                {
                    "id": w.next_id("payments"),
                    "invoice_id": invoice_id,
                    "paid_on": dt.date.fromordinal(day),
                    "amount": money(cents),
                },
            )
    for day, cents in open_orders:
        order(day, cents, "open")
    if customer_class != "C" or books.random() >= 0.2:
        zone = "distress" if index == 1 else _weighted(books, ZONES[profile])
        _write_statements(w, books, customer_id, company_type, zone, annual_cents, today)


def _reset_sequences(connection: Connection) -> None:
    """PostgreSQL: ids were given explicitly, so move each serial sequence past them."""
    if connection.dialect.name != "postgresql":
        return
    for model in (Employee, PriceList, PriceColumn, DiscountNorm, Promotion, *_Writer.ORDER):
        name = _table(model).name
        if "id" not in _table(model).c:  # keyed by its customer: no sequence
            continue
        connection.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))")
        )


def generate(engine: Engine, *, customers: int = 200, seed: int = 7, today: dt.date) -> DemoSummary:
    """Fill an empty schema with the demo company, in one transaction. See the module docstring."""
    if customers < 2:
        raise ValueError("the demo needs at least 2 customers (C0001 and C0002)")
    rng = random.Random(seed)
    books = random.Random(f"statements-{seed}")
    annual = annual_revenues(rng, customers)
    classes = abc_classes(annual)
    with engine.begin() as connection:
        _ensure_empty(connection)
        employee_ids = _insert_reference_data(connection, today)
        kam_ids = [employee_ids[login] for login in KAMS]
        writer = _Writer(connection)
        for index in range(customers):
            kam_id = kam_ids[index % len(KAMS)]
            _write_customer(writer, rng, books, index, annual[index], classes[index], kam_id, today)
            writer.flush_if_full()
        writer.flush()
        _reset_sequences(connection)
        with Session(connection) as session:
            figures.refresh(session, None)
    return DemoSummary(
        employees=len(EMPLOYEES),
        customers=customers,
        invoices=writer.counts["invoices"],
        payments=writer.counts["payments"],
        orders=writer.counts["orders"],
        key_accounts=tuple(f"C{i + 1:04d}" for i, cls in enumerate(classes) if cls == "A"),
        statements=writer.counts["financial_statements"],
    )
