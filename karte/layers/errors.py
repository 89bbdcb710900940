"""The one error of the read side: a request for something that is malformed or does not exist.

Every reader of Karte's data — the HTTP API, the export command, the pages and their forms, the
siting service — raises :class:`ParameterError` (or a subclass) for bad input. It names the
parameter at fault and carries the HTTP status it maps to, so a view answers
``{"error": ..., "parameter": ...}`` with that status and a command says which option is wrong,
without each inventing its own exception. Pure Python: no Django.
"""
from __future__ import annotations


class ParameterError(ValueError):
    """``message`` says what is wrong in words a user understands; ``parameter`` names the query
    parameter, form field or command option at fault (``None`` when no single one is);
    ``status`` is the HTTP status a view answers with (400 unless said otherwise)."""

    status: int = 400

    def __init__(self, message: str, parameter: str | None = None, *, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.parameter = parameter
        if status is not None:
            self.status = status

    def as_dict(self) -> dict:
        """The JSON body of an error response."""
        return {"error": self.message, "parameter": self.parameter}


class NotFoundError(ParameterError):
    """The thing a path names (a district code, a siting run id…) does not exist: HTTP 404."""

    status = 404
