"""`settle`, the shape every process the rules decide shares: the rules decide on the request, a subject that
waits goes to a person through the shared human step, and the report becomes a markdown artifact."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

from flows import labels
from flows.human import ApprovalInput, human_step
from kamflow import approvals, clock
from kamflow.db import unit_of_work


@dataclass(frozen=True)
class Step:
    """Where a subject stands: whether it waits for a person, and what the human step and the report show."""

    process: str
    subject_id: int
    run_name: str
    """What the run is called in the ops console once the subject exists, e.g. `discount-7-C0001`."""
    customer: str | None
    waiting: bool
    title: str
    role: str
    report: str
    report_key: str
    summary: str
    check: approvals.Check


class Request(Protocol):
    """What a process is started with: whoever asks becomes the requester of its task."""

    @property
    def requester(self) -> str: ...


Row = TypeVar("Row")


def settle(
    request: Request,
    *,
    submit: Callable[..., Row],
    apply: Callable[..., Row],
    step: Callable[[Row], Step],
    answer: type[ApprovalInput],
) -> Row:
    """The rules decide on the request (`submit`, once per flow run); a subject that waits goes to a person
    through the shared human step and their answer is carried over (`apply`); the report becomes a markdown
    artifact."""
    with unit_of_work() as session:
        row = submit(session, request=request, flow_run_id=str(flow_run.id), now=clock.now())
        now = step(row)
    labels.label_run(now.run_name, process=now.process, customer=now.customer)
    if now.waiting:
        task = human_step(
            process=now.process,
            subject_id=now.subject_id,
            title=now.title,
            explanation=now.report,
            role=now.role,
            requester=request.requester,
            answer=answer,
            check=now.check,
        )
        with unit_of_work() as session:
            row = apply(session, subject_id=now.subject_id, task_id=task.id, now=clock.now())
            now = step(row)
    create_markdown_artifact(key=labels.artifact_key(now.report_key), markdown=now.report, description=now.summary)
    return row
