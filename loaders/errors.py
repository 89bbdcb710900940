"""Errors and reports of the pure loaders.

Every problem names the file, and where it applies the row (1-based line of a CSV, counting the
header rows) or feature (1-based position in the layer) and the field, so that a person can open
the file and find it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


def _where(path: Path | str | None, row: int | None, field_name: str | None) -> str:
    parts = []
    if path is not None:
        parts.append(str(path))
    if row is not None:
        parts.append(f"row {row}")
    if field_name:
        parts.append(f"field {field_name!r}")
    return ", ".join(parts)


class LoaderError(Exception):
    """A source file Karte cannot load as it is. Nothing is written when one is raised."""

    def __init__(self, message: str, *, path: Path | str | None = None, row: int | None = None,
                 field: str | None = None):
        self.message, self.path, self.row, self.field = message, path, row, field
        where = _where(path, row, field)
        super().__init__(f"{where}: {message}" if where else message)


class FileFormatError(LoaderError):
    """The file is not in the expected format (encoding, header rows, columns, layer)."""


class MissingCRSError(LoaderError):
    """The file declares no coordinate reference system and none was given (--crs)."""


class CRSConflictError(LoaderError):
    """--crs was given but the file declares a different CRS."""


class ExtentError(LoaderError):
    """The features fall outside where they must lie (the city, or Japan): a wrong CRS declaration,
    swapped or shifted coordinates. The message names the CRS declared and any that would fit."""


class MappingError(LoaderError):
    """The declarative mapping does not match the file (unknown table, labels that disagree)."""


class ValueFormatError(LoaderError):
    """A cell holds a value that is neither a number nor a known marker."""


class GeometryError(LoaderError):
    """Geometries that cannot be used (all empty, wrong type, impossible to repair)."""


@dataclass
class Issue:
    """A problem the loader fixed or skipped and reports (it does not stop the load)."""

    message: str
    row: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = _where(None, self.row, self.field)
        return f"{where}: {self.message}" if where else self.message


@dataclass
class Report:
    """What a loader noticed: repaired geometries, skipped rows, suppressed cells …"""

    path: Path
    issues: list[Issue] = field(default_factory=list)
    facts: dict = field(default_factory=dict)

    def add(self, message: str, row: int | None = None, field: str | None = None) -> None:
        self.issues.append(Issue(message, row, field))

    def lines(self) -> list[str]:
        return [f"{self.path.name}: {issue}" for issue in self.issues]
