"""The project's exceptions: one clear message naming what is wrong and where."""

from __future__ import annotations

from pathlib import Path


class PapiError(Exception):
    """Base class for every error the project raises on purpose."""


class DataNotFoundError(PapiError):
    """The data directory (or a file in it) could not be found."""


class DataValidationError(PapiError):
    """A data file breaks a rule; the message names file, row, column and value."""

    def __init__(self, message: str, *, file: Path | str | None = None, row: int | None = None,
                 column: str | None = None, value: object = None):
        self.file = str(file) if file is not None else None
        self.row = row
        self.column = column
        self.value = value
        where = []
        if self.file:
            where.append(f"file {self.file}")
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column}")
        if value is not None:
            where.append(f"value {value!r}")
        self.reason = message
        super().__init__(f"{message} ({', '.join(where)})" if where else message)


class UnknownProvinceError(PapiError):
    """A province name or code matched nothing; the message suggests the closest ones."""

    def __init__(self, query: str, suggestions: list[str]):
        self.query = query
        self.suggestions = suggestions
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"Unknown province {query!r}.{hint}")


class ParameterError(PapiError):
    """A user-supplied parameter (year, target, language...) is invalid."""

    def __init__(self, parameter: str, message: str):
        self.parameter = parameter
        super().__init__(f"Invalid parameter {parameter}: {message}")


class RunLockedError(PapiError):
    """Another ``papi run`` is writing into the same output folder."""
