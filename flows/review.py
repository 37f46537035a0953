"""Flow `nightly-credit-review` (clause 2.13): every active customer reviewed as of a business date, in
shards that run as parallel Prefect tasks; a progress artifact while it runs, then a table of customers per
dunning level, a table of the top risks with their reasons, and a markdown summary.

Orchestration only: the work is `kamflow.review.service`. Re-running a date updates the same review and
creates nothing twice; a date before the latest completed review is refused.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, cast
from uuid import UUID

from prefect import flow, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NONE
from prefect.futures import wait
from prefect.runtime import flow_run
from pydantic import BaseModel, Field

from kamflow import clock
from kamflow.db import unit_of_work
from kamflow.review import service

PROGRESS_KEY = "credit-review-progress"
LEVELS_KEY = "credit-review-levels"
RISKS_KEY = "credit-review-top-risks"
SUMMARY_KEY = "credit-review-summary"


class ReviewOutcome(BaseModel):
    business_date: dt.date
    status: str
    customers: int
    tasks: dict[str, int]
    rules_version: str


def run_name() -> str:
    """The flow run is named after the business date it reviews."""
    business_date = flow_run.parameters.get("business_date") or clock.today()
    return f"credit-review-{business_date}"


@task(name="review-shard", cache_policy=NONE, task_run_name="shard-{shard}-of-{shards}")
def review_shard(as_of: dt.date, shard: int, shards: int, progress_id: UUID) -> service.ShardResult:
    def report_progress() -> None:
        with unit_of_work() as session:
            done = service.progress(session, as_of=as_of)
        update_progress_artifact(progress_id, progress=round(done * 100, 1))

    with unit_of_work() as session:
        return service.run_review(
            session, as_of=as_of, shard=shard, shards=shards, now=clock.now(), on_batch=report_progress
        )


@flow(name=service.PROCESS, flow_run_name=run_name, log_prints=False, persist_result=False)
def nightly_credit_review(
    business_date: Annotated[
        dt.date | None, Field(description="Business date the review is as of; default: today.")
    ] = None,
    shards: Annotated[int, Field(ge=1, le=64, description="Slices of the customers reviewed in parallel.")] = 1,
) -> ReviewOutcome:
    as_of = business_date or clock.today()
    with unit_of_work() as session:
        service.start_review(session, as_of=as_of, shards=shards, now=clock.now(), flow_run_id=str(flow_run.id))
    progress_id = cast(
        UUID, create_progress_artifact(0.0, key=PROGRESS_KEY, description=f"Credit review of {as_of}: progress")
    )
    futures = [review_shard.submit(as_of, shard, shards, progress_id) for shard in range(shards)]
    wait(futures)
    for future in futures:
        future.result()  # the first failed shard fails the run, naming the customer that broke it
    with unit_of_work() as session:
        summary = service.finish_review(session, as_of=as_of, now=clock.now())
    update_progress_artifact(progress_id, progress=100.0)
    create_table_artifact(
        key=LEVELS_KEY, table=summary.levels_table(), description=f"Customers per dunning level on {as_of}"
    )
    create_table_artifact(
        key=RISKS_KEY, table=summary.top_risks, description=f"Top risks on {as_of}, with the rules' reasons"
    )
    create_markdown_artifact(key=SUMMARY_KEY, markdown=summary.markdown(), description=f"Credit review of {as_of}")
    return ReviewOutcome(
        business_date=as_of,
        status=summary.status,
        customers=summary.totals.customers,
        tasks=summary.tasks,
        rules_version=summary.rules_version,
    )
