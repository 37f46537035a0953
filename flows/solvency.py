"""Flow `solvency-check` (clause 2.5): the rules classify the customer and decide; an unusual case waits
for the department head. Thin orchestration over `kamflow.credit.solvency`; a markdown report per check."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from prefect import flow
from pydantic import BaseModel, Field

from flows.human import ApprovalInput, DecimalText
from flows.settle import Step, settle
from kamflow import labels
from kamflow.credit import reports, solvency
from kamflow.credit.solvency import SolvencyCheckIn
from kamflow.credit.tables import CreditCheck
from kamflow.i18n import N_, _
from kamflow.reports import words


class SolvencyAnswer(ApprovalInput):
    """The department head's answer to an escalated solvency check."""

    action: Literal["approve_limit", "prepayment", "reject"] = Field(
        title=N_("Decision"),
        description=N_(
            "approve_limit: grant a credit limit (the proposed one, or the one given below) · prepayment: sell "
            "against prepayment only · reject: no business on credit"
        ),
    )
    amount: Annotated[Decimal, DecimalText(digits=16, decimals=2)] | None = Field(
        default=None,
        title=N_("Credit limit"),
        description=N_(
            "Only to grant another limit than the proposed one: the limit, in the customer's currency, without "
            "thousands separators, e.g. 50000. Leave it empty to grant the proposed limit."
        ),
    )


class SolvencyOutcome(BaseModel):
    check_id: int
    risk_class: str
    decision: str | None
    approved_limit: Decimal | None
    rules_version: str


def _step(check: CreditCheck) -> Step:
    decided = words(check.decision) if check.decision else labels.status(check.status)
    return Step(
        process=solvency.PROCESS,
        subject_id=check.id,
        run_name=f"solvency-{check.id}-{check.customer.code}",
        customer=check.customer.code,
        waiting=check.status == "pending",
        title=_("Solvency of {customer}: risk class {risk_class}").format(
            customer=check.customer.code, risk_class=check.risk_class
        ),
        role=check.decisions["solvency"]["role"],
        report=reports.solvency_markdown(check),
        report_key=f"solvency-check-{check.id}",
        summary=_("Solvency check {id} of {customer}: {decision}").format(
            id=check.id, customer=check.customer.code, decision=decided
        ),
        check=solvency.check_answer(check),
    )


@flow(name=solvency.PROCESS, persist_result=True, log_prints=False)
def solvency_check(request: SolvencyCheckIn) -> SolvencyOutcome:
    check = settle(
        request,
        submit=solvency.submit,
        apply=solvency.apply_answer,
        step=_step,
        answer=SolvencyAnswer,
    )
    return SolvencyOutcome(
        check_id=check.id,
        risk_class=check.risk_class,
        decision=check.decision,
        approved_limit=check.approved_limit,
        rules_version=check.rules_version,
    )
