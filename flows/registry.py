"""Every process kamflow runs: its deployment, and the answer its human step waits for.

A new process registers here: one entry in `deployments` and, if people decide in it, one in `ANSWERS`.
"""

from __future__ import annotations

from typing import cast

from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron
from prefect.types.entrypoint import EntrypointType
from sqlalchemy.orm import Session

from flows.deadlines import approval_deadlines
from flows.discount import DiscountAnswer, discount_authorization
from flows.documents import DocumentAnswer, document_approval
from flows.human import ApprovalInput
from flows.order_credit import LimitChangeAnswer, OrderCreditAnswer, credit_limit_change, order_credit_check
from flows.review import SHARD_PROCESS, credit_review_shard, nightly_credit_review
from flows.solvency import SolvencyAnswer, solvency_check
from kamflow import approvals, discounts
from kamflow.credit import limits, orders, solvency
from kamflow.documents import service as documents
from kamflow.errors import NotFound
from kamflow.models import ApprovalTask
from kamflow.settings import Settings

ANSWERS: dict[str, tuple[type[ApprovalInput], approvals.CheckFor]] = {
    discounts.PROCESS: (DiscountAnswer, lambda s, t: discounts.check_answer(discounts.get(s, t.subject_id))),
    documents.PROCESS: (DocumentAnswer, documents.check_for),
    orders.PROCESS: (OrderCreditAnswer, lambda s, t: orders.check_answer(orders.get(s, t.subject_id))),
    limits.PROCESS: (LimitChangeAnswer, lambda s, t: limits.check_answer(limits.get(s, t.subject_id))),
    solvency.PROCESS: (SolvencyAnswer, lambda s, t: solvency.check_answer(solvency.get(s, t.subject_id))),
}


def answer_model(session: Session, task: ApprovalTask) -> tuple[type[ApprovalInput], approvals.Check]:
    if task.process not in ANSWERS:
        raise NotFound(f"no process {task.process!r}", field="task")
    model, check_for = ANSWERS[task.process]
    return model, check_for(session, task)


def deployments(settings: Settings) -> list[RunnerDeployment]:
    made = [
        discount_authorization.to_deployment(
            name="discount-authorization",
            entrypoint_type=EntrypointType.MODULE_PATH,
            description="Discount authorization by price-list column and company norms (2.9, 2.18).",
        ),
        document_approval.to_deployment(
            name="document-approval",
            entrypoint_type=EntrypointType.MODULE_PATH,
            description="Internal documents through their approval chains: agree, approve, acknowledge.",
        ),
        order_credit_check.to_deployment(
            name=orders.PROCESS,
            entrypoint_type=EntrypointType.MODULE_PATH,
            description="Every order against the credit limits; a blocked order waits for its release (2.6, 2.8).",
        ),
        credit_limit_change.to_deployment(
            name=limits.PROCESS,
            entrypoint_type=EntrypointType.MODULE_PATH,
            description="Credit-limit changes, approved where the rules say so; blocked orders re-checked.",
        ),
        solvency_check.to_deployment(
            name=solvency.PROCESS,
            entrypoint_type=EntrypointType.MODULE_PATH,
            description="Customer solvency: ratios, Altman score, payment history, risk class, decision (2.5).",
        ),
        approval_deadlines.to_deployment(
            name="approval-deadlines",
            entrypoint_type=EntrypointType.MODULE_PATH,
            interval=settings.deadline_sweep_seconds,
            description="Escalates approval tasks past their deadline to the next level.",
        ),
        nightly_credit_review.to_deployment(
            name=nightly_credit_review.name,
            entrypoint_type=EntrypointType.MODULE_PATH,
            schedules=[Cron(settings.review_cron, timezone=settings.timezone)],
            description="Nightly credit review: ageing, dunning, collection tasks for the KAM (2.13).",
        ),
        credit_review_shard.to_deployment(
            name=SHARD_PROCESS,
            entrypoint_type=EntrypointType.MODULE_PATH,
            description="One slice of a started nightly credit review; the review starts it, on any worker.",
        ),
    ]
    return [cast(RunnerDeployment, d) for d in made]
