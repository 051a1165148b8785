"""A scripted stand-in for the Anthropic Messages API, for end-to-end tests.

The real Claude Code CLI is pointed at it with ``ANTHROPIC_BASE_URL``; it then
plays back assistant turns written in the test instead of asking a model.
Standard library only: ``http.server`` on 127.0.0.1 with an ephemeral port,
served from a background thread.

How a turn is chosen. Every request to ``POST /v1/messages`` is sorted into
one of three kinds:

* ``side``: not a turn of an agent loop. Claude Code 2.1.332 sends two sorts
  of such requests of its own:

  - tool-free helpers (prompt-hook and agent-hook evaluation, session titles,
    tool-use summaries, agent names...): no ``tools``, or a small
    ``max_tokens``, or a system prompt that is not the agent one;
  - *forks* of a live conversation (``/compact``, background-agent progress
    summaries, away summaries, prompt suggestions...): the same system
    prompt, tools and messages as the conversation they fork, plus one extra
    instruction as the last text of the last user message. They are
    recognised by that instruction (:data:`FORK_PROMPT_MARKERS`, extendable
    with ``Script.side_markers``).

  Side requests get a short answer (:func:`default_side_answer`: JSON that
  fits ``output_config.format`` when a JSON schema is asked for, a
  ``<summary>`` block for compaction, else ``Script.side_text``) and never
  touch the scripts.
* ``subagent``: the text of its first user message contains the script's
  ``subagent_marker`` (or the marker callable returns true for it). Put the
  marker in the ``prompt`` of the ``Agent`` call the main script makes. With
  no marker configured, a request whose billing line says
  ``cc_is_subagent=true`` counts as a subagent.
* ``main``: everything else.

For ``main`` and ``subagent`` the turn played is the number of assistant
messages already in the request's ``messages``, so the server keeps no state
per conversation and a retried request gets the same turn. Past the end of a
script the answer is the text ``done.`` with ``end_turn``.

A turn is a list of blocks (or a function of the request body returning one): a
``str`` or ``text(...)`` for text, and ``tool_use(name, input)`` for a tool call (its
id, ``toolu_e2e_0001`` and up, is made by the server). A turn with any tool call
stops with ``tool_use``, a text-only turn with ``end_turn``.

Example::

    script = Script(
        main=[[tool_use("Bash", {"command": "echo hi"})], ["All done."]],
    )
    with FakeAnthropic(script, log_path=tmp_path / "requests.jsonl") as api:
        run_claude(..., base_url=api.base_url)
    assert api.tool_results()[0]["content"] ...
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "DONE_TEXT",
    "FORK_PROMPT_MARKERS",
    "SIDE_TEXT",
    "Exchange",
    "FakeAnthropic",
    "Script",
    "default_side_answer",
    "first_user_text",
    "last_user_text",
    "text",
    "tool_use",
]

log = logging.getLogger(__name__)

Block = dict[str, Any]
#: A scripted turn: blocks, or a function of the request body that returns them (for a
#: turn that depends on what Claude Code sent, such as a hook's context).
Turn = Sequence["Block | str"] | Callable[[dict[str, Any]], Sequence["Block | str"]]

#: What a conversation hears once its script has run out.
DONE_TEXT = "done."
#: What a side request (title, summary, classifier...) hears.
SIDE_TEXT = "ok"
#: Requests asking for at most this many output tokens are side requests.
SIDE_MAX_TOKENS = 4096
#: The agent loop's system prompt starts with one of these (after the billing line).
AGENT_SYSTEM_MARKERS = (
    "You are a Claude agent",
    "You are Claude Code",
    "You are an agent for Claude Code",
)
#: Instructions Claude Code 2.1.332 appends to a copy of a live conversation
#: to ask something on the side (found in its requests and its binary).
FORK_PROMPT_MARKERS = (
    # /compact and auto-compaction
    "Your task is to create a detailed summary of the conversation so far",
    "CRITICAL: Respond with TEXT ONLY. Do NOT call any tools.",
    # progress labels of (background) subagents
    "most recent action in 3-5 words",
    # recap after the user stepped away
    "The user stepped away and is coming back",
    # next-prompt suggestions
    "Reply with ONLY the suggestion",
)
#: The billing line of a subagent's requests carries this.
SUBAGENT_BILLING_FLAG = "cc_is_subagent=true"


def text(value: str) -> Block:
    """A text block for a scripted turn."""
    return {"type": "text", "text": value}


def tool_use(name: str, input: dict[str, Any] | None = None) -> Block:
    """A tool_use block for a scripted turn; the server assigns the id."""
    return {"type": "tool_use", "name": name, "input": dict(input or {})}


@dataclass
class Script:
    """The assistant turns to play back.

    ``main`` is for the top-level conversation, ``subagent`` for every
    conversation recognised by ``subagent_marker`` (each such conversation
    replays the subagent script from its start). ``subagent_marker`` is a
    substring of the subagent's first user message, or a predicate on that
    text.
    """

    main: list[Turn] = field(default_factory=list)
    subagent: list[Turn] = field(default_factory=list)
    subagent_marker: str | Callable[[str], bool] | None = None
    #: extra substrings of a fork's instruction that mark a side request
    side_markers: Sequence[str] = ()
    #: custom answer for side requests: body -> text, JSON-able dict, or None
    #: (None falls back to :func:`default_side_answer`)
    side_answer: Callable[[dict[str, Any]], str | dict[str, Any] | None] | None = None
    side_text: str = SIDE_TEXT
    done_text: str = DONE_TEXT

    @classmethod
    def coerce(cls, value: Script | Sequence[Turn] | dict[str, Any] | None) -> Script:
        if value is None:
            return cls()
        if isinstance(value, Script):
            return value
        if isinstance(value, dict):
            return cls(**value)
        return cls(main=list(value))

    def is_subagent(self, body: dict[str, Any]) -> bool:
        marker = self.subagent_marker
        if marker is None:
            return SUBAGENT_BILLING_FLAG in system_text(body)
        first = first_user_text(body)
        if callable(marker):
            return bool(marker(first))
        return marker in first

    def is_fork(self, body: dict[str, Any]) -> bool:
        last = last_user_text(body)
        return any(m in last for m in (*FORK_PROMPT_MARKERS, *self.side_markers))


@dataclass
class Exchange:
    """One HTTP call the server answered (for debugging and assertions)."""

    method: str
    path: str
    kind: str  # main / subagent / side / count_tokens / other
    turn: int | None = None
    body: Any = None
    response: dict[str, Any] | None = None
    stream: bool = False


# ---------------------------------------------------------------- request helpers


def _text_of(content: Any) -> str:
    """All text in a message ``content`` (a string or a list of blocks)."""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    if isinstance(content, list):
        for block in content:
            if isinstance(block, dict) and block.get("type") == "text":
                parts.append(str(block.get("text", "")))
    return "\n".join(parts)


def first_user_text(body: dict[str, Any]) -> str:
    """The text of the request's first user message (all its text blocks)."""
    for message in body.get("messages") or []:
        if isinstance(message, dict) and message.get("role") == "user":
            return _text_of(message.get("content"))
    return ""


def last_user_text(body: dict[str, Any]) -> str:
    """The text blocks of the request's last user message."""
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            return _text_of(message.get("content"))
    return ""


def system_text(body: dict[str, Any]) -> str:
    return _text_of(body.get("system"))


def assistant_count(body: dict[str, Any]) -> int:
    return sum(
        1
        for m in body.get("messages") or []
        if isinstance(m, dict) and m.get("role") == "assistant"
    )


def looks_like_agent_loop(body: dict[str, Any]) -> bool:
    """True when the request is a turn of an agent loop (main or subagent)."""
    if not body.get("tools"):
        return False
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, int) and max_tokens <= SIDE_MAX_TOKENS:
        return False
    system = system_text(body)
    return any(marker in system for marker in AGENT_SYSTEM_MARKERS)


def schema_instance(schema: Any, name: str = "") -> Any:
    """A small value that satisfies a (simple) JSON schema.

    Booleans are false except a property called ``ok`` (prompt and agent
    hooks answer ``{"ok": true}`` to let things proceed); strings are
    :data:`SIDE_TEXT` or the first ``enum``/``const`` value.
    """
    if not isinstance(schema, dict):
        return SIDE_TEXT
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return schema_instance(schema[key][0], name)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {key: schema_instance(sub, key) for key, sub in props.items()}
    if kind == "array":
        return []
    if kind == "boolean":
        return name == "ok"
    if kind in ("integer", "number"):
        return 0
    if kind == "null":
        return None
    return SIDE_TEXT


def default_side_answer(body: dict[str, Any], side_text: str = SIDE_TEXT) -> str:
    """A short, well-formed answer to a side request."""
    fmt = (body.get("output_config") or {}).get("format") or body.get("output_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        return json.dumps(schema_instance(fmt.get("schema")))
    if "<summary>" in last_user_text(body):
        return f"<analysis>Scripted end-to-end session.</analysis>\n<summary>{side_text}</summary>"
    return side_text


# ---------------------------------------------------------------- the server


class FakeAnthropic:
    """A scripted Messages API on ``127.0.0.1:<ephemeral port>``.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    ``requests`` holds every POST body (parsed JSON) in arrival order and is
    mirrored to ``log_path`` (JSONL) when given; ``exchanges`` says for each
    call how it was classified and answered.
    """

    def __init__(
        self,
        script: Script | Sequence[Turn] | dict[str, Any] | None = None,
        *,
        log_path: str | Path | None = None,
        model: str | None = None,
        usage: Callable[[str, int | None, list[Block]], dict[str, Any]] | None = None,
    ) -> None:
        self.script = Script.coerce(script)
        #: ``usage(kind, turn, content)`` -> the ``usage`` block of an answer (default:
        #: 10 input tokens and about a quarter of the content's characters as output).
        self.usage = usage
        self.log_path = Path(log_path) if log_path is not None else None
        self.model = model
        self.requests: list[Any] = []
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._msg_ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> FakeAnthropic:
        if self._server is not None:
            return self
        handler = type("Handler", (_Handler,), {"fake": self})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-anthropic",
            daemon=True,
        )
        self._thread.start()
        log.debug("fake Anthropic API on %s", self.base_url)
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeAnthropic is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- views for assertions

    def bodies(self, kind: str | None = None) -> list[Any]:
        """Request bodies of ``/v1/messages`` calls, optionally of one kind."""
        with self._lock:
            return [
                e.body
                for e in self.exchanges
                if e.kind in ("main", "subagent", "side") and (kind is None or e.kind == kind)
            ]

    def tool_results(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Every distinct tool_result block sent back to the fake model."""
        seen: dict[str, dict[str, Any]] = {}
        for body in self.bodies(kind):
            for message in body.get("messages") or []:
                content = message.get("content") if isinstance(message, dict) else None
                if not isinstance(content, list):
                    continue
                for block in content:
                    if isinstance(block, dict) and block.get("type") == "tool_result":
                        seen.setdefault(str(block.get("tool_use_id")), block)
        return list(seen.values())

    # -- internals used by the handler

    def _record(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)
            if exchange.method == "POST" and exchange.body is not None:
                self.requests.append(exchange.body)
                if self.log_path is not None:
                    self.log_path.parent.mkdir(parents=True, exist_ok=True)
                    with self.log_path.open("a", encoding="utf-8") as fh:
                        fh.write(json.dumps(exchange.body, ensure_ascii=False) + "\n")
        log.info(
            "fake API %s %s -> %s%s",
            exchange.method,
            exchange.path,
            exchange.kind,
            "" if exchange.turn is None else f" turn {exchange.turn}",
        )

    def classify(self, body: dict[str, Any]) -> str:
        """``main``, ``subagent`` or ``side`` (see the module docstring)."""
        if not looks_like_agent_loop(body) or self.script.is_fork(body):
            return "side"
        if self.script.is_subagent(body):
            return "subagent"
        return "main"

    def answer(self, body: dict[str, Any]) -> tuple[str, int | None, dict[str, Any]]:
        """Classify a Messages request and build the assistant message for it."""
        kind = self.classify(body)
        model = self.model or str(body.get("model") or "claude-fake")
        if kind == "side":
            answer = self.script.side_answer(body) if self.script.side_answer else None
            if answer is None:
                answer = default_side_answer(body, self.script.side_text)
            if not isinstance(answer, str):
                answer = json.dumps(answer)
            return kind, None, self._message(model, [text(answer)], kind)
        turns = self.script.main if kind == "main" else self.script.subagent
        turn_no = assistant_count(body)
        done: Turn = [text(self.script.done_text)]
        turn = turns[turn_no] if turn_no < len(turns) else done
        if callable(turn):
            turn = turn(body)
        return kind, turn_no, self._message(model, turn, kind, turn_no)

    def _message(self, model: str, turn: Iterable[Block | str], kind: str = "main",
                 turn_no: int | None = None) -> dict[str, Any]:
        content: list[Block] = []
        for block in turn:
            if isinstance(block, str):
                block = text(block)
            if block.get("type") == "tool_use":
                with self._lock:
                    tool_id = f"toolu_e2e_{next(self._ids):04d}"
                content.append(
                    {
                        "type": "tool_use",
                        "id": block.get("id") or tool_id,
                        "name": block["name"],
                        "input": block.get("input") or {},
                    }
                )
            elif block.get("type") == "text":
                content.append({"type": "text", "text": str(block.get("text", ""))})
            else:
                raise ValueError(f"unsupported scripted block: {block!r}")
        if not content:
            content = [text(self.script.done_text)]
        stop = "tool_use" if any(b["type"] == "tool_use" for b in content) else "end_turn"
        with self._lock:
            msg_id = f"msg_e2e_{next(self._msg_ids):04d}"
        output_tokens = sum(len(json.dumps(b)) // 4 + 1 for b in content)
        usage = {"input_tokens": 10, "cache_creation_input_tokens": 0,
                 "cache_read_input_tokens": 0, "output_tokens": output_tokens}
        if self.usage is not None:
            usage = dict(self.usage(kind, turn_no, content))
        return {
            "id": msg_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": usage,
        }


def sse_events(message: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The SSE events that stream ``message`` the way the real API does."""
    start = {k: v for k, v in message.items() if k not in ("content",)}
    start.update(content=[], stop_reason=None, stop_sequence=None)
    start["usage"] = {**message["usage"], "output_tokens": 1}
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start}),
        ("ping", {"type": "ping"}),
    ]
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            events.append(
                (
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {"type": "text", "text": ""},
                    },
                )
            )
            deltas = [{"type": "text_delta", "text": piece} for piece in _chunks(block["text"])]
        else:
            events.append(
                (
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {
                            "type": "tool_use",
                            "id": block["id"],
                            "name": block["name"],
                            "input": {},
                        },
                    },
                )
            )
            deltas = [
                {"type": "input_json_delta", "partial_json": piece}
                for piece in _chunks(json.dumps(block["input"]))
            ]
        for delta in deltas:
            events.append(
                (
                    "content_block_delta",
                    {"type": "content_block_delta", "index": index, "delta": delta},
                )
            )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                "usage": {"output_tokens": message["usage"]["output_tokens"]},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def _chunks(value: str, size: int = 24) -> list[str]:
    """Split a string into pieces, as a streaming model would (at least one)."""
    return [value[i : i + size] for i in range(0, len(value), size)] or [""]


class _Handler(BaseHTTPRequestHandler):
    fake: FakeAnthropic  # set on the subclass made by FakeAnthropic.start
    protocol_version = "HTTP/1.1"
    server_version = "FakeAnthropic/1.0"

    # -- plumbing

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("fake API: " + format, *args)

    def _route(self) -> str:
        return urlsplit(self.path).path.rstrip("/") or "/"

    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", "replace")

    def _send_json(self, status: int, payload: Any, *, head: bool = False) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", "req_e2e")
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def _send_sse(self, message: dict[str, Any]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("request-id", "req_e2e")
        # No Content-Length: the stream ends when the connection closes.
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        for event, data in sse_events(message):
            self.wfile.write(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()

    # -- verbs

    def do_HEAD(self) -> None:
        self.fake._record(Exchange("HEAD", self.path, "other"))
        self._send_json(200, {}, head=True)

    def do_GET(self) -> None:
        self.fake._record(Exchange("GET", self.path, "other"))
        route = self._route()
        if route == "/v1/models":
            model = self.fake.model or "claude-fake"
            self._send_json(
                200,
                {
                    "data": [{"type": "model", "id": model, "display_name": model}],
                    "has_more": False,
                    "first_id": model,
                    "last_id": model,
                },
            )
        else:
            self._send_json(200, {})

    def do_POST(self) -> None:
        route = self._route()
        body = self._read_body()
        if route == "/v1/messages" and isinstance(body, dict):
            kind, turn, message = self.fake.answer(body)
            stream = bool(body.get("stream"))
            self.fake._record(Exchange("POST", self.path, kind, turn, body, message, stream=stream))
            if stream:
                self._send_sse(message)
            else:
                self._send_json(200, message)
            return
        if route == "/v1/messages/count_tokens":
            tokens = len(json.dumps(body)) // 4 if body is not None else 0
            self.fake._record(Exchange("POST", self.path, "count_tokens", body=body))
            self._send_json(200, {"input_tokens": tokens})
            return
        self.fake._record(Exchange("POST", self.path, "other", body=body))
        self._send_json(200, {})

    def do_PUT(self) -> None:
        self.fake._record(Exchange("PUT", self.path, "other", body=self._read_body()))
        self._send_json(200, {})

    def do_DELETE(self) -> None:
        self.fake._record(Exchange("DELETE", self.path, "other"))
        self._send_json(200, {})
