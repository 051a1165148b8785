"""Scripted stand-ins for the OpenAI Responses API (Codex CLI) and the Gemini API (Gemini CLI).

Both serve on ``127.0.0.1:<ephemeral port>`` from a background thread, standard library
only, like :class:`tests.e2e.fake_api.FakeAnthropic` does for Claude Code, and play back
turns written in the test instead of asking a model.

**A turn** is one action of the model: ``say(text)`` (a final answer) or ``call(name, args)``
(one tool call). A script is a list of turns, or of functions of the request body that
return a turn (to act on what the CLI sent, such as a hook's context). The turn played for a
request is the number of model actions already in its history, so the servers keep no state
per conversation; past the end of a script the answer is the text :data:`DONE_TEXT`.

* :class:`FakeResponses` — ``POST /v1/responses`` with ``stream: true``, answered as the SSE
  events Codex reads (``response.created``, ``response.output_item.done``,
  ``response.completed`` with usage). A function tool is called with ``function_call``
  (``arguments`` a JSON string), a freeform tool (Codex's ``apply_patch``) with
  ``custom_tool_call`` and the raw ``input``: :func:`call` picks the kind from the tool list
  the request offers. Requests without tools (titles, summaries) get a short text.
* :class:`FakeGemini` — ``POST /v1beta/models/<m>:streamGenerateContent?alt=sse`` answered as
  SSE chunks of ``GenerateContentResponse``, and the routing call ``:generateContent`` that
  Gemini CLI makes for every prompt, answered with the JSON it expects
  (``complexity_reasoning``, ``complexity_score``). ``countTokens`` and anything else get a
  small valid answer.

Every request body is kept in ``requests`` (and the classified ones in ``exchanges``) for
assertions.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

__all__ = ["DONE_TEXT", "FakeGemini", "FakeResponses", "Turn", "call", "say", "strings"]

DONE_TEXT = "done."


@dataclass(frozen=True)
class Turn:
    """One model action: text (``tool`` None) or one tool call."""

    text: str = ""
    tool: str | None = None
    args: dict[str, Any] | str = field(default_factory=dict)


def say(text: str) -> Turn:
    return Turn(text=text)


def call(tool: str, args: dict[str, Any] | str) -> Turn:
    """A tool call; ``args`` is a dict, or the raw input of a freeform tool (a patch)."""
    return Turn(tool=tool, args=args)


ScriptItem = Turn | Callable[[dict[str, Any]], Turn]


def strings(value: Any) -> list[str]:
    """Every string inside a JSON value (to search a request for text)."""
    out: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return out


@dataclass
class Exchange:
    path: str
    kind: str  # main / side / route / other
    turn: int | None
    body: Any


class _Server:
    """The shared plumbing: a threading HTTP server on loopback and the request record."""

    name = "fake"

    def __init__(self, script: Sequence[ScriptItem] = ()) -> None:
        self.script = list(script)
        self.requests: list[Any] = []
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> _Server:
        handler = type("Handler", (_Handler,), {"fake": self})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True,
                                        name=self.name)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> _Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return int(self._server.server_address[1])

    def next_id(self) -> int:
        with self._lock:
            return next(self._ids)

    def record(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)
            if exchange.body is not None:
                self.requests.append(exchange.body)

    def bodies(self, kind: str = "main") -> list[Any]:
        with self._lock:
            return [e.body for e in self.exchanges if e.kind == kind]

    def turn_for(self, number: int, body: dict[str, Any]) -> Turn:
        if number >= len(self.script):
            return say(DONE_TEXT)
        item = self.script[number]
        return item(body) if callable(item) else item

    # -- implemented by each API
    def answer(self, handler: _Handler, path: str, query: str, body: Any) -> None:
        raise NotImplementedError


class _Handler(BaseHTTPRequestHandler):
    fake: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return raw.decode("utf-8", "replace")

    def send_json(self, payload: Any, status: int = 200) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_sse(self, events: list[tuple[str | None, Any]]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        for name, data in events:
            head = f"event: {name}\n" if name else ""
            self.wfile.write(f"{head}data: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        self.fake.record(Exchange(parts.path, "other", None, None))
        self.fake.answer(self, parts.path, parts.query, None)

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        self.fake.answer(self, parts.path, parts.query, self._body())


# ---------------------------------------------------------------- OpenAI Responses API


#: Calls that poll a running command (Codex's ``write_stdin``): they do not advance a script,
#: so a turn can wait for a long command by polling until it has finished.
POLLING_TOOLS = frozenset({"write_stdin"})


def _model_actions(items: list[Any]) -> int:
    """Model actions already in a Responses ``input``: tool calls and assistant messages
    (polls of a running command excluded)."""
    count = 0
    for item in items:
        if not isinstance(item, dict) or item.get("name") in POLLING_TOOLS:
            continue
        kind = item.get("type")
        assistant = kind == "message" and item.get("role") == "assistant"
        if assistant or kind in ("function_call", "custom_tool_call", "local_shell_call"):
            count += 1
    return count


class FakeResponses(_Server):
    """The Responses API for Codex (``base_url = http://127.0.0.1:PORT/v1``)."""

    name = "fake-responses"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def answer(self, handler: _Handler, path: str, query: str, body: Any) -> None:
        if path.rstrip("/").endswith("/models"):
            handler.send_json({"object": "list", "data": []})
            return
        if not path.rstrip("/").endswith("/responses") or not isinstance(body, dict):
            self.record(Exchange(path, "other", None, body))
            handler.send_json({})
            return
        items = body.get("input") if isinstance(body.get("input"), list) else []
        if not body.get("tools"):
            self.record(Exchange(path, "side", None, body))
            handler.send_sse(self._events([self._message("ok")], body))
            return
        number = _model_actions(items)
        self.record(Exchange(path, "main", number, body))
        turn = self.turn_for(number, body)
        handler.send_sse(self._events([self._item(turn, body)], body))

    def _message(self, text: str) -> dict[str, Any]:
        return {"type": "message", "role": "assistant", "id": f"msg_fake{self.next_id():04d}",
                "content": [{"type": "output_text", "text": text, "annotations": []}]}

    def _item(self, turn: Turn, body: dict[str, Any]) -> dict[str, Any]:
        if turn.tool is None:
            return self._message(turn.text)
        call_id = f"call_fake{self.next_id():04d}"
        freeform = any(isinstance(t, dict) and t.get("type") == "custom"
                       and t.get("name") == turn.tool for t in body.get("tools") or [])
        if freeform:
            raw = turn.args if isinstance(turn.args, str) else json.dumps(turn.args)
            return {"type": "custom_tool_call", "id": f"ctc_{call_id}", "call_id": call_id,
                    "name": turn.tool, "input": raw, "status": "completed"}
        args = turn.args if isinstance(turn.args, str) else json.dumps(turn.args)
        return {"type": "function_call", "id": f"fc_{call_id}", "call_id": call_id,
                "name": turn.tool, "arguments": args, "status": "completed"}

    def _events(self, items: list[dict[str, Any]], body: dict[str, Any]
                ) -> list[tuple[str | None, Any]]:
        response_id = f"resp_fake{self.next_id():04d}"
        head = {"id": response_id, "object": "response", "status": "in_progress",
                "model": body.get("model"), "output": []}
        events: list[tuple[str | None, Any]] = [
            ("response.created", {"type": "response.created", "response": head})]
        for index, item in enumerate(items):
            events.append(("response.output_item.added", {
                "type": "response.output_item.added", "output_index": index, "item": item}))
            if item["type"] == "message":
                text = item["content"][0]["text"]
                events.append(("response.output_text.delta", {
                    "type": "response.output_text.delta", "item_id": item["id"],
                    "output_index": index, "content_index": 0, "delta": text}))
            events.append(("response.output_item.done", {
                "type": "response.output_item.done", "output_index": index, "item": item}))
        usage = {"input_tokens": 100, "input_tokens_details": {"cached_tokens": 20},
                 "output_tokens": 10, "output_tokens_details": {"reasoning_tokens": 0},
                 "total_tokens": 110}
        events.append(("response.completed", {
            "type": "response.completed",
            "response": {**head, "status": "completed", "output": items, "usage": usage}}))
        return events


# ---------------------------------------------------------------- Gemini API

#: What the fake Gemini reports per streamed answer (usageMetadata).
GEMINI_USAGE = {"promptTokenCount": 50, "candidatesTokenCount": 10, "totalTokenCount": 60}


class FakeGemini(_Server):
    """The Gemini API for Gemini CLI (``GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:PORT``)."""

    name = "fake-gemini"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, handler: _Handler, path: str, query: str, body: Any) -> None:
        method = path.rsplit(":", 1)[-1] if ":" in path else ""
        if method == "streamGenerateContent" and isinstance(body, dict):
            contents = body.get("contents") if isinstance(body.get("contents"), list) else []
            number = sum(1 for c in contents if isinstance(c, dict) and c.get("role") == "model")
            if not body.get("tools"):
                self.record(Exchange(path, "side", None, body))
                handler.send_sse([(None, self._chunk(say("ok")))])
                return
            self.record(Exchange(path, "main", number, body))
            handler.send_sse([(None, self._chunk(self.turn_for(number, body)))])
            return
        if method == "generateContent":
            self.record(Exchange(path, "route", None, body))
            answer = {"complexity_reasoning": "a scripted test", "complexity_score": 1}
            handler.send_json({"candidates": [{"content": {
                "role": "model", "parts": [{"text": json.dumps(answer)}]},
                "finishReason": "STOP", "index": 0}], "usageMetadata": GEMINI_USAGE})
            return
        if method == "countTokens":
            handler.send_json({"totalTokens": 10})
            return
        self.record(Exchange(path, "other", None, body))
        handler.send_json({})

    def _chunk(self, turn: Turn) -> dict[str, Any]:
        if turn.tool is None:
            part: dict[str, Any] = {"text": turn.text}
        else:
            part = {"functionCall": {"name": turn.tool, "args": turn.args}}
        return {"candidates": [{"content": {"role": "model", "parts": [part]},
                                "finishReason": "STOP", "index": 0}],
                "usageMetadata": GEMINI_USAGE, "modelVersion": "gemini-fake"}
