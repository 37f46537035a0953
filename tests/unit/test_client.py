"""The CLI side's way to Prefect: a missing server is a clear error that says where it looked and what to start."""

from __future__ import annotations

import socket

import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings

from kamflow.app.runs import start_run
from kamflow.errors import ServiceUnavailable


def test_starting_a_run_with_no_server_names_the_api_and_kamflow_serve() -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        api = f"http://127.0.0.1:{probe.getsockname()[1]}/api"
    with temporary_settings({PREFECT_API_URL: api}), pytest.raises(ServiceUnavailable) as refused:
        start_run("nightly-credit-review/nightly-credit-review", {})
    assert api in refused.value.message
    assert "is `kamflow serve` running?" in refused.value.message
    assert refused.value.exit_code == 5  # the README's "the service is not running"
