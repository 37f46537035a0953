"""Declarative rule sets (`*.yaml`, reviewed like code) and the adapter that decides them (rules.engine)."""
