"""A subject's history as people read it, from the audit trail: every step — who (login, name, position), when (in
the company's timezone), what in words, the comment, and the rule-set or document version when there is one.

Read in one query: the subject's own events and those of its approval tasks, each with the person who acted. A
person's answer is audited twice — on its task (`task_decided`, with the comment) and where it is carried onto
the subject (naming the task, or for a document's answer with its step's kind): the history shows it once."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, Field
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from kamflow import i18n
from kamflow.approvals import outcome
from kamflow.decisions import figure
from kamflow.i18n import N_, _
from kamflow.models import ApprovalTask, AuditEvent, Employee
from kamflow.reports import figure_text, when, words
from kamflow.settings import get_settings
from kamflow.started import DOCUMENT_APPROVALS, kind
from kamflow.views import View, said

DOCUMENT_ANSWERS = {
    **{f"document_{kind}": outcome for kind, outcome in DOCUMENT_APPROVALS.items()},
    "document_returned": "RETURNED",
    "document_rejected": "REJECTED",
    "document_revised": "REVISED",
}
"""A document's audit events that carry a person's answer onto it, as the outcome reads."""

RULES_SAID = (N_("approve"), N_("reject"), N_("escalate"), N_("block"), N_("prepayment"), N_("approve limit"))
"""What the rules may say, in words, for the catalog."""

EVENTS = {
    "document_submitted": N_("submitted"),
    "document_effective": N_("effective"),
    "stage_opened": N_("stage opened"),
    "limit_applied": N_("limit applied"),
    "prepayment_received": N_("prepayment received"),
    "order_changed": N_("order changed"),
    "order_cancelled": N_("order cancelled"),
    "order_released_on_prepayment": N_("order released on prepayment"),
    "order_released_on_recheck": N_("order released on recheck"),
    "order_still_blocked_on_recheck": N_("order still blocked on recheck"),
    "subject_cancelled": N_("cancelled"),
}
"""What kamflow does on a subject, as its history says it (any other event is spelt out from its action)."""


class Step(View):
    """One step of a subject's history."""

    event_id: int
    at: AwareDatetime
    actor: str
    actor_name: str | None
    actor_position: str | None
    what: str
    comment: str
    version: str | None
    shown: str = Field(default="", exclude=True, description="What it did in the reader's language.")

    def text(self) -> str:
        who = self.actor if self.actor_name is None else f"{self.actor_name} ({self.actor_position})"
        comment = f" — {self.comment!r}" if self.comment else ""
        version = _(" [version {version}]").format(version=self.version) if self.version else ""
        return f"{when(self.at)}  {who}: {self.shown or self.what}{comment}{version}"


def _what(event: AuditEvent) -> str:
    """What an event did, in words, in the reader's language."""
    detail: dict[str, Any] = event.detail
    action, task = event.action, event.subject_id
    if event.actor == "rules":
        return _("the rules said {what}").format(what=_(words(action.rsplit("_", 1)[-1])))
    if action == "task_opened":
        return _("task {task} opened for {owner} ({role})").format(
            task=task, owner=detail["owner"], role=_(words(detail["role"]))
        )
    if action == "task_decided":
        given = figure(detail.get("payload", {}))
        signed = detail.get("signed", event.actor)
        behalf = _(" for {login}").format(login=signed.split(" for ", 1)[1]) if " for " in signed else ""
        return _("{outcome}{figure}{behalf} (task {task})").format(
            outcome=said(outcome(detail["action"])),
            figure=" " + figure_text(given) if given else "",
            behalf=behalf,
            task=task,
        )
    if action == "task_escalated":
        return _("task {task} escalated from {from_} to {to}").format(
            task=task, from_=detail["from"], to=detail["to"]
        )
    if action == "task_cancelled":
        return _("task {task} cancelled: {reason}").format(task=task, reason=detail["reason"])
    if action == "task_closed":
        return _("task {task} closed by kamflow: {what}").format(task=task, what=_(words(detail["action"])))
    if action == "input_refused":
        return _("an answer to task {task} was refused: {reason}").format(task=task, reason=detail["reason"])
    if action == "withdrawn":
        behalf = _(" for {login}").format(login=detail["on_behalf_of"]) if detail.get("on_behalf_of") else ""
        return said("withdrawn") + behalf
    if action in EVENTS:
        return _(EVENTS[action])
    return _(words(action.removeprefix("document_")))


def _comment(event: AuditEvent) -> str:
    if event.actor == "rules":
        return "; ".join(reason["text"] for reason in event.reasons)
    return str(event.detail.get("comment") or event.detail.get("reason") or "")


def timeline(session: Session, *, process: str, subject_id: int) -> list[Step]:
    """The subject's history, oldest first (NotFound for a process nobody starts)."""
    subject_type = kind(process).subject_type
    tasks = select(ApprovalTask.id).where(ApprovalTask.process == process, ApprovalTask.subject_id == subject_id)
    rows = session.execute(
        select(AuditEvent, Employee)
        .outerjoin(Employee, Employee.login == AuditEvent.actor)
        .where(
            or_(
                and_(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id),
                and_(AuditEvent.subject_type == "approval_task", AuditEvent.subject_id.in_(tasks)),
            )
        )
        .order_by(AuditEvent.seq)
    ).all()
    tz = get_settings().tz
    steps: list[Step] = []
    by_task: dict[int, int] = {}  # a task_decided step's place, by its task
    by_moment: dict[tuple[object, str], int] = {}  # … and by its instant and actor
    answers: dict[int, AuditEvent] = {}  # the task_decided event of each step that shows one, by its place
    for event, person in rows:
        place = _answer_shown(event, subject_type, by_task, by_moment)
        if place is not None and steps[place].actor == event.actor:
            if event.action in DOCUMENT_ANSWERS:  # the document says which answer it was, and of which version
                decided, answer = steps[place], DOCUMENT_ANSWERS[event.action]
                what = f"{answer} {decided.what.split(' ', 1)[1]}"
                shown = f"{said(answer)} {decided.shown.split(' ', 1)[1]}"
                steps[place] = decided.model_copy(
                    update={"what": what, "shown": shown, "version": str(event.detail["version"])}
                )
            continue
        version = event.rules_version[:12] if event.rules_version else event.detail.get("version")
        steps.append(
            Step(
                event_id=event.id,
                at=event.at.astimezone(tz),
                actor=event.actor,
                actor_name=None if person is None else person.full_name,
                actor_position=None if person is None else person.position,
                what=_as_data(event),
                shown=_what(event),
                comment=_comment(event),
                version=None if version is None else str(version),
            )
        )
        if event.action == "task_decided":
            by_task[event.subject_id] = by_moment[(event.at, event.actor)] = len(steps) - 1
            answers[len(steps) - 1] = event
    return steps


def _as_data(event: AuditEvent) -> str:
    """What an event did as the history's data keeps it: the same in every language (the code's, English)."""
    with i18n.reading(i18n.SOURCE):
        return _what(event)


def _answer_shown(
    event: AuditEvent, subject_type: str, by_task: dict[int, int], by_moment: dict[tuple[object, str], int]
) -> int | None:
    """Where the history already shows the person's answer an event on the subject carries over: the step of its
    task's `task_decided` (named by the event, or for a document's answer, made at the same instant)."""
    if event.subject_type != subject_type:
        return None
    if "task" in event.detail:
        return by_task.get(event.detail["task"])
    return by_moment.get((event.at, event.actor)) if event.action in DOCUMENT_ANSWERS else None
