"""Every process kamflow runs, as a deployment `kamflow serve` serves. A new process registers here: one entry
in `deployments` and, if people decide in it, one in `flows.processes.PROCESSES`.
"""

from __future__ import annotations

from typing import cast

from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron
from prefect.types.entrypoint import EntrypointType

from flows.deadlines import approval_deadlines
from flows.discount import discount_authorization
from flows.documents import document_approval
from flows.order_credit import credit_limit_change, order_credit_check
from flows.review import SHARD_PROCESS, credit_review_shard, nightly_credit_review
from flows.solvency import solvency_check
from kamflow.credit import limits, orders, solvency
from kamflow.settings import Settings


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
