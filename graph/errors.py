"""The project's exception hierarchy. Every message says what went wrong and what to do."""
from __future__ import annotations


class AttribError(Exception):
    """Base class: a message a user can act on, plus an optional hint."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(AttribError):
    """A setting or environment variable is wrong."""


class ServerError(AttribError):
    """The local Neo4j could not be installed, started or stopped."""


class Unavailable(AttribError):
    """No Neo4j server answers at the configured URI."""

    exit_code = 2


class DatabaseError(AttribError):
    """Neo4j refused or failed a statement (memory limit, timeout, constraint, syntax)."""

    def __init__(self, message: str, hint: str | None = None, code: str | None = None):
        super().__init__(message, hint)
        self.code = code  # Neo4j's status code, e.g. Neo.ClientError.Schema.ConstraintValidationFailed


class ValidationError(AttribError):
    """One input file is wrong; names the file, the record and the field."""

    def __init__(self, file: str, message: str, record: str | int | None = None,
                 field: str | None = None, hint: str | None = None, line: int | None = None):
        self.file = str(file)
        self.record = record
        self.field = field
        self.line = line  # the line of the file to look at, where the loader knows it (YAML syntax)
        where = [self.file]
        if record is not None:
            where.append(f"record {record}")
        if field is not None:
            where.append(f"field '{field}'")
        super().__init__(f"{': '.join(where)}: {message}", hint)
        self.detail = message


class UnknownReference(ValidationError):
    """A file points at a node that is neither in it nor in the graph (yet)."""


class NotFound(AttribError):
    """A name, key or ID the user gave matches nothing (or too many things)."""


class QueryRefused(AttribError):
    """A console query is not allowed to run (writes, file access, administration)."""


class QueryFailed(AttribError):
    """A console query was allowed but failed: a Cypher syntax error, a timeout, a server error."""
