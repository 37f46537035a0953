"""Tables of the document approval chain: documents, their versions, chain steps, signatures, acknowledgments.

A person's turn on a step is an ApprovalTask (kamflow.approvals); `document_step_tasks` ties each task —
escalated successors included — to its step."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kamflow.models import ApprovalTask, Base, Employee, UTCDateTime


class Document(Base):
    """An internal document going through its chain. `chain` is the chain it was submitted with."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    doc_type: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    author_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    fields: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    chain: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))
    round: Mapped[int] = mapped_column(Integer, default=1)
    version: Mapped[int] = mapped_column(Integer, default=1)
    effective_version: Mapped[int | None] = mapped_column(Integer)
    flow_run_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    author: Mapped[Employee] = relationship()


class DocumentVersion(Base):
    """Every text a document ever had; the hash is what signatures sign."""

    __tablename__ = "document_versions"
    __table_args__ = (UniqueConstraint("document_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    number: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    made_by_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    reason: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    made_by: Mapped[Employee] = relationship()


class DocumentStep(Base):
    """One step of one stage in one round of the chain (a revision starts a new round), or the author's turn
    to revise (kind `revise`). Status: open, met, returned, rejected, cancelled, revised."""

    __tablename__ = "document_steps"
    __table_args__ = (UniqueConstraint("document_id", "round", "stage_index", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    stage_index: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))
    needed: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    document: Mapped[Document] = relationship()


class DocumentStepTask(Base):
    """A task on a step, with its reminder schedule."""

    __tablename__ = "document_step_tasks"

    task_id: Mapped[int] = mapped_column(ForeignKey("approval_tasks.id"), primary_key=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("document_steps.id"), index=True)
    remind_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reminders: Mapped[int] = mapped_column(Integer, default=0)

    task: Mapped[ApprovalTask] = relationship()
    step: Mapped[DocumentStep] = relationship()


class Signature(Base):
    """An agreement ("agreed") or approval ("approved"): position, "Surname I.O.", when, and the exact version.
    `for_id` is the person signed for when a delegate signed."""

    __tablename__ = "document_signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("document_steps.id"))
    task_id: Mapped[int] = mapped_column(ForeignKey("approval_tasks.id"))
    kind: Mapped[str] = mapped_column(String(10))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    signer_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    for_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    position: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    step: Mapped[DocumentStep] = relationship()
    signer: Mapped[Employee] = relationship(foreign_keys=[signer_id])
    signed_for: Mapped[Employee | None] = relationship(foreign_keys=[for_id])


class Acknowledgment(Base):
    """The acknowledgment journal: an employee has read the effective version."""

    __tablename__ = "document_acknowledgments"
    __table_args__ = (UniqueConstraint("document_id", "version", "employee_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    acknowledged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    employee: Mapped[Employee] = relationship(foreign_keys=[employee_id])
    actor: Mapped[Employee] = relationship(foreign_keys=[actor_id])
