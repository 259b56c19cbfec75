"""Typed errors for KPI model files: what is wrong and where."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SpecError:
    """One problem in a KPI model, located by file, KPI id and field."""

    rule: str
    message: str
    file: str | None = None
    kpi: str | None = None
    field: str | None = None

    def location(self) -> str:
        parts = [p for p in (self.file, self.kpi, self.field) if p]
        return ":".join(parts) if parts else "<model>"

    def __str__(self) -> str:
        return f"{self.location()}: {self.message} [{self.rule}]"


class ModelError(Exception):
    """Raised when a KPI model cannot be used; carries every error found."""

    def __init__(self, errors: list[SpecError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class ExpressionError(ValueError):
    """A user expression that is not allowed or cannot be parsed."""
