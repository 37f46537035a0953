"""Prefect flows: one file per business process, plus the shared human step. Orchestration only."""
