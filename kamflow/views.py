"""What people are shown of a subject: a typed view that serialises to the JSON of `--json` (the same in every
language) and writes itself as the lines a person reads, in the reader's language (`kamflow.i18n`). Every view the
App shows is one of these."""

from __future__ import annotations

from typing import TypedDict

from pydantic import AwareDatetime, BaseModel, ConfigDict

from kamflow import reports
from kamflow.i18n import N_, _

SAID = (
    *(N_("APPROVED"), N_("AGREED"), N_("ACKNOWLEDGED"), N_("COUNTERED"), N_("REJECTED"), N_("RELEASED")),
    *(N_("RELEASED WITH PREPAYMENT"), N_("LIMIT APPROVED"), N_("PREPAYMENT ONLY"), N_("RETURNED"), N_("REVISED")),
    *(N_("WITHDRAWN"), N_("PENDING"), N_("ESCALATED"), N_("BLOCKED"), N_("APPLIED"), N_("DECIDED")),
    *(N_("CANCELLED"), N_("IN REVIEW"), N_("EFFECTIVE"), N_("OPEN"), N_("DONE"), N_("MET"), N_("SUPERSEDED")),
    *(N_("APPROVE"), N_("REJECT"), N_("PREPAYMENT"), N_("APPROVE LIMIT"), N_("RUNNING"), N_("COMPLETED")),
    *(N_("FAILED"), N_("DRAFT"), N_("ESCALATE"), N_("BLOCK")),
)
"""The statuses and outcomes people read in capitals (a person's APPROVED, a request's PENDING), for the
catalog."""


def said(word: str) -> str:
    """A status or an outcome (approved, in_review, COUNTERED) as the reader reads it: in capitals, in their
    language."""
    return _(word.upper().replace("_", " "))


class View(BaseModel):
    """A view of a subject: `model_dump(mode="json")` for machines, `text()` for people."""

    model_config = ConfigDict(frozen=True)

    def text(self) -> str:
        """The view as the lines a person reads."""
        raise NotImplementedError(f"{type(self).__name__} does not say how it reads")


class Part(BaseModel):
    """A row or a block inside a view (a step, a category, a journal line): serialised with it."""

    model_config = ConfigDict(frozen=True)


class Reason(Part):
    """A rule that fired and why, as a view shows it."""

    rule: str
    text: str


class Person(Part):
    """Someone as people name them: login, full name and position."""

    login: str
    name: str
    position: str

    def text(self) -> str:
        return f"{self.name} ({self.position})"


class HumanDecision(Part):
    """The human part of a decision: what the person decided (APPROVED, COUNTERED, REJECTED, RELEASED, …) and
    the figure they gave with it, who (and for whom, when they stand in), when — an aware instant, shown in the
    company's timezone — and their comment."""

    outcome: str
    figure: str | None
    by: Person
    on_behalf_of: str | None
    at: AwareDatetime
    comment: str

    def text(self) -> str:
        """'COUNTERED 12.5% by Ana Ruiz (department head), 2026-03-16 10:42 CET, 'too much'' in the reader's
        language."""
        figure = f" {reports.figure_text(self.figure)}" if self.figure else ""
        behalf = _(" for {login}").format(login=self.on_behalf_of) if self.on_behalf_of else ""
        comment = f", {self.comment!r}" if self.comment else ""
        return _("{outcome}{figure} by {person}{behalf}, {at}{comment}").format(
            outcome=said(self.outcome),
            figure=figure,
            person=self.by.text(),
            behalf=behalf,
            at=reports.when(self.at),
            comment=comment,
        )


class Waiting(TypedDict):
    """Who a subject waits for: its open task and whoever may act on it today, or who decided it and how."""

    task_id: int | None
    assignee: str | None
    decided_by: str | None
    verdict: HumanDecision | None


class Explained(View):
    """A subject the rules decided on: the reasons they gave, and while it waits for a person, its open task and
    who may act on it (`decided_by` and the decision's human part, `verdict`, once a person decided it)."""

    reasons: list[Reason]
    task_id: int | None
    assignee: str | None
    decided_by: str | None
    verdict: HumanDecision | None

    def waiting_lines(self) -> list[str]:
        """The open task and its assignee while it waits; the person's decision once made."""
        if self.task_id:
            return [_("waiting for {assignee} — task {task}").format(assignee=self.assignee, task=self.task_id)]
        return [self.verdict.text()] if self.verdict is not None else []

    def reason_lines(self) -> list[str]:
        return [f"  - {r.rule}: {r.text}" for r in self.reasons]

    def rules_line(self, version: str) -> str:
        """The rule set's version the decision was made by."""
        return _("rules version {version}").format(version=version[:12])
