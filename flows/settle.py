"""`settle`, the shape every process the rules decide shares: the rules decide on the request, a subject that
waits goes to a person through the shared human step, and the report becomes a markdown artifact."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run
from sqlalchemy.orm import Session

from flows import labels
from flows.human import ApprovalInput, Then, Told, human_step
from kamflow import approvals, clock, decisions, i18n
from kamflow.db import unit_of_work
from kamflow.i18n import _


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


class Apply(Protocol):
    """How a settled process carries a decided task's answer onto its subject, once; returns the subject."""

    def __call__(self, session: Session, *, subject_id: int, task_id: int, now: dt.datetime) -> Any: ...


def carry(apply: Apply) -> Then:
    """`apply` as the human step runs it, in the transaction that decides the task."""
    return lambda session, task, now: apply(session, subject_id=task.subject_id, task_id=task.id, now=now)


class Request(Protocol):
    """What a process is started with: whoever asks becomes the requester of its task."""

    @property
    def requester(self) -> str: ...


Row = TypeVar("Row")


def _told(step: Callable[[Row], Step], row: Row) -> Told:
    """The subject's title and report in each language, for the resume form of whoever it waits for."""
    told: dict[i18n.Language, tuple[str, str]] = {}
    for language in i18n.LANGUAGES:
        with i18n.reading(language):
            shown = step(row)
        told[language] = (shown.title, shown.report)
    return told


def settle(
    request: Request,
    *,
    submit: Callable[..., Row],
    apply: Apply,
    step: Callable[[Row], Step],
    answer: type[ApprovalInput],
) -> Row:
    """The rules decide on the request (`submit`, once per flow run); a subject that waits goes to a person
    through the shared human step and their answer is carried over (`apply`, in the transaction that decides the
    task — by the flow or by a command — and so once: read again after the wait, it changes nothing); the report
    becomes a markdown artifact, with the person's decision (what, by whom, when, why) when one decided."""
    with unit_of_work() as session:
        row = submit(session, request=request, flow_run_id=str(flow_run.id), now=clock.now())
        now = step(row)
        told = _told(step, row)
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
            then=carry(apply),
            told=told,
        )
        with unit_of_work() as session:
            row = apply(session, subject_id=now.subject_id, task_id=task.id, now=clock.now())
            now = step(row)
    with unit_of_work() as session:  # decided by a person: here, or by a command before the run came back
        last = approvals.current(session, process=now.process, subject_id=now.subject_id)
        verdict = None if last is None else decisions.human(last)
    report = (
        now.report
        if verdict is None
        else _("{report}\n\n**Decided:** {verdict}").format(report=now.report, verdict=verdict.text())
    )
    create_markdown_artifact(key=labels.artifact_key(now.report_key), markdown=report, description=now.summary)
    return row
