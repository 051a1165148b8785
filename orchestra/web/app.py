"""The web application: one page, a JSON API for its views, and the event stream.

    GET  /                      the page (plain HTML, CSS and JS from ./static)
    GET  /api/sessions          ?project= &status= &page= &per_page=
    GET  /api/events            ?session= &kind= &tool= &before=CURSOR &limit=
    GET  /api/board             ?project=
    GET  /api/messages          ?session= (that session's inbox) &before=CURSOR
    POST /api/messages          {"to": "session"|"project"|"all", "target", "text", "urgent"}
    GET  /api/claims            ?project=
    GET  /api/decisions         ?project= &page=
    GET  /api/timeline          ?project= &zoom=15m|1h|day &end= &width= &offset= &limit=
                                &order=recent|started &sessions=a,b (orchestra.web.timeline)
    GET  /api/timeline/usage    ?project= : tokens and cost over time, stacked by session
    GET  /api/stream            Server-Sent Events: hello, event, change, resync;
                                ?session= &kind= &tool= filter the events, ?events=0 drops them
                                (HEAD: the headers only, no stream)
    POST /login                 the sign-in form (handled by the guard, see .security)

``/static/`` serves the CSS and JavaScript; the page's template (``index.html``) is
served only as ``/``, filled in. A request body that is not JSON, or JSON nested
too deeply to parse, is a 400. A read that needs a shared server that is away (or a
lock another writer holds) is a 503 with ``Retry-After``; a write that can wait is queued.

Everything sits behind :class:`orchestra.web.security.Guard`. Handlers that
read the state are plain functions (Starlette runs them in worker threads).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from orchestra.web.data import StateReader
from orchestra.web.live import Hub, Listener
from orchestra.web.security import SCOPE_CSRF, Guard
from orchestra.web.signin import SignIn
from orchestra.web.timeline import TimelineReader
from state.errors import (
    InvalidIdError,
    InvalidValueError,
    LockTimeoutError,
    NotFoundError,
    StateError,
    UnavailableError,
)
from state.paths import validate_id

__all__ = ["STATIC", "create_app"]

STATIC = Path(__file__).parent / "static"
KEEPALIVE = 15.0
MAX_BODY = 128 * 1024
_NO_STORE = {"cache-control": "no-store"}


class _JSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        # ASCII escapes: a lone surrogate stored from a payload cannot break the encoding.
        return json.dumps(content, separators=(",", ":")).encode("ascii")


def _json(value: Any, status: int = 200) -> JSONResponse:
    return _JSON(value, status_code=status, headers=_NO_STORE)


def _error(exc: Exception) -> JSONResponse:
    if isinstance(exc, NotFoundError):
        return _json({"error": str(exc)}, 404)
    if isinstance(exc, InvalidIdError | InvalidValueError | ValueError):
        return _json({"error": str(exc)}, 400)
    if isinstance(exc, UnavailableError | LockTimeoutError):
        # The shared server is away or a writer holds the lock: try again, not a bug.
        response = _json({"error": str(exc)}, 503)
        response.headers["Retry-After"] = "5"
        return response
    return _json({"error": f"{type(exc).__name__}: {exc}"}, 500)


def _text(request: Request, name: str, limit: int = 200) -> str | None:
    value = request.query_params.get(name, "").strip()
    if len(value) > limit:
        raise InvalidValueError(f"{name} is longer than {limit} characters")
    return value or None


def _int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidValueError(f"{name} must be a whole number") from None


def _number(request: Request, name: str) -> float | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise InvalidValueError(f"{name} must be a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise InvalidValueError(f"{name} must be a finite number")
    return value


def _reading(read: Callable[[StateReader, Request], dict[str, Any]],
             reader: StateReader) -> Callable[[Request], Response]:
    """A GET endpoint: run ``read`` in a worker thread, state errors become 400/404."""

    def endpoint(request: Request) -> Response:
        try:
            return _json(read(reader, request))
        except (StateError, ValueError, OSError) as exc:
            return _error(exc)

    return endpoint


def _sessions(r: StateReader, q: Request) -> dict[str, Any]:
    return r.sessions(project=_text(q, "project"), status=_text(q, "status"),
                      page=_int(q, "page", 1), per_page=_int(q, "per_page", 50))


def _events(r: StateReader, q: Request) -> dict[str, Any]:
    return r.events(session=_text(q, "session"), kind=_text(q, "kind"),
                    tool=_text(q, "tool"), before=_text(q, "before"),
                    limit=_int(q, "limit", 100))


def _board(r: StateReader, q: Request) -> dict[str, Any]:
    return r.board(_text(q, "project"))


def _messages(r: StateReader, q: Request) -> dict[str, Any]:
    return r.messages(session=_text(q, "session"), before=_text(q, "before"),
                      limit=_int(q, "limit", 50))


def _claims(r: StateReader, q: Request) -> dict[str, Any]:
    return r.claims(_text(q, "project"))


def _decisions(r: StateReader, q: Request) -> dict[str, Any]:
    return r.decisions(_text(q, "project"), page=_int(q, "page", 1))


def _timeline(t: TimelineReader, q: Request) -> dict[str, Any]:
    return t.timeline(project=_text(q, "project"), zoom=_text(q, "zoom") or "1h",
                      end=_number(q, "end"), width=_int(q, "width", 1000),
                      offset=_int(q, "offset", 0), limit=_int(q, "limit", 30),
                      order=_text(q, "order") or "recent", sessions=_text(q, "sessions", 4000))


def _usage(t: TimelineReader, q: Request) -> dict[str, Any]:
    return t.usage(project=_text(q, "project"))


class _Assets(StaticFiles):
    """``/static/``: the CSS and JavaScript, not the page's raw template."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path.lower() == "index.html":  # lower: case-insensitive file systems
            raise HTTPException(status_code=404)
        return await super().get_response(path, scope)


def create_app(store: Any, *, signin: SignIn, port: int, hosts: set[str] | None,
               hub: Hub | None = None) -> Guard:
    """The application for ``store``, guarded by ``signin`` (see :mod:`.security`).

    ``hub`` watches the store for the event stream; pass one to be able to
    :meth:`~orchestra.web.live.Hub.stop` the streams when the server shuts down.
    """
    reader = StateReader(store)
    timeline = TimelineReader(reader)
    hub = hub if hub is not None else Hub(store)
    template = (STATIC / "index.html").read_text("utf-8")

    def index(request: Request) -> Response:
        # The CSRF value belongs to the browser session the guard found (none for Bearer).
        page = template.replace("{{csrf}}", request.scope.get(SCOPE_CSRF, ""))
        return Response(page, media_type="text/html; charset=utf-8", headers=_NO_STORE)

    async def send(request: Request) -> Response:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return _json({"error": "send JSON (Content-Type: application/json)"}, 415)
        body = await request.body()
        if len(body) > MAX_BODY:
            return _json({"error": "request too large"}, 413)
        try:
            data = json.loads(body)
        except ValueError:
            return _json({"error": "the body is not valid JSON"}, 400)
        except RecursionError:
            return _json({"error": "the body is JSON nested too deeply"}, 400)
        if not isinstance(data, dict):
            return _json({"error": "the body must be a JSON object"}, 400)
        from anyio import to_thread

        try:
            message = await to_thread.run_sync(reader.send, data)
        except (StateError, OSError) as exc:
            return _error(exc)
        return _json({"message": message}, 201)

    async def stream(request: Request) -> Response:
        try:
            session = _text(request, "session")
            if session:
                validate_id(session, "session id")
            listener = Listener(session=session, kind=_text(request, "kind"),
                                tool=_text(request, "tool"),
                                events=request.query_params.get("events") != "0")
        except StateError as exc:
            return _error(exc)
        headers = {**_NO_STORE, "x-accel-buffering": "no"}
        if request.method == "HEAD":  # the headers a GET would get, and no endless body
            return Response(media_type="text/event-stream", headers=headers)
        hub.subscribe(listener)
        return StreamingResponse(_events_of(hub, listener), media_type="text/event-stream",
                                 headers=headers)

    def favicon(request: Request) -> Response:
        return Response(status_code=204)

    routes = [
        Route("/", index),
        Route("/favicon.ico", favicon),
        Route("/api/sessions", _reading(_sessions, reader)),
        Route("/api/events", _reading(_events, reader)),
        Route("/api/board", _reading(_board, reader)),
        Route("/api/messages", _reading(_messages, reader), methods=["GET"]),
        Route("/api/messages", send, methods=["POST"]),
        Route("/api/claims", _reading(_claims, reader)),
        Route("/api/decisions", _reading(_decisions, reader)),
        Route("/api/timeline", _reading(lambda _r, q: _timeline(timeline, q), reader)),
        Route("/api/timeline/usage", _reading(lambda _r, q: _usage(timeline, q), reader)),
        Route("/api/stream", stream),
        Mount("/static", _Assets(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes)
    return Guard(app, signin=signin, port=port, hosts=hosts)


async def _events_of(hub: Hub, listener: Listener) -> AsyncIterator[bytes]:
    """The SSE body for one listener; it unsubscribes when the browser goes away."""
    try:
        yield b"retry: 2000\nevent: hello\ndata: {}\n\n"
        while True:
            try:
                kind, data = await asyncio.wait_for(listener.queue.get(), KEEPALIVE)
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            if kind == "bye":  # the server is stopping: end the response cleanly
                return
            yield f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode()
    finally:
        hub.unsubscribe(listener)
