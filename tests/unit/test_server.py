"""kamflow's own server: one application for the API and the workspace."""

from __future__ import annotations

from fastapi.testclient import TestClient

from kamflow.app.server import create_app
from kamflow.settings import Settings


def test_the_api_answers_its_health_check(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        answer = client.get("/api/health")
    assert answer.status_code == 200 and answer.json() == {"ok": True}
