"""Errors raised by the state layer, each mapped to one documented CLI exit code."""

from __future__ import annotations

__all__ = [
    "EXIT_CONFLICT",
    "EXIT_ERROR",
    "EXIT_LOCK_TIMEOUT",
    "EXIT_NOT_FOUND",
    "EXIT_USAGE",
    "ConflictError",
    "CorruptDocumentError",
    "HelpShown",
    "InvalidIdError",
    "InvalidPathError",
    "InvalidQueryError",
    "InvalidValueError",
    "LockTimeoutError",
    "NotFoundError",
    "StateError",
    "UnavailableError",
    "UnsafePathError",
    "UsageError",
]

EXIT_ERROR = 1  #: anything unexpected, an I/O failure, a corrupt document
EXIT_USAGE = 2  #: bad arguments: unknown verb, invalid id, path, JSON, JSONPath or value
EXIT_NOT_FOUND = 3  #: the session, document or path does not exist
EXIT_CONFLICT = 4  #: the document changed since the version the caller read
EXIT_LOCK_TIMEOUT = 5  #: another writer held the lock for longer than the timeout


class StateError(Exception):
    """Base class; ``exit_code`` is what a CLI exits with for this error."""

    exit_code = EXIT_ERROR


class UsageError(StateError):
    """Bad arguments on a command line (an unknown verb, a missing operand...)."""

    exit_code = EXIT_USAGE


class HelpShown(Exception):  # control flow, not an error
    """Not an error: a CLI printed its ``--help``; the command exits 0."""


class InvalidIdError(StateError, ValueError):
    """An id (session, project, epic, sprint...) that must never become a path."""

    exit_code = EXIT_USAGE


class InvalidPathError(StateError, ValueError):
    """A dot path that cannot be parsed or cannot be applied to the document."""

    exit_code = EXIT_USAGE


class InvalidQueryError(StateError, ValueError):
    """A JSONPath expression that does not parse."""

    exit_code = EXIT_USAGE


class InvalidValueError(StateError, ValueError):
    """A value or a resulting document that fails validation; nothing was written."""

    exit_code = EXIT_USAGE


class NotFoundError(StateError, LookupError):
    exit_code = EXIT_NOT_FOUND


class ConflictError(StateError):
    """A conditional write found a different ``version`` than the one expected."""

    exit_code = EXIT_CONFLICT


class LockTimeoutError(StateError, TimeoutError):
    exit_code = EXIT_LOCK_TIMEOUT


class UnavailableError(StateError):
    """The store cannot answer now (a shared server that is away or slow). Whatever could
    wait was queued; what needs an answer (a listing, a condition) was not done."""


class UnsafePathError(StateError):
    """A state or lock path (or a folder on the way to it) is a symlink."""


class CorruptDocumentError(StateError):
    """A document on disk is not valid JSON; it has been moved aside."""
