"""The approval sheet in the reader's language: APROBADO / ACORDADO, the chain's Spanish title and the signers'
positions, dates as 16/03/2026, as the seed's company writes them; APPROVED / AGREED and 2026-03-16 in English.
A job description written in Spanish has the sections the chain requires, as its Spanish labels name them; each
person's task on a step is written in their language, with the chain's names for its stage and step."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from kamflow import i18n, org
from kamflow.documents import views
from kamflow.documents.submission import DEMO_JOB_DESCRIPTION_ES
from kamflow.errors import InvalidInput
from tests.unit.documents.conftest import act, agree_all, submit, waiting


def approved_sheet(session: Session, language: i18n.Language, content: str | None = None) -> str:
    document = submit(session) if content is None else submit(session, content=content)
    agree_all(session, document)
    act(session, waiting(session, document)["director"], "director")
    with i18n.reading(language):
        return views.sheet_markdown(session, document.id)


def test_the_sheet_in_spanish_says_aprobado_and_acordado_with_spanish_dates(session: Session) -> None:
    sheet = approved_sheet(session, "es")
    approved, agreed = sheet.split("## APROBADO")[1].split("## ACORDADO")
    assert sheet.startswith("# Hoja de aprobación: ") and "Descripción del puesto · documento" in sheet
    assert "**APROBADO**" in sheet and "| cargo | nombre | fecha y hora | versión |" in sheet
    assert "| Director de la empresa | Martínez Ruiz C. | 16/03/2026 10:30 CET | 1 |" in approved
    assert "| Asesor jurídico | Álvarez Molina F. | 16/03/2026" in agreed
    assert "APPROVED" not in sheet and "AGREED" not in sheet and "2026-03-16" not in sheet and "{" not in sheet


def test_the_sheet_in_english_says_approved_and_agreed(session: Session) -> None:
    sheet = approved_sheet(session, "en")
    approved, agreed = sheet.split("## APPROVED")[1].split("## AGREED")
    assert sheet.startswith("# Approval sheet: ") and "Job description · document" in sheet
    assert "| Company Director | Martínez Ruiz C. | 2026-03-16 10:30 CET | 1 |" in approved
    assert "| Legal Counsel | Álvarez Molina F. |" in agreed and "APROBADO" not in sheet


def test_a_job_description_written_in_spanish_goes_through_the_chain(session: Session) -> None:
    content = DEMO_JOB_DESCRIPTION_ES.read_text(encoding="utf-8")
    sheet = approved_sheet(session, "es", content)
    assert "# Hoja de aprobación: Descripción del puesto del gerente de cuentas clave" in sheet
    with i18n.reading("es"), pytest.raises(InvalidInput) as refused:
        submit(session, content=content.replace("## 3. Derechos", "## 3. Otros"))
    assert refused.value.field == "file"
    assert str(refused.value) == "Descripción del puesto: faltan las secciones: Derechos"


def test_each_person_s_task_is_written_in_their_language(session: Session) -> None:
    org.employee(session, "legal").language = "es"
    tasks = waiting(session, submit(session))
    spanish, english = tasks["legal"], tasks["hr"]
    assert spanish.title == "Acordar: Job description of the test clerk (v1)"
    assert spanish.explanation.startswith(
        "**Descripción del puesto: Job description of the test clerk** — documento"
    )
    assert (
        "Paso **conformidad / servicio jurídico**." in spanish.explanation and "### Texto" in spanish.explanation
    )
    assert english.title == "Agree: Job description of the test clerk (v1)"
    assert "Step **agreement / hr**." in english.explanation and "{" not in spanish.explanation
