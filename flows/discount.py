"""Flow `discount-authorization`: rules decide; an unusual request waits for the department head."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run
from pydantic import BaseModel, Field

from flows.human import ApprovalInput, DecimalText, human_step
from kamflow import clock, discounts
from kamflow.db import unit_of_work
from kamflow.discounts import DiscountRequestIn
from kamflow.reports import decision_markdown


class DiscountAnswer(ApprovalInput):
    """The department head's answer to an escalated discount request."""

    action: Literal["approve", "reject", "counter"] = Field(
        title="Decision",
        description="approve: grant the discount as asked · reject: refuse it · counter: grant a lower discount, "
        "given below",
    )
    discount_pct: Annotated[Decimal, DecimalText(digits=2, decimals=4, positive=True)] | None = Field(
        default=None,
        title="Counter-offer (%)",
        description="Only when you counter: the lower discount you grant, in percent, with a dot for "
        "decimals, e.g. 12.5.",
    )


class DiscountOutcome(BaseModel):
    request_id: int
    status: str
    granted_pct: Decimal | None
    rules_version: str


@flow(name=discounts.PROCESS, persist_result=True, log_prints=False)
def discount_authorization(request: DiscountRequestIn) -> DiscountOutcome:
    with unit_of_work() as session:
        row = discounts.submit(session, request=request, flow_run_id=str(flow_run.id), now=clock.now())
        explanation = decision_markdown(row)
        check = discounts.check_answer(row)
    if row.status == "pending":
        task = human_step(
            process=discounts.PROCESS,
            subject_id=row.id,
            title=f"Discount for {request.customer}",
            explanation=explanation,
            role=row.decision["role"],
            requester=request.requester,
            answer=DiscountAnswer,
            check=check,
        )
        with unit_of_work() as session:
            row = discounts.apply_answer(session, request_id=row.id, task_id=task.id, now=clock.now())
            explanation = decision_markdown(row)
    create_markdown_artifact(
        key=f"discount-request-{row.id}",
        markdown=explanation,
        description=f"Discount request {row.id}: {row.status}",
    )
    return DiscountOutcome(
        request_id=row.id, status=row.status, granted_pct=row.granted_pct, rules_version=row.rules_version
    )
