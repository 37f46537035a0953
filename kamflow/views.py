"""What people are shown of a subject: a typed view that serialises to the JSON of `--json` and writes itself as
the lines a person reads. Every view the App shows is one of these."""

from __future__ import annotations

from typing import TypedDict

from pydantic import AwareDatetime, BaseModel, ConfigDict


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
        """'COUNTERED 12.5% by Ana Ruiz (department head), 2026-03-16 10:42 CET, 'too much''."""
        figure = f" {self.figure}" if self.figure else ""
        behalf = f" for {self.on_behalf_of}" if self.on_behalf_of else ""
        comment = f", {self.comment!r}" if self.comment else ""
        return f"{self.outcome}{figure} by {self.by.text()}{behalf}, {self.at:%Y-%m-%d %H:%M %Z}{comment}"


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
            return [f"waiting for {self.assignee} — task {self.task_id}"]
        return [self.verdict.text()] if self.verdict is not None else []

    def reason_lines(self) -> list[str]:
        return [f"  - {r.rule}: {r.text}" for r in self.reasons]
