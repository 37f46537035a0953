"""A draft submitted into its type's chain: what it must satisfy (type, sections, fields, someone to act on each
step), then version 1 and the chain's first stage."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow import customers, org
from kamflow.bounds import Line, fit
from kamflow.documents import text
from kamflow.documents.chains import Chain, Chains, current, current_policy
from kamflow.documents.people import active, department_head, people_for
from kamflow.documents.service import new_version, open_stage, record, version
from kamflow.documents.tables import Document, DocumentStep
from kamflow.errors import InvalidInput
from kamflow.i18n import _
from kamflow.models import Employee
from kamflow.policy import versions
from kamflow.types import DocumentText, Login

DEMO_JOB_DESCRIPTION = Path(__file__).with_name("demo") / "job_description_kam.md"
DEMO_JOB_DESCRIPTION_ES = DEMO_JOB_DESCRIPTION.with_suffix(".es.md")
"""The same job description as the company writes it in Spanish (its sections as the chain's Spanish labels name
them)."""


FieldName = Annotated[str, Line(DocumentStep.name)]
"""A field's name: as the chains name fields and steps (kamflow/documents/chains.yaml)."""
FieldValue = Annotated[str, Line(Employee.position, min_length=0)]
"""A field's value: a department, a position or a customer code, the longest of which is a position."""


class DocumentIn(BaseModel):
    """A draft submitted into its chain."""

    model_config = ConfigDict(extra="forbid")

    doc_type: Annotated[str, Line(Document.doc_type)] = Field(description="Document type, e.g. job_description.")
    title: Annotated[str, Line(Document.title)] | None = Field(
        default=None, description="Default: the text's first heading."
    )
    content: DocumentText = Field(description="The draft, Markdown with sections.")
    author: Login = Field(description="Login of the author.")
    fields: dict[FieldName, FieldValue] = Field(default_factory=dict, description="The fields the type asks for.")


def _check_fields(session: Session, chain: Chain, given: dict[str, str]) -> None:
    for name in given:
        if name not in chain.fields:
            raise InvalidInput(
                _("{type} has no field {name}").format(type=chain.shown_title(), name=repr(name)), field=name
            )
    for name, kind in chain.fields.items():
        value = given.get(name, "").strip()
        if not value:
            raise InvalidInput(
                _("{type} needs --field {name}=…").format(type=chain.shown_title(), name=name), field=name
            )
        if kind == "department" and department_head(session, value) is None:
            raise InvalidInput(_("no department {name}").format(name=repr(value)), field=name)
        if kind == "position" and not active(session, Employee.position == value):
            raise InvalidInput(_("nobody holds the position {position}").format(position=repr(value)), field=name)
        if kind == "customer":
            customers.by_code(session, value, field=name, missing=InvalidInput)


def check_text(chain: Chain, new: str, *, current: str | None = None) -> None:
    """A text the type accepts: every required section, and — for a new version — a real change."""
    missing = chain.missing_sections(new)
    if missing:
        raise InvalidInput(
            _("{type} needs the sections: {sections}").format(
                type=chain.shown_title(), sections=", ".join(missing)
            ),
            field="file",
        )
    if current is not None and text.content_hash(new) == text.content_hash(current):
        raise InvalidInput(_("the text is the same as the current version"), field="file")


def validate(session: Session, document: DocumentIn, chains: Chains) -> tuple[Chain, Employee]:
    """Everything a submission must satisfy, read-only: type, sections, fields, someone to act on each step."""
    chain = chains.get(document.doc_type)
    author = org.employee(session, document.author)
    check_text(chain, document.content)
    _check_fields(session, chain, document.fields)
    for stage in chain.stages:
        for step in stage.steps:
            people = people_for(session, step, kind=stage.kind, fields=document.fields, author=author)
            if stage.kind != "acknowledge" and step.needed(len(people)) > len(people):
                raise InvalidInput(
                    _("step {step} needs {quorum} of {people} people").format(
                        step=repr(chain.shown_name(step.name)), quorum=step.quorum, people=len(people)
                    ),
                    field="type",
                )
    return chain, author


def submit(
    session: Session,
    *,
    document: DocumentIn,
    flow_run_id: str | None,
    now: dt.datetime,
    chains: Chains | None = None,
) -> Document:
    """Store a draft as version 1 and open the chain's first stage. One document per flow run: a re-run of the
    same run finds it as it is."""
    if flow_run_id is not None:
        existing = session.scalar(select(Document).where(Document.flow_run_id == flow_run_id))
        if existing is not None:
            return existing
    chains = chains or current()
    chain, author = validate(session, document, chains)
    row = Document(
        doc_type=document.doc_type,
        title=document.title or fit(text.first_heading(document.content) or chain.title, Document.title),
        author_id=author.id,
        fields=document.fields,
        chain=chain.model_dump(mode="json"),
        status="in_review",
        round=1,
        version=0,
        effective_version=None,
        flow_run_id=flow_run_id,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    new_version(session, row, document.content, by=author, reason="submitted", now=now)
    used = versions(
        chains, current_policy()
    )  # the chain, and the document policy that fills in what it leaves out
    record(
        session, row, actor=author.login, action="document_submitted", now=now, type=row.doc_type, policies=used
    )
    open_stage(session, row, 0, now=now)
    return row


def request_of(session: Session, row: Document) -> DocumentIn:
    """The draft a document was submitted as, as its flow takes it (a fresh run for it says what was submitted):
    version 1, its title and its fields."""
    return DocumentIn(
        doc_type=row.doc_type,
        title=row.title,
        content=version(session, row, 1).content,
        author=row.author.login,
        fields=row.fields,
    )
