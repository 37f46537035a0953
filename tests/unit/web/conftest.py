"""The workspace in-process: FastAPI's TestClient on kamflow's own application, on the test's demo database."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from kamflow.app.server import create_app
from kamflow.settings import Settings

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf(client: TestClient, path: str = "/signin") -> str:
    """The form token a page of the session carries."""
    found = CSRF.search(client.get(path).text)
    assert found is not None, f"{path} has no form token"
    return found.group(1)


def sign_in(client: TestClient, login: str, password: str | None = None) -> None:
    """Sign in through the sign-in page: the demo picker, or login and password."""
    form = {"csrf": csrf(client), "login": login, **({"password": password} if password else {})}
    answer = client.post("/signin", data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client
