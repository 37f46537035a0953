"""kamflow's HTTP API: token-authenticated JSON for people's commands, served with the workspace."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()


@router.get("/health")
def health() -> dict[str, bool]:
    """Whether the server answers (for `production.sh status` and the tests)."""
    return {"ok": True}
