"""`kamflow statement` and `kamflow report …`: a customer's statement of account, the receivables ageing and the
decision register and the returns and refusals, each a table printed for the terminal, as JSON (--json), or written
to a file people take away (--format csv|xlsx|pdf --output FILE). kamflow.app.cli registers these."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kamflow import i18n
from kamflow.app.cli.common import AsOf, AsUser, CustomerArgument, Json, run_command
from kamflow.app.identity import acting as acting_person
from kamflow.bounds import parse_date
from kamflow.errors import InvalidInput, NotFound
from kamflow.i18n import _
from kamflow.tabular import Tabular
from kamflow.views import View

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

report_app = typer.Typer(
    help="Reports people take away: receivables ageing, the decision register, returns and refusals.",
    no_args_is_help=True,
)
FormatOption = Annotated[
    str | None,
    typer.Option("--format", help="csv | xlsx | pdf: write the table to --output (default: the output's suffix)."),
]
OutputOption = Annotated[Path | None, typer.Option("--output", help="The file to write (replaced if it exists).")]
KamOption = Annotated[str | None, typer.Option("--kam", help="Only this key account manager's customers (login).")]


class Exported(View):
    """A table written to a file."""

    file: str
    format: str
    rows: int

    def text(self) -> str:
        return _("wrote {file} ({format}, {rows} rows)").format(file=self.file, format=self.format, rows=self.rows)


def show_table(as_json: bool, fmt: str | None, output: Path | None, body: Callable[[], Tabular]) -> None:
    """Print the view the body returns, or write its table to `output`; the format and the output are checked
    before anything is read, and a failure writes no file."""

    def run() -> View:
        from kamflow import export

        if output is None:
            if fmt is not None:
                raise InvalidInput(_("output: --format needs --output FILE"), field="output")
            return body()
        chosen = export.format_of(fmt or output.suffix.removeprefix("."))
        export.check_output(output)
        table = body().table()
        export.write(table, chosen, output)
        return Exported(file=str(output), format=chosen, rows=len(table.rows))

    run_command(as_json, run)


def statement(
    customer: CustomerArgument,
    from_: Annotated[
        str | None, typer.Option("--from", help="First day YYYY-MM-DD (default: the first invoice).")
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last day YYYY-MM-DD (default today).")] = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
    acting: AsUser = None,
    as_json: Json = False,
) -> None:
    """A customer's statement of account: opening balance, invoices and payments with the running balance, the
    credit review's interest and fees, closing balance."""

    def body() -> Tabular:
        from kamflow import access, clock, customers, org, statements
        from kamflow.db import unit_of_work

        start = None if from_ is None else parse_date(from_, "from")
        end = clock.today() if to is None else parse_date(to, "to")
        with unit_of_work() as session:
            client = customers.by_code(session, customer)
            person = org.employee(session, acting_person(acting).login)
            access.see_customer(session, person, client, what="statement", now=clock.now())
            return statements.statement(session, client, start=start, end=end)

    show_table(as_json, fmt, output, body)


@report_app.command("ageing")
def report_ageing(
    kam: KamOption = None,
    as_of: AsOf = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
    acting: AsUser = None,
    as_json: Json = False,
) -> None:
    """Receivables ageing per KAM and per customer, in the dunning policy's buckets."""

    def body() -> Tabular:
        from kamflow import clock, receivables
        from kamflow.db import unit_of_work
        from kamflow.review.dunning import current

        on = clock.today() if as_of is None else parse_date(as_of, "as_of")
        with unit_of_work() as session:
            kams = _kams(session, acting, kam)
            return receivables.ageing(session, as_of=on, buckets=current().ageing, kams=kams, kam=kam)

    show_table(as_json, fmt, output, body)


@report_app.command("decisions")
def report_decisions(
    kam: KamOption = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="First day YYYY-MM-DD (default: 30 days before --as-of).")
    ] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Last day YYYY-MM-DD (default today).")] = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
    acting: AsUser = None,
    as_json: Json = False,
) -> None:
    """The decision register: every audited decision of the period — who, when, what, outcome, reasons and the
    rule-set version."""

    def body() -> Tabular:

        from kamflow import decision_register
        from kamflow.db import unit_of_work
        from kamflow.settings import get_settings

        start, end = _period(from_, as_of, "as_of")
        with unit_of_work() as session:
            kams = _kams(session, acting, kam)
            return decision_register.register(
                session, start=start, end=end, tz=get_settings().tz, kams=kams, kam=kam
            )

    show_table(as_json, fmt, output, body)


@report_app.command("returns")
def report_returns(
    kam: KamOption = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="First day YYYY-MM-DD (default: 30 days before --to).")
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last day YYYY-MM-DD (default today).")] = None,
    fmt: FormatOption = None,
    output: OutputOption = None,
    acting: AsUser = None,
    as_json: Json = False,
) -> None:
    """Returns and refusals (clause 2.11): the credit notes of the period by reason (returned, refused, damaged,
    price dispute), per customer and month, per KAM and in all."""

    def body() -> Tabular:

        from kamflow import returns
        from kamflow.db import unit_of_work

        start, end = _period(from_, to, "to")
        with unit_of_work() as session:
            kams = _kams(session, acting, kam)
            return returns.returns(session, start=start, end=end, kams=kams, kam=kam)

    show_table(as_json, fmt, output, body)


def _period(first: str | None, last: str | None, last_name: str) -> tuple[dt.date, dt.date]:
    """A report's days: `last` (default today) and `first` (default 30 days before it), `first` not after `last`;
    InvalidInput naming the option otherwise."""
    from kamflow import clock

    end = clock.today() if last is None else parse_date(last, last_name)
    start = end - dt.timedelta(days=30) if first is None else parse_date(first, "from")
    if start > end:
        raise InvalidInput(
            _("from: {start} is after {name}: {end}").format(
                start=i18n.day(start), name=last_name, end=i18n.day(end)
            ),
            field="from",
        )
    return start, end


def _kams(session: Session, acting: str | None, kam: str | None) -> list[int] | None:
    """Whose customers the acting person reads: every KAM's they may see, or the one asked for (NotFound on `kam`
    for no such person, NotPermitted when they may not see that KAM's customers)."""
    from kamflow import access, clock, org, receivables

    person = org.employee(session, acting_person(acting).login)
    seen = receivables.kams_seen_by(session, person, on=clock.today())
    if kam is None:
        return seen
    try:
        wanted = org.employee(session, kam)
    except NotFound:
        raise NotFound(_("kam: no employee with login {login}").format(login=repr(kam)), field="kam") from None
    if seen is not None and wanted.id not in seen:
        access.refuse(
            person,
            _("{login} may not see the customers of {kam}").format(login=person.login, kam=kam),
            field="kam",
        )
    return [wanted.id]
