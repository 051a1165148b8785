"""state.contexts behaves as contextlib does where the storage layer relies on it (issue 27:
the hook's hot path imports neither contextlib nor what it loads)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from state import contexts

REPO = Path(__file__).resolve().parents[2]


def _outcome(make: Callable[..., Any], body: Callable[[Any], None]) -> tuple[str, Any]:
    """What happens when ``body`` runs inside ``make()``: (kind, detail)."""
    log: list[str] = []
    try:
        with make(log) as value:
            log.append(f"in {value}")
            body(value)
        return "ok", log
    except BaseException as exc:
        return type(exc).__name__, (str(exc), log,
                                    type(exc.__context__).__name__ if exc.__context__ else None)


def _kinds(decorator: Callable[..., Any]) -> dict[str, Callable[..., Any]]:
    @decorator
    def plain(log: list[str]) -> Iterator[int]:
        log.append("enter")
        yield 1
        log.append("after")

    @decorator
    def cleanup(log: list[str]) -> Iterator[int]:
        try:
            yield 2
        finally:
            log.append("finally")

    @decorator
    def swallow(log: list[str]) -> Iterator[int]:
        try:
            yield 3
        except ValueError:
            log.append("swallowed")

    @decorator
    def replace(log: list[str]) -> Iterator[int]:
        try:
            yield 4
        except ValueError as exc:
            raise KeyError("replaced") from exc

    @decorator
    def reraise(log: list[str]) -> Iterator[int]:
        try:
            yield 5
        except ValueError:
            log.append("seen")
            raise

    @decorator
    def no_yield(log: list[str]) -> Iterator[int]:
        if False:
            yield 0

    @decorator
    def twice(log: list[str]) -> Iterator[int]:
        yield 6
        yield 7

    return {"plain": plain, "cleanup": cleanup, "swallow": swallow, "replace": replace,
            "reraise": reraise, "no_yield": no_yield, "twice": twice}


def _raise(kind: type[BaseException]) -> Callable[[Any], None]:
    def body(_: Any) -> None:
        raise kind("boom")
    return body


BODIES: dict[str, Callable[[Any], None]] = {
    "nothing": lambda _: None,
    "ValueError": _raise(ValueError),
    "KeyError": _raise(KeyError),
    "StopIteration": _raise(StopIteration),
    "RuntimeError": _raise(RuntimeError),
    "KeyboardInterrupt": _raise(KeyboardInterrupt),
}


@pytest.mark.parametrize("body", sorted(BODIES))
@pytest.mark.parametrize("kind", sorted(_kinds(contextlib.contextmanager)))
def test_contextmanager_is_contextlibs(kind: str, body: str) -> None:
    ours = _outcome(_kinds(contexts.contextmanager)[kind], BODIES[body])
    theirs = _outcome(_kinds(contextlib.contextmanager)[kind], BODIES[body])
    if kind in ("no_yield", "twice") and ours[0] == "RuntimeError":  # worded differently
        assert theirs[0] == "RuntimeError" and ours[1][1:] == theirs[1][1:]
    else:
        assert ours == theirs


class _Recorder:
    def __init__(self, name: str, log: list[str], *, suppress: bool = False,
                 fail: bool = False) -> None:
        self.name, self.log, self.suppress, self.fail = name, log, suppress, fail

    def __enter__(self) -> str:
        self.log.append(f"enter {self.name}")
        return self.name

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> bool:
        self.log.append(f"exit {self.name} {kind.__name__ if kind else None}")
        if self.fail:
            raise OSError(f"{self.name} failed")
        return self.suppress


@pytest.mark.parametrize("body", ["nothing", "ValueError"])
@pytest.mark.parametrize("setup", [(), ("suppress",), ("fail",), ("fail", "suppress")])
def test_stack_is_exitstack(body: str, setup: tuple[str, ...]) -> None:
    def run(stack_type: Any, enter: str) -> tuple[str, Any]:
        log: list[str] = []
        managers = [_Recorder("a", log, suppress="suppress" in setup),
                    _Recorder("b", log, fail="fail" in setup), _Recorder("c", log)]
        try:
            with stack_type() as stack:
                names = [getattr(stack, enter)(m) for m in managers]
                log.append(f"in {names}")
                BODIES[body](None)
            return "ok", log
        except BaseException as exc:
            return type(exc).__name__, (str(exc), log)

    assert run(contexts.Stack, "enter") == run(contextlib.ExitStack, "enter_context")


def test_the_storage_layer_imports_no_contextlib() -> None:
    code = ("import sys\nimport state.persistence.filestore, state.store\n"
            "print(sorted(m for m in ('contextlib', 'collections', 'functools', 'json', 're')"
            " if m in sys.modules))")
    done = subprocess.run([sys.executable, "-S", "-c", code], cwd=REPO, capture_output=True,
                          text=True, check=True, env={"PYTHONPATH": str(REPO)})
    assert done.stdout.strip() == "[]"
