"""Context managers for the hook's hot path, without :mod:`contextlib`.

``contextlib`` loads ``collections``, ``functools``, ``types``, ``operator``, ``itertools``,
``keyword`` and ``reprlib``: about a millisecond of every hook event, for two helpers. The
storage layer's transactions and locks are generator functions, so it needs what
``contextlib.contextmanager`` does, and a stack of locks taken one after the other:

* :func:`contextmanager` — a generator function that yields once becomes a context
  manager: the code before the ``yield`` runs on entering, the value yielded is what
  ``as`` names, and on leaving the generator resumes — with the exception of the block
  raised at the ``yield``, if there was one. An exception the generator does not re-raise
  is swallowed; one it raises instead replaces it.
* :class:`Stack` — context managers entered one after another and left in the opposite
  order, each told of the exception in flight (the last one entered first).

For the type checker, :func:`contextmanager` is ``contextlib``'s (same signature).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from contextlib import contextmanager as contextmanager
    from types import TracebackType
    from typing import Any

__all__ = ["Stack", "contextmanager"]


class _Generated:
    """The context manager of one call of a generator function."""

    __slots__ = ("_generator",)

    def __init__(self, generator: Any) -> None:
        self._generator = generator

    def __enter__(self) -> Any:
        try:
            return next(self._generator)
        except StopIteration:
            raise RuntimeError("the generator did not yield") from None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> bool:
        if kind is None:
            try:
                next(self._generator)
            except StopIteration:
                return False
            raise RuntimeError("the generator yielded twice")
        if error is None:  # raised as a class, never instantiated
            error = kind()
        try:
            self._generator.throw(error)
        except StopIteration as stop:
            # The generator returned: it handled the error (swallowed), unless the error
            # was a StopIteration that simply went through it.
            return stop is not error
        except RuntimeError as raised:
            if raised is error or (isinstance(error, StopIteration)
                                   and raised.__cause__ is error):
                error.__traceback__ = traceback  # the block's error, as it was
                return False
            raise
        except BaseException as raised:
            if raised is not error:
                raise  # the generator raised another error: it replaces the block's
            raised.__traceback__ = traceback
            return False
        raise RuntimeError("the generator yielded again after an error")


if not TYPE_CHECKING:

    def contextmanager(function):
        """``contextlib.contextmanager`` (see the module docstring)."""

        def make(*args, **kwargs):
            return _Generated(function(*args, **kwargs))

        for name in ("__module__", "__name__", "__qualname__", "__doc__"):
            setattr(make, name, getattr(function, name, None))
        make.__wrapped__ = function
        return make


class Stack:
    """Context managers entered in turn (:meth:`enter`), left in reverse order."""

    __slots__ = ("_exits",)

    def __init__(self) -> None:
        self._exits: list[Any] = []

    def __enter__(self) -> Stack:
        return self

    def enter(self, manager: Any) -> Any:
        """Enter ``manager`` (left when the stack is); what its ``__enter__`` returned."""
        kind = type(manager)
        value = kind.__enter__(manager)
        self._exits.append((kind.__exit__, manager))
        return value

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> bool:
        suppressed = False
        pending = error
        while self._exits:
            leave, manager = self._exits.pop()
            try:
                if leave(manager, type(pending) if pending is not None else None, pending,
                         pending.__traceback__ if pending is not None else None):
                    suppressed, pending = True, None
            except BaseException as raised:
                if pending is not None and raised is not pending:
                    raised.__context__ = pending
                suppressed, pending = True, raised
        if pending is not None and pending is not error:
            raise pending
        return suppressed and pending is None
