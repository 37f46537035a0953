"""The approvers' workspace: server-rendered pages (FastAPI + Jinja2) over the same domain as the CLI."""

from __future__ import annotations

from kamflow.app.web.pages import router

__all__ = ["router"]
