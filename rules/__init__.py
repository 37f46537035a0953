"""Declarative rule sets (`*.yaml`, reviewed like code) and the library that decides them (API: rules.engine)."""
