"""Every process kamflow runs: its deployment, and the answer its human step waits for.

A new process registers here: one entry in `deployments` and, if people decide in it, one in `ANSWERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from prefect.deployments.runner import RunnerDeployment
from prefect.types.entrypoint import EntrypointType
from sqlalchemy.orm import Session

from flows.deadlines import approval_deadlines
from flows.discount import DiscountAnswer, discount_authorization
from flows.human import ApprovalInput
from kamflow import approvals, discounts
from kamflow.errors import NotFound
from kamflow.models import ApprovalTask
from kamflow.settings import Settings

CheckFor = Callable[[Session, ApprovalTask], approvals.Check]

ANSWERS: dict[str, tuple[type[ApprovalInput], CheckFor]] = {
    discounts.PROCESS: (DiscountAnswer, lambda s, t: discounts.check_answer(discounts.get(s, t.subject_id))),
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
        approval_deadlines.to_deployment(
            name="approval-deadlines",
            entrypoint_type=EntrypointType.MODULE_PATH,
            interval=settings.deadline_sweep_seconds,
            description="Escalates approval tasks past their deadline to the next level.",
        ),
    ]
    return [cast(RunnerDeployment, d) for d in made]
