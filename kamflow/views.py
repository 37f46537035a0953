"""What people are shown of a subject: a typed view that serialises to the JSON of `--json` and writes itself as
the lines a person reads. Every view the App shows is one of these."""

from __future__ import annotations

from typing import TypedDict

from pydantic import BaseModel, ConfigDict


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


class Waiting(TypedDict):
    """Who a subject waits for: its open task and whoever may act on it today, or who decided it."""

    task_id: int | None
    assignee: str | None
    decided_by: str | None


class Explained(View):
    """A subject the rules decided on: the reasons they gave, and while it waits for a person, its open task and
    who may act on it (`decided_by` once a person decided it)."""

    reasons: list[Reason]
    task_id: int | None
    assignee: str | None
    decided_by: str | None

    def waiting_lines(self) -> list[str]:
        return [f"waiting for {self.assignee} — task {self.task_id}"] if self.task_id else []

    def reason_lines(self) -> list[str]:
        return [f"  - {r.rule}: {r.text}" for r in self.reasons]
