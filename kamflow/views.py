"""What people are shown of a subject: a typed view that serialises to the JSON of `--json` and writes itself as
the lines a person reads. Every view the App shows is one of these."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class View(BaseModel):
    """A view of a subject: `model_dump(mode="json")` for machines, `text()` for people."""

    model_config = ConfigDict(frozen=True)

    def text(self) -> str:
        """The view as the lines a person reads."""
        raise NotImplementedError(f"{type(self).__name__} does not say how it reads")
