"""Flow `nightly-credit-review` (clause 2.13): every active customer reviewed as of a business date, in
shards; a progress artifact while it runs, then a table of customers per dunning level, a table of the top
risks with their reasons, the receivables ageing per KAM, and a markdown summary.

Each shard is a run of the flow `credit-review-shard`. Shard 0 runs inside the review's own process; each
other shard is started by a parallel Prefect task as a run of the deployment `credit-review-shard`, so the
shards spread over the `kamflow worker`s (or over `kamflow serve`'s processes) and use every core.

Orchestration only: the work is `kamflow.review.service`. Re-running a date updates the same review and
creates nothing twice; a date before the latest completed review is refused.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated, cast
from uuid import UUID

from prefect import flow, get_client, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NONE
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.futures import wait
from prefect.runtime import flow_run
from pydantic import BaseModel, Field

from flows.labels import artifact_key
from flows.runs import deployment_path
from kamflow import clock, decision_register, i18n, receivables, returns
from kamflow.db import unit_of_work
from kamflow.errors import InvalidInput
from kamflow.i18n import _
from kamflow.review import service
from kamflow.review.dunning import current
from kamflow.review.report import ReviewSummary, headed
from kamflow.settings import MAX_SHARDS, get_settings
from rules.engine import no_cycle_collection

PROGRESS_KEY = "credit-review-progress"
LEVELS_KEY = "credit-review-levels"
RISKS_KEY = "credit-review-top-risks"
SUMMARY_KEY = "credit-review-summary"
AGEING_KEY = "credit-review-ageing"
RETURNS_KEY = "credit-review-returns"
DECISIONS_KEY = "credit-review-decisions"
RETURNS_DAYS = 30
"""The returns and refusals artifact covers the credit notes of these days up to the review's date."""
PROGRESS_SECONDS = 2.0
"""A shard moves the progress artifact at most this often (after a batch): each move is a query and a call to
Prefect's API, and a large review commits several batches a second."""
SHARD_PROCESS = "credit-review-shard"
SHARD_DEPLOYMENT = deployment_path(SHARD_PROCESS)


class ReviewOutcome(BaseModel):
    business_date: dt.date
    status: str
    customers: int
    tasks: dict[str, int]
    rules_version: str


def scheduled_date() -> dt.date:
    """A review given no date reviews the day its run was scheduled for, in the company's timezone: a run
    retried after midnight still reviews its own night."""
    return clock.today(flow_run.scheduled_start_time)


def refuse_running(as_of: dt.date, *, this_run: str | None) -> None:
    """A review of a date that another flow run is still reviewing is refused: two runs of one date would
    reopen each other's shards. That run is done with once it has ended (Completed, Failed, Crashed, Cancelled)
    or was deleted; a run whose process died stays Running until it is marked Crashed (a restarted `kamflow
    serve` marks it at once, production's heartbeat automation within 90 s) or is cancelled in the Prefect UI."""
    with unit_of_work() as session:
        other = service.running_run(session, as_of)
    if other is None or other == this_run:
        return
    with get_client(sync_client=True) as client:
        try:
            run = client.read_flow_run(UUID(other))
        except ObjectNotFound:
            return
    if run.state is None or run.state.is_final():
        return
    raise InvalidInput(
        _(
            "the review of {day} is already running as flow run {run} ({state}): wait for it to end, or, if its "
            "service was stopped while it ran, cancel that run in the Prefect UI and run the review again"
        ).format(day=i18n.day(as_of), run=run.name, state=run.state.name),
        field="business_date",
    )


def run_name() -> str:
    """The flow run is named after the business date it reviews."""
    business_date = flow_run.parameters.get("business_date") or scheduled_date()
    return f"credit-review-{business_date}"


def shard_run_name() -> str:
    parameters = flow_run.parameters
    return f"credit-review-{parameters['business_date']}-shard-{parameters['shard']}-of-{parameters['shards']}"


@flow(name=SHARD_PROCESS, flow_run_name=shard_run_name, log_prints=False, persist_result=False)
def credit_review_shard(
    business_date: Annotated[dt.date, Field(description="Business date of the started review.")],
    shard: Annotated[int, Field(ge=0, description="This slice: customers whose id modulo `shards` is `shard`.")],
    shards: Annotated[int, Field(ge=1, le=MAX_SHARDS, description="How many slices the review has.")],
    progress_id: Annotated[UUID | None, Field(description="The review's progress artifact.")] = None,
) -> service.ShardResult:
    """One slice of a started review, committed batch by batch; it moves the review's progress artifact."""
    moved = time.monotonic()

    def report_progress() -> None:
        nonlocal moved
        if progress_id is None or time.monotonic() - moved < PROGRESS_SECONDS:
            return
        moved = time.monotonic()
        with unit_of_work() as session:
            done = service.progress(session, as_of=business_date)
        update_progress_artifact(progress_id, progress=round(done * 100, 1))

    with unit_of_work() as session:
        return service.run_review(
            session, as_of=business_date, shard=shard, shards=shards, now=clock.now(), on_batch=report_progress
        )


@task(name="review-shard", cache_policy=NONE, task_run_name="shard-{shard}-of-{shards}")
def run_shard(as_of: dt.date, shard: int, shards: int, progress_id: UUID) -> None:
    """A slice as its own run of the `credit-review-shard` deployment, on whichever worker takes it first."""
    parameters = {"business_date": str(as_of), "shard": shard, "shards": shards, "progress_id": str(progress_id)}
    run = cast(FlowRun, run_deployment(SHARD_DEPLOYMENT, parameters=parameters, timeout=None, poll_interval=1))
    if run.state is None or not run.state.is_completed():
        with unit_of_work() as session:
            error = service.shard_error(session, as_of=as_of, shard=shard)
        ended = run.state.name if run.state else "no state"
        raise service.ReviewFailed(error or f"shard {shard} of {shards} ended {ended}", customer=None)


def publish(as_of: dt.date, progress_id: UUID) -> ReviewSummary:
    """Finish the review of `as_of` once its shards are done, and publish its artifacts: the customers per
    dunning level, the top risks, the ageing per KAM, the day's decision register, the summary, the returns."""
    with unit_of_work() as session:
        summary = service.finish_review(session, as_of=as_of, now=clock.now())
        ageing = receivables.ageing_per_kam(session, as_of=as_of, buckets=current().ageing)
        since = as_of - dt.timedelta(days=RETURNS_DAYS - 1)
        credited = returns.returns(session, start=since, end=as_of, kams=None, kam=None)
        decided = decision_register.register(
            session, start=as_of, end=as_of, tz=get_settings().tz, kams=None, kam=None
        )
    update_progress_artifact(progress_id, progress=100.0)
    create_table_artifact(
        key=artifact_key(LEVELS_KEY),
        table=headed(summary.levels_table()),
        description=_("Customers per dunning level on {day}").format(day=i18n.day(as_of)),
    )
    create_table_artifact(
        key=artifact_key(RISKS_KEY),
        table=headed(summary.top_risks),
        description=_("Top risks on {day}, with the rules' reasons").format(day=i18n.day(as_of)),
    )
    create_table_artifact(
        key=artifact_key(AGEING_KEY),
        table=ageing.per_kam().records(),
        description=_("Receivables ageing per KAM on {day}").format(day=i18n.day(as_of)),
    )
    create_table_artifact(
        key=artifact_key(DECISIONS_KEY),
        table=decided.table().records(),
        description=_(
            "The decision register of {day}: who decided what, why, under which rule-set version"
        ).format(day=i18n.day(as_of)),
    )
    create_markdown_artifact(
        key=artifact_key(SUMMARY_KEY),
        markdown=summary.markdown(),
        description=_("Credit review of {day}").format(day=i18n.day(as_of)),
    )
    create_table_artifact(
        key=artifact_key(RETURNS_KEY),
        table=credited.table().records(),
        description=_("Returns and refusals from {start} to {end}: credit notes by reason (clause 2.11)").format(
            start=i18n.day(since), end=i18n.day(as_of)
        ),
    )
    return summary


@flow(name=service.PROCESS, flow_run_name=run_name, log_prints=False, persist_result=False)
def nightly_credit_review(
    business_date: Annotated[
        dt.date | None,
        Field(description="Business date the review is as of; default: the day the run is scheduled for."),
    ] = None,
    shards: Annotated[
        int, Field(ge=1, le=MAX_SHARDS, description="Slices of the customers reviewed in parallel.")
    ] = 1,
) -> ReviewOutcome:
    as_of = business_date or scheduled_date()
    refuse_running(as_of, this_run=str(flow_run.id))
    with unit_of_work() as session:
        service.start_review(session, as_of=as_of, shards=shards, now=clock.now(), flow_run_id=str(flow_run.id))
    progress_id = cast(
        UUID,
        create_progress_artifact(
            0.0,
            key=artifact_key(PROGRESS_KEY),
            description=_("Credit review of {day}: progress").format(day=i18n.day(as_of)),
        ),
    )
    futures = [run_shard.submit(as_of, shard, shards, progress_id) for shard in range(1, shards)]
    try:
        credit_review_shard(as_of, 0, shards, progress_id)  # shard 0 in this run's own process
    finally:
        wait(futures)  # a failed shard 0 still lets the others end before the run does
    for future in futures:
        future.result()  # the first failed shard fails the run, naming the customer that broke it
    with no_cycle_collection():  # the night's decision register and tables: many objects, none in a cycle
        summary = publish(as_of, progress_id)
    return ReviewOutcome(
        business_date=as_of,
        status=summary.status,
        customers=summary.totals.customers,
        tasks=summary.tasks,
        rules_version=summary.rules_version,
    )
