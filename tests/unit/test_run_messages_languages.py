"""What a command says while it waits on a run, and when it stops waiting (exit 5), in the reader's language; and
a long command's progress lines, numbers written the reader's way."""

from __future__ import annotations

import io
import uuid

import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.runs import wait_for, watch
from kamflow import i18n
from kamflow.app import progress
from kamflow.errors import ServiceUnavailable
from tests.support import free_port


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("es", "se agotó el tiempo de espera de la solicitud; ¿está en marcha `kamflow serve`?"),
        ("en", "timed out waiting for the request; is `kamflow serve` running?"),
    ],
)
def test_a_wait_that_times_out_says_so_in_the_reader_s_words(language: i18n.Language, said: str) -> None:
    with i18n.reading(language), pytest.raises(ServiceUnavailable) as stopped:
        wait_for({"es": "la solicitud", "en": "the request"}[language], lambda: None, timeout=0)
    assert stopped.value.message == said and stopped.value.exit_code == 5


def test_prefect_s_api_not_answering_is_said_in_spanish() -> None:
    api = f"http://127.0.0.1:{free_port()}/api"
    with temporary_settings({PREFECT_API_URL: api}), i18n.reading("es"), pytest.raises(ServiceUnavailable) as down:
        watch(uuid.uuid4(), what="la solicitud")
    message = down.value.message
    assert message.startswith(f"se dejó de esperar la solicitud: la API de Prefect en {api} no responde (")
    assert "No se pierde nada" in message and "{" not in message


@pytest.mark.parametrize(
    ("language", "line"),
    [("es", "importando: 1.234 de 5.000 filas, hecho en "), ("en", "importing: 1,234 of 5,000 rows, done in ")],
)
def test_progress_lines_in_the_reader_s_words(
    language: i18n.Language, line: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progress, "PLAIN_EVERY", 0)
    shown = io.StringIO()
    what, unit = {"es": ("importando", "filas"), "en": ("importing", "rows")}[language]
    with i18n.reading(language), progress.Progress(what, unit=unit, stream=shown) as bar:
        bar.update(1234, 5000)
    lines = shown.getvalue().splitlines()
    assert lines[0] == f"{what} …" and lines[-1].startswith(line) and lines[-1].endswith(" s")
    assert lines[-1].removeprefix(line)[1] == {"es": ",", "en": "."}[language]  # 0,0 s / 0.0 s
