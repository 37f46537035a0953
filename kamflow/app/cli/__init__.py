"""The `kamflow` command. Exit codes: 0 ok, 2 invalid input, 3 not permitted, 4 not found, 5 service down."""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import Field

from kamflow.app.cli.audit import audit_app
from kamflow.app.cli.common import AsUser, CustomerOption, Json, acting_login, listing, run_command
from kamflow.app.cli.credit import credit_app, import_app, order_app
from kamflow.app.cli.docs import delegate, doc_app, read_text
from kamflow.app.cli.review import collection_app, review
from kamflow.app.cli.rules import rules_app
from kamflow.settings import get_settings
from kamflow.views import View

app = typer.Typer(
    help="kamflow: approvals and credit control for key accounts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
discount_app = typer.Typer(
    help="Discount authorization (price-list columns, norms, promotions).", no_args_is_help=True
)
app.add_typer(discount_app, name="discount")


class TaskLine(View):
    """A pending approval task as `kamflow tasks` lists it for the acting user."""

    task_id: int
    process: str
    subject_id: int
    title: str
    owner: str
    due_at: str
    level: int
    approval_code: str
    delegated: bool = Field(description="The acting user holds it for its owner (a delegation).")

    def text(self) -> str:
        owner = f", for {self.owner}" if self.delegated else ""
        due = f"(due {self.due_at[:16]}{owner})"
        return f"task {self.task_id}: {self.title} {due} — approval code {self.approval_code}"


@app.command()
def init(
    demo: Annotated[bool, typer.Option("--demo", help="Fill an empty database with the demo company.")] = False,
    customers: Annotated[int, typer.Option(min=1, help="Demo customers.")] = 200,
    seed: Annotated[int, typer.Option(help="Demo seed: the same seed gives the same data.")] = 7,
    as_json: Json = False,
) -> None:
    """Create or upgrade the domain database (Alembic head); with --demo, fill it with the demo company."""

    def body() -> dict[str, Any]:
        from kamflow import clock, migrate

        settings = get_settings()
        migrate.upgrade(settings)
        result: dict[str, Any] = {"database": settings.db_url, "migrated": "head"}
        if demo:
            from kamflow.db import get_engine
            from kamflow.demo_data import generate

            summary = generate(get_engine(settings), customers=customers, seed=seed, today=clock.today())
            result["demo"] = dataclasses.asdict(summary)
        return result

    run_command(
        as_json, body, lambda r: f"database ready: {r['database']}" + (f"\ndemo: {r['demo']}" if demo else "")
    )


@app.command()
def serve() -> None:
    """Run what flows need to wait and resume: the local Prefect server (unless KAMFLOW_PREFECT_API_URL
    points elsewhere) and every kamflow deployment. Stop with Ctrl-C."""
    from kamflow.app import serve as serving

    serving.stop_on_signals()
    settings = get_settings()
    serving.configure(settings)
    with serving.local_server(settings) if serving.owns_server(settings) else contextlib.nullcontext():
        print(f"kamflow serving; Prefect UI: {settings.api_url.removesuffix('/api')}", flush=True)
        serving.serve(settings)


@app.command()
def demo() -> None:
    """Run the main job end to end on embedded defaults and print a summary."""

    def body() -> str:
        from kamflow.app.demo import run  # imports Prefect: only once run_command has configured it

        return run()

    run_command(False, body, str)


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

    def body() -> View:
        from kamflow.app.runs import start
        from kamflow.discounts import PROCESS
        from kamflow.discounts.service import DiscountRequestIn

        return start(
            PROCESS,
            DiscountRequestIn.model_validate(
                {
                    "customer": customer,
                    "price_column": column,
                    "discount_pct": discount_pct,
                    "order_total": order_total,
                    "note": note,
                    "requester": acting_login(acting),
                }
            ),
        )

    run_command(as_json, body)


@discount_app.command("show")
def discount_show(request_id: int, as_json: Json = False) -> None:
    """Show a discount request, its decision and reasons."""

    def body() -> View:
        from kamflow.db import unit_of_work
        from kamflow.discounts import views

        with unit_of_work() as session:
            return views.view(session, request_id)

    run_command(as_json, body)


@app.command()
def tasks(acting: AsUser = None, as_json: Json = False) -> None:
    """The acting user's pending approval tasks: their own and those delegated to them."""

    def body() -> list[TaskLine]:
        from kamflow import approvals, clock, org
        from kamflow.db import unit_of_work

        with unit_of_work() as session:
            me = org.employee(session, acting_login(acting))
            secret = get_settings().approval_secret
            return [
                TaskLine(
                    task_id=t.id,
                    process=t.process,
                    subject_id=t.subject_id,
                    title=t.title,
                    owner=t.owner.login,
                    due_at=t.due_at.isoformat(),
                    level=t.level,
                    approval_code=approvals.approval_code(t, login=me.login, secret=secret),
                    delegated=t.owner_id != me.id,
                )
                for t in approvals.pending_for(session, me, on=clock.today())
            ]

    run_command(as_json, body, listing("no pending tasks"))


@app.command()
def decide(
    task_id: int,
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
    """Decide a waiting task: resumes its flow run with your answer (the same path as the UI form)."""

    def body() -> View:
        from kamflow.app.runs import Answer
        from kamflow.app.runs import decide as resume

        content = None if file is None else read_text(file)
        return resume(
            task_id,
            login=acting_login(acting),
            answer=Answer(
                action=action, discount_pct=discount_pct, amount=amount, comment=comment, content=content
            ),
        )

    run_command(as_json, body)


app.add_typer(doc_app, name="doc")
app.add_typer(credit_app, name="credit")
app.add_typer(order_app, name="order")
app.add_typer(import_app, name="import")
app.command()(delegate)
app.command()(review)
app.add_typer(collection_app, name="collection")
app.add_typer(rules_app, name="rules")
app.add_typer(audit_app, name="audit")


def main() -> None:
    app()
