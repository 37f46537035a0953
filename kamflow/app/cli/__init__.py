"""The `kamflow` command. Exit codes: 0 ok, 2 invalid input, 3 not permitted, 4 not found, 5 service down."""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import Annotated, Any

import typer

from kamflow.app import identity
from kamflow.app.cli.audit import audit_app
from kamflow.app.cli.common import (
    AsUser,
    CustomerArgument,
    CustomerOption,
    Json,
    choose_language,
    chosen_language,
    id_argument,
    on_server,
    run_command,
    run_op,
)
from kamflow.app.cli.credit import credit_app, import_app, order_app
from kamflow.app.cli.docs import delegate, doc_app, read_text
from kamflow.app.cli.ledger import ledger_app
from kamflow.app.cli.mail import mail_app
from kamflow.app.cli.people import import_employees, login, logout, user_app
from kamflow.app.cli.reports import report_app, statement
from kamflow.app.cli.requests import history, requests, withdraw
from kamflow.app.cli.review import collection_app, review
from kamflow.app.cli.rules import rules_app
from kamflow.i18n import _
from kamflow.settings import get_settings
from kamflow.views import View

app = typer.Typer(
    help="kamflow: approvals and credit control for key accounts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: on/off flags print as flags (rich help gives them a <bool> placeholder)
)
discount_app = typer.Typer(
    help="Discount authorization (price-list columns, norms, promotions).", no_args_is_help=True
)
app.add_typer(discount_app, name="discount")


@app.callback()
def options(
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            help="The language kamflow writes in: es or en (default: your own language as a person of the org "
            "chart, else KAMFLOW_LANGUAGE). --json is the same in every language.",
        ),
    ] = None,
) -> None:
    """kamflow: approvals and credit control for key accounts."""
    choose_language(lang)


@app.command()
def init(
    demo: Annotated[bool, typer.Option("--demo", help="Fill an empty database with the demo company.")] = False,
    reset: Annotated[
        bool,
        typer.Option(
            "--reset", help="Start the SQLite database again, keeping a copy of it (kamflow.db.backup-…)."
        ),
    ] = False,
    customers: Annotated[int, typer.Option(min=1, max=1_000_000, help="Demo customers.")] = 200,
    seed: Annotated[int, typer.Option(help="Demo seed: the same seed gives the same data.")] = 7,
    app_role: Annotated[
        str | None,
        typer.Option(help="PostgreSQL: the role the application connects as; granted rows, never the tables."),
    ] = None,
    read_role: Annotated[str | None, typer.Option(help="PostgreSQL: a role for reports, granted reads.")] = None,
    as_json: Json = False,
) -> None:
    """Create or upgrade the domain database (Alembic head), as the role that owns the tables; with --demo, fill it
    with the demo company (an empty database only: --reset starts a SQLite database again, keeping a copy); with
    --app-role/--read-role, grant those roles what they need on the tables."""

    def body() -> dict[str, Any]:
        from sqlalchemy.engine import make_url

        from kamflow import clock, migrate
        from kamflow.app import database
        from kamflow.errors import InvalidInput

        settings = get_settings()
        shown = make_url(settings.db_url).render_as_string(hide_password=True)
        result: dict[str, Any] = {"database": shown, "migrated": "head"}
        if reset:
            copy = database.reset(settings, now=clock.now())
            result["backup"] = None if copy is None else str(copy)
        elif demo and (found := database.held(settings)):
            holds = ", ".join(f"{count} {name}" for name, count in found.items())
            raise InvalidInput(
                _(
                    "demo: the database already holds data ({holds}); nothing was changed. kamflow init --demo "
                    "--reset starts it again and keeps a copy of it"
                ).format(holds=holds),
                field="demo",
            )
        migrate.upgrade(settings)
        if app_role or read_role:
            migrate.grant_roles(settings, app=app_role, reader=read_role)
        if demo:
            from kamflow.db import get_engine, unit_of_work
            from kamflow.demo_data import generate, give_demo_passwords

            summary = generate(get_engine(settings), customers=customers, seed=seed, today=clock.today())
            result["demo"] = dataclasses.asdict(summary)
            with unit_of_work(settings) as session:
                result["demo_password"] = give_demo_passwords(session, now=clock.now())
        return result

    run_command(as_json, body, _init_text)


def _init_text(result: dict[str, Any]) -> str:
    backup = result.get("backup")
    kept = [_("the previous database is kept in {file}").format(file=backup)] if backup else []
    lines = [*kept, _("database ready: {database}").format(database=result["database"])]
    if "demo" in result:
        lines += [
            f"demo: {result['demo']}",
            _(
                "demo sign-in (demo data only): every demo login has the password {password}; `kamflow login "
                "LOGIN` with KAMFLOW_AUTH=required"
            ).format(password=repr(result["demo_password"])),
        ]
    return "\n".join(lines)


@app.command()
def serve() -> None:
    """Run what flows need to wait and resume: the local Prefect server (unless KAMFLOW_PREFECT_API_URL
    points elsewhere), every kamflow deployment, and kamflow's own server (the workspace and the HTTP API on
    KAMFLOW_WEB_PORT), and the mail of the outbox every KAMFLOW_MAIL_SEND_SECONDS. Stop with Ctrl-C."""
    from kamflow.app import serve as serving
    from kamflow.app import server
    from kamflow.notify.delivery import sending

    on_server()
    serving.stop_on_signals()
    settings = get_settings()
    serving.configure(settings)
    owned = serving.owns_server(settings)
    with (
        serving.local_server(settings) if owned else contextlib.nullcontext(),
        server.running(settings),
        sending(settings),
    ):
        serving.end_orphans(every_run=owned)  # the runs whose process died since (owned: every run it had)
        prefect_ui = settings.api_url.removesuffix("/api")
        with identity.speaking(chosen_language()):
            serving_text = _("kamflow serving; workspace: {workspace}/ · Prefect UI: {prefect}")
        ready = serving_text.format(workspace=settings.web_url, prefect=prefect_ui)
        serving.serve(settings, ready=lambda: print(ready, flush=True))


@app.command()
def worker(
    limit: Annotated[
        int | None, typer.Option(min=1, help="Runs at once on this machine (default: no limit).")
    ] = None,
) -> None:
    """Run kamflow's flows on this machine for the Prefect server at KAMFLOW_PREFECT_API_URL (the production
    shape's worker machines, as many as you like): every deployment served from here, each run's process started
    from a warm fork server, no local server, no web, no mail (kamflow's server sends it). Stop with Ctrl-C."""
    from kamflow.app import serve as serving
    from kamflow.errors import InvalidInput

    def waiting(why: str) -> None:
        text = _("kamflow worker: waiting for the Prefect API at {prefect} ({why})")
        print(text.format(prefect=get_settings().api_url, why=why), flush=True)

    def body() -> str:
        settings = get_settings()
        if settings.prefect_api_url is None:
            raise InvalidInput(
                _("a worker serves the flows of a Prefect server elsewhere: set KAMFLOW_PREFECT_API_URL"),
                field="KAMFLOW_PREFECT_API_URL",
            )
        serving.stop_on_signals()
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C or SIGTERM, whenever it comes
            serving.wait_for_api(settings.api_url, waiting=waiting)
            serving.end_orphans(every_run=False)  # the runs whose process on this machine died since
            ready = _("kamflow worker: serving every deployment of {prefect}").format(prefect=settings.api_url)
            serving.serve(settings, ready=lambda: print(ready, flush=True), limit=limit, sweeping=False)
        return _("kamflow worker stopped")

    run_command(False, body, str)


@app.command()
def server() -> None:
    """Run kamflow's own server alone, in the foreground (the production shape's API server): the HTTP API that
    client machines' commands reach and the workspace, on KAMFLOW_WEB_HOST:KAMFLOW_WEB_PORT, with the database and
    the secret key of this machine, and the mail of the outbox every KAMFLOW_MAIL_SEND_SECONDS; the Prefect server
    and its workers run the flows. Stop with Ctrl-C."""
    from kamflow.app import server as serving
    from kamflow.notify.delivery import sending

    def body() -> str:
        settings = get_settings()
        with sending(settings):
            serving.run(settings)
        return "kamflow's server stopped"

    run_command(False, body, str)


@app.command()
def demo(as_json: Json = False) -> None:
    """Run the main job end to end on embedded defaults and print a summary (the demo's database is reset)."""

    def body() -> View:
        from kamflow.app.demo import run  # imports Prefect: only once run_command has configured it

        return run()

    run_command(as_json, body)


@discount_app.command("request")
def discount_request(
    customer: CustomerOption,
    column: Annotated[str, typer.Option(help="Price-list column.")],
    discount_pct: Annotated[str, typer.Option(help="Discount asked, percent (0 < % < 100).")],
    order_total: Annotated[str, typer.Option(help="Order total before discount.")],
    note: Annotated[str, typer.Option(help="Why the discount is needed.")] = "",
    acting: AsUser = None,
    as_json: Json = False,
) -> None:
    """Ask for a discount: the rules approve, reject, or escalate it to the department head."""
    asked = {"customer": customer, "column": column, "discount_pct": discount_pct, "order_total": order_total}
    run_op("discount request", asked | {"note": note}, acting, as_json)


@discount_app.command("show")
def discount_show(
    request_id: Annotated[int, id_argument("The discount request's number.")],
    acting: AsUser = None,
    as_json: Json = False,
) -> None:
    """Show a discount request, its decision and reasons (to those who may see its customer)."""
    run_op("discount show", {"request_id": request_id}, acting, as_json)


@app.command()
def customer(customer: CustomerArgument, acting: AsUser = None, as_json: Json = False) -> None:
    """A customer's credit at a glance, as the workspace's customer page shows it: the exposure against the limits
    in force, what the latest completed nightly review found, the open collection tasks (to those who may see the
    customer)."""
    run_op("customer", {"customer": customer}, acting, as_json)


@app.command()
def tasks(acting: AsUser = None, as_json: Json = False) -> None:
    """The acting user's pending approval tasks: their own and those delegated to them."""
    run_op("tasks", {}, acting, as_json)


@app.command()
def decide(
    task_id: Annotated[int, id_argument("The task's number (kamflow tasks lists yours).")],
    action: Annotated[
        str,
        typer.Argument(
            help="approve | reject | counter (discounts) | approve | return | reject (documents) | "
            "release | release_with_prepayment | reject (orders) | approve | reject (credit limits) | "
            "approve_limit | prepayment | reject (solvency)"
        ),
    ],
    discount_pct: Annotated[str | None, typer.Option(help="For counter: the lower discount granted.")] = None,
    amount: Annotated[
        str | None,
        typer.Option(help="Orders, release_with_prepayment: the prepayment. Solvency, approve_limit: the limit."),
    ] = None,
    comment: Annotated[
        str, typer.Option(help="Your comment (audited; required to return or reject a document).")
    ] = "",
    file: Annotated[
        Path | None, typer.Option(help="Documents: the corrected text you approve and sign (a new version).")
    ] = None,
    acting: AsUser = None,
    as_json: Json = False,
) -> None:
    """Decide a waiting task: your decision is recorded at once, and its flow run goes on from it."""
    answer = {
        "task": task_id,
        "action": action,
        "discount_pct": discount_pct,
        "amount": amount,
        "comment": comment,
    }
    run_op("decide", lambda: answer | {"content": None if file is None else read_text(file)}, acting, as_json)


app.command()(requests)
app.command()(history)
app.command()(withdraw)
app.add_typer(doc_app, name="doc")
app.add_typer(credit_app, name="credit")
app.add_typer(order_app, name="order")
app.add_typer(import_app, name="import")
import_app.command("employees")(import_employees)
app.add_typer(user_app, name="user")
app.command()(login)
app.command()(logout)
app.command()(delegate)
app.command()(review)
app.add_typer(collection_app, name="collection")
app.add_typer(rules_app, name="rules")
app.add_typer(audit_app, name="audit")
app.add_typer(ledger_app, name="ledger")
app.add_typer(mail_app, name="mail")
app.command()(statement)
app.add_typer(report_app, name="report")


def main() -> None:
    app()
