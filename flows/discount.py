"""Flow `discount-authorization`: rules decide; an unusual request waits for the department head. Thin
orchestration over `kamflow.discounts.service` in the shape of `flows.settle`."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from prefect import flow
from pydantic import BaseModel, Field

from flows.human import ApprovalInput, DecimalText
from flows.settle import Step, settle
from kamflow import labels
from kamflow.discounts import PROCESS
from kamflow.discounts import service as discounts
from kamflow.discounts.service import DiscountRequestIn
from kamflow.discounts.tables import DiscountRequest
from kamflow.discounts.views import decision_markdown
from kamflow.i18n import N_, _
from kamflow.reports import pct


class DiscountAnswer(ApprovalInput):
    """The department head's answer to an escalated discount request."""

    action: Literal["approve", "reject", "counter"] = Field(
        title=N_("Decision"),
        description=N_(
            "approve: grant the discount as asked · reject: refuse it · counter: grant a lower discount, given "
            "below"
        ),
    )
    discount_pct: Annotated[Decimal, DecimalText(digits=2, decimals=4, positive=True)] | None = Field(
        default=None,
        title=N_("Counter-offer (%)"),
        description=N_(
            "Only when you counter: the lower discount you grant, in percent, with a decimal comma or dot, "
            "e.g. 12.5."
        ),
    )


class DiscountOutcome(BaseModel):
    request_id: int
    status: str
    granted_pct: Decimal | None
    rules_version: str


def _step(row: DiscountRequest) -> Step:
    return Step(
        process=PROCESS,
        subject_id=row.id,
        run_name=f"discount-{row.id}-{row.customer.code}",
        customer=row.customer.code,
        waiting=row.status == "pending",
        title=_("Discount {id} for {customer}: {pct} asked").format(
            id=row.id, customer=row.customer.code, pct=pct(row.discount_pct)
        ),
        role=row.decision["role"],
        report=decision_markdown(row),
        report_key=f"discount-request-{row.id}",
        summary=_("Discount request {id}: {status}").format(id=row.id, status=labels.status(row.status)),
        check=discounts.check_answer(row),
    )


@flow(name=PROCESS, persist_result=True, log_prints=False)
def discount_authorization(request: DiscountRequestIn) -> DiscountOutcome:
    row = settle(
        request,
        submit=discounts.submit,
        apply=discounts.apply_answer,
        step=_step,
        answer=DiscountAnswer,
    )
    return DiscountOutcome(
        request_id=row.id, status=row.status, granted_pct=row.granted_pct, rules_version=row.rules_version
    )
