"""`kamflow review` and `kamflow collection …`: run the nightly credit review on demand, and the KAM's side
of collection (tasks, promises to pay, disputed-invoice holds). kamflow.app.cli registers these."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import typer
from pydantic import BaseModel, ConfigDict, Field, field_validator

from kamflow.app.cli.common import AsOf, AsUser, CustomerArgument, Json, id_argument, run_command, run_op
from kamflow.errors import InvalidInput
from kamflow.settings import MAX_SHARDS
from kamflow.types import Day
from kamflow.views import View

if TYPE_CHECKING:
    from kamflow.review.views import ReviewView

collection_app = typer.Typer(
    help="Collection: the KAM's tasks from the nightly credit review, promises to pay, disputed invoices.",
    no_args_is_help=True,
)
REVIEW_WAIT_SECONDS = 4 * 3600.0


class ReviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: Day | None = Field(
        default=None, description="Business date to review as of (today at the latest); default today."
    )
    shards: int = Field(
        default=1, ge=1, le=MAX_SHARDS, description="Slices of the customers reviewed in parallel."
    )

    @field_validator("as_of")
    @classmethod
    def _not_ahead(cls, value: dt.date | None) -> dt.date | None:
        """Refused here too, before anything starts (`service.refuse_ahead`)."""
        from kamflow import clock
        from kamflow.review import service

        if value is not None:
            try:
                service.refuse_ahead(value, today=clock.today())
            except InvalidInput as ahead:
                raise ValueError(ahead.message) from ahead
        return value


def _review_view(as_of: dt.date, flow_run_id: str) -> ReviewView:
    from kamflow.db import unit_of_work
    from kamflow.review import service
    from kamflow.review.dunning import current
    from kamflow.review.views import review_view

    with unit_of_work() as session:
        review = service.get_review(session, as_of)
        previous = service.latest_completed(session, before=as_of)
        summary = service.summary(session, review, policy=current(), previous=previous)
    return review_view(summary, flow_run_id=flow_run_id)


def run_review(request: ReviewRequest) -> ReviewView:
    """Refuse a backdated date, or one another run is reviewing (writing nothing); start the review through its
    deployment, wait for it and return what it found; a failed review is an error naming the customer that
    broke it."""
    from flows.review import refuse_running
    from kamflow import clock
    from kamflow.db import unit_of_work
    from kamflow.review import service

    as_of = request.as_of or clock.today()
    with unit_of_work() as session:
        service.refuse_backdated(session, as_of)
    refuse_running(as_of, this_run=None)

    from prefect import get_client
    from sqlalchemy import select

    from flows.runs import deployment_path, wait_for
    from kamflow.app.progress import Progress
    from kamflow.app.runs import start_run
    from kamflow.review.tables import CreditReview

    def settled(shown: Progress) -> bool | None:
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(run_id).state
        with unit_of_work() as session:
            found = session.scalar(select(CreditReview).where(CreditReview.business_date == as_of))
            if found is not None and found.status == "running":  # its customers are counted once it runs
                shown.update(100 * service.progress(session, as_of=as_of))
            reason = (found.error if found else None) or (state.message or state.name if state else None)
        if state is None or not state.is_final():
            return None
        if state.is_completed():
            shown.update(100)
            return True
        raise service.ReviewFailed(f"the review of {as_of} failed: {reason}", customer=None)

    with Progress(f"credit review of {as_of}", total=100) as shown:
        run_id = UUID(
            start_run(
                deployment_path(service.PROCESS), {"business_date": as_of.isoformat(), "shards": request.shards}
            )
        )
        wait_for(f"the review of {as_of}", lambda: settled(shown), timeout=REVIEW_WAIT_SECONDS, run=run_id)
    return _review_view(as_of, str(run_id))


def review(
    as_of: AsOf = None,
    shards: Annotated[
        str, typer.Option(help=f"Slices of the customers reviewed in parallel (1-{MAX_SHARDS}).")
    ] = "1",
    acting: AsUser = None,
    as_json: Json = False,
) -> None:
    """Run the nightly credit review now (through `kamflow serve`; an admin's command) and print its summary."""

    def body() -> View:
        from kamflow.app.identity import REVIEW, keeper

        keeper(acting, doing=REVIEW)
        return run_review(ReviewRequest.model_validate({"as_of": as_of, "shards": shards}))

    run_command(as_json, body)


@collection_app.command("tasks")
def collection_tasks(acting: AsUser = None, as_json: Json = False) -> None:
    """Your open collection tasks (and those of people you stand in for), soonest first."""
    run_op("collection tasks", {}, acting, as_json)


@collection_app.command("done")
def collection_done(
    task_id: Annotated[int, id_argument("The collection task carried out.")],
    note: Annotated[str, typer.Option(help="What was done (audited).")] = "",
    acting: AsUser = None,
    as_json: Json = False,
) -> None:
    """Mark a collection task carried out today; a dunning level then counts as carried out."""
    run_op("collection done", {"task_id": task_id, "note": note}, acting, as_json)


@collection_app.command("promise")
def collection_promise(
    customer: CustomerArgument,
    amount: Annotated[str, typer.Option(help="Amount promised, e.g. 1250.00.")],
    date: Annotated[str, typer.Option(help="Date promised (YYYY-MM-DD), today or later.")],
    acting: AsUser = None,
    as_json: Json = False,
) -> None:
    """Record a customer's promise to pay: the next reviews hold the dunning level until the date."""
    run_op("collection promise", {"customer": customer, "amount": amount, "date": date}, acting, as_json)


@collection_app.command("hold")
def collection_hold(
    invoice: Annotated[str, typer.Argument(help="Invoice number, e.g. INV-00000042.")],
    reason: Annotated[str, typer.Option(help="What the customer disputes.")] = "disputed",
    release: Annotated[bool, typer.Option("--release", help="Release the hold: the dispute is settled.")] = False,
    acting: AsUser = None,
    as_json: Json = False,
) -> None:
    """Put a disputed invoice on hold (no dunning for it), or release the hold."""
    run_op("collection hold", {"invoice": invoice, "reason": reason, "release": release}, acting, as_json)
