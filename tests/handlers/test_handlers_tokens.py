"""Tokens and cost (issue 21): read from the transcripts incrementally, once per message,
main thread and subagents apart, priced from config; never a cost of 0 for tokens
without a price."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from hooks.testing import run_dispatch
from orchestra.cli import main as orchestra
from tests.handlers._support import payload

SID = "tok-0001"
MODEL = "claude-test-1"
#: USD per million tokens: round numbers that make the expected costs easy to check.
PRICE = {"input": 1.0, "output": 10.0, "cache_read": 0.1, "cache_write": 2.0,
         "cache_write_1h": 4.0}


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = orchestra(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def show(sid: str = SID) -> dict[str, Any]:
    code, out, err = run("show", sid)
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "orchestra"
    monkeypatch.setenv("ORCHESTRA_HOME", str(root))
    for key in ("ORCHESTRA_SESSION_ID", "CLAUDE_CODE_SESSION_ID", "CLAUDE_PROJECT_DIR"):
        monkeypatch.delenv(key, raising=False)
    return root


def assistant(message_id: str, usage: dict[str, Any], model: str = MODEL,
              blocks: int = 1) -> list[str]:
    """Transcript lines of one assistant message: one per content block, each repeating
    the message's usage (as Claude Code writes them)."""
    return [json.dumps({"type": "assistant", "uuid": f"{message_id}-{i}",
                        "message": {"id": message_id, "model": model, "role": "assistant",
                                    "content": [{"type": "text", "text": "x" * 50}],
                                    "usage": usage}}) for i in range(blocks)]


def user(text: str = "tool output " * 100) -> str:
    return json.dumps({"type": "user", "message": {"role": "user", "content": text}})


def write(path: Path, lines: list[str], mode: str = "a") -> None:
    with path.open(mode, encoding="utf-8") as fh:
        fh.write("".join(line + "\n" for line in lines))


def usage(i: int = 10, o: int = 5, read: int = 0, create: int = 0,
          create_1h: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {"input_tokens": i, "output_tokens": o,
                           "cache_read_input_tokens": read,
                           "cache_creation_input_tokens": create}
    if create_1h:
        out["cache_creation"] = {"ephemeral_1h_input_tokens": create_1h,
                                 "ephemeral_5m_input_tokens": create - create_1h}
    return out


def dispatch(home: Path, name: str, sid: str = SID, **changes: Any) -> None:
    result = run_dispatch(payload(name, sid, **changes), home=home)
    assert result.exit_code == 0, result.stderr


def price(home: Path) -> None:
    for field, value in PRICE.items():
        code, _, err = run("shared", "set-config", f"pricing.models.{MODEL}.{field}",
                           str(value))
        assert code == 0, err


def test_each_message_is_counted_once_incrementally_and_priced(home: Path,
                                                                tmp_path: Path) -> None:
    transcript = tmp_path / "t.jsonl"
    write(transcript, [user(), *assistant("m1", usage(100, 20, 1000, 400, 300), blocks=3),
                       user()])
    dispatch(home, "Stop", transcript_path=str(transcript))
    tokens = show()["tokens"]
    assert tokens["total"] == {"input_tokens": 100, "output_tokens": 20,
                               "cache_read_input_tokens": 1000,
                               "cache_creation_input_tokens": 400,
                               "cache_creation_1h_input_tokens": 300}
    assert tokens["main"] == tokens["total"] and tokens["subagents"] == {}
    # No price for the model yet: its cost is unknown, never 0.
    cost = show()["cost"]
    assert cost["usd"] is None and cost["unknown_models"] == [MODEL]
    assert "cost unknown" in run("show", SID, "--text")[1]
    price(home)
    cost = show()["cost"]
    expected = (100 * 1 + 20 * 10 + 1000 * 0.1 + 100 * 2 + 300 * 4) / 1e6
    assert cost["usd"] == pytest.approx(expected) and cost["partial"] is False
    # The next Stop reads only what was appended (the same message again is not counted).
    write(transcript, [*assistant("m1", usage(100, 20, 1000, 400, 300)),
                       *assistant("m2", usage(7, 3), blocks=2)])
    dispatch(home, "Stop", transcript_path=str(transcript))
    assert show()["tokens"]["total"]["input_tokens"] == 107
    stored = json.loads((home / "sessions" / SID / "usage.json").read_text())
    assert stored["transcripts"]["main"]["offset"] == transcript.stat().st_size


def test_subagents_are_counted_apart_and_in_the_total(home: Path, tmp_path: Path) -> None:
    main, sub = tmp_path / "main.jsonl", tmp_path / "agent-a1.jsonl"
    write(main, assistant("m1", usage(10, 5)))
    write(sub, assistant("s1", usage(30, 6)) + assistant("s2", usage(40, 4), model="other-x"))
    dispatch(home, "SubagentStop", agent_id="a1", agent_transcript_path=str(sub))
    dispatch(home, "Stop", transcript_path=str(main))
    price(home)
    data = show()
    assert data["tokens"]["main"]["input_tokens"] == 10
    assert data["tokens"]["subagents"]["input_tokens"] == 70
    assert data["tokens"]["total"]["input_tokens"] == 80
    assert set(data["tokens"]["by_model"]) == {MODEL, "other-x"}
    # other-x has no price: the total leaves it out and says so.
    cost = data["cost"]
    assert cost["partial"] is True and cost["unknown_models"] == ["other-x"]
    assert cost["usd"] == pytest.approx((40 * 1 + 11 * 10) / 1e6)
    assert cost["by_model"]["other-x"] is None
    text = run("show", SID, "--text")[1]
    assert "subagents 70 in" in text and "(partial)" in text and "no price for other-x" in text
    # The stats report has the same numbers, and the total of the sessions.
    code, out, err = run("stats", "--tokens", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["total"]["total"]["input_tokens"] == 80
    assert report["total"]["cost"]["partial"] is True
    assert "subagents" in run("stats", "--tokens")[1]


def test_precompact_and_session_end_read_the_rest(home: Path, tmp_path: Path) -> None:
    transcript = tmp_path / "t.jsonl"
    write(transcript, assistant("m1", usage(1, 1)))
    dispatch(home, "PreCompact.manual", transcript_path=str(transcript))
    assert show()["tokens"]["total"]["input_tokens"] == 1
    write(transcript, assistant("m2", usage(2, 2)))
    dispatch(home, "SessionEnd.other", transcript_path=str(transcript))
    assert show()["tokens"]["total"]["input_tokens"] == 3


def test_tool_events_never_read_the_transcript(home: Path, tmp_path: Path) -> None:
    transcript = tmp_path / "t.jsonl"
    write(transcript, assistant("m1", usage(1, 1)))
    for name in ("UserPromptSubmit", "PreToolUse.Bash", "PostToolUse.Bash"):
        dispatch(home, name, transcript_path=str(transcript))
    assert not (home / "sessions" / SID / "usage.json").exists()
    assert show()["tokens"]["recorded"] is False


def test_the_work_per_event_is_bounded(home: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import handlers.metrics

    monkeypatch.setattr(handlers.metrics, "MAX_READ", 4096)
    transcript = tmp_path / "t.jsonl"
    lines = []
    for i in range(40):
        lines += [user("output " * 60), *assistant(f"m{i}", usage(1, 1))]
    write(transcript, lines)
    size = transcript.stat().st_size
    dispatch(home, "Stop", transcript_path=str(transcript))
    first = show()["tokens"]["total"]["input_tokens"]
    assert 0 < first < 40
    stops = 1
    while show()["tokens"]["total"].get("input_tokens", 0) < 40:
        dispatch(home, "Stop", transcript_path=str(transcript))
        stops += 1
        assert stops <= size // 4096 + 2
    assert show()["tokens"]["total"]["input_tokens"] == 40  # each message once, in the end


def test_a_worktree_transcript_path_that_does_not_exist_keeps_the_cursor(
        home: Path, tmp_path: Path) -> None:
    """After EnterWorktree, Claude Code names a transcript under the worktree's project
    folder that it never writes (tests/payloads/coordination/README.md)."""
    transcript = tmp_path / "t.jsonl"
    write(transcript, assistant("m1", usage(5, 5)))
    dispatch(home, "Stop", transcript_path=str(transcript))
    write(transcript, assistant("m2", usage(6, 6)))
    dispatch(home, "Stop", transcript_path=str(tmp_path / "worktree" / "t.jsonl"))
    assert show()["tokens"]["total"]["input_tokens"] == 11
    # A real other file is read from its own start; going back resumes the first one.
    other = tmp_path / "other.jsonl"
    write(other, assistant("o1", usage(100, 1)))
    dispatch(home, "Stop", transcript_path=str(other))
    write(transcript, assistant("m3", usage(1000, 1)))
    dispatch(home, "Stop", transcript_path=str(transcript))
    assert show()["tokens"]["total"]["input_tokens"] == 1111


def test_a_replay_without_transcripts_shows_no_tokens_and_says_so(home: Path) -> None:
    dispatch(home, "UserPromptSubmit")
    dispatch(home, "Stop", transcript_path="/nonexistent/t.jsonl")
    assert show()["cost"]["usd"] is None
    code, text, _ = run("dashboard", "--project", "project")
    assert code == 0 and "tokens: none" in text


def test_the_project_total_adds_its_sessions(home: Path, tmp_path: Path) -> None:
    price(home)
    for n, sid in enumerate(("tok-a", "tok-b")):
        transcript = tmp_path / f"{sid}.jsonl"
        write(transcript, assistant(f"{sid}-m", usage(1000 * (n + 1), 0)))
        dispatch(home, "Stop", sid, transcript_path=str(transcript))
    _code, out, _ = run("dashboard", "--project", "project", "--json")
    total = json.loads(out)["usage"]
    assert total["sessions"] == 2 and total["total"]["input_tokens"] == 3000
    assert total["cost"]["usd"] == pytest.approx(3000 / 1e6)
    assert "tokens 3,000 in 2 session(s), cost $0.0030" in run(
        "dashboard", "--project", "project")[1]


def test_default_prices_and_prefix_matching() -> None:
    from state.config import DEFAULTS
    from state.usage import price_for, usage_cost

    models = DEFAULTS["pricing"]["models"]
    assert price_for("claude-opus-5-5[1m]", models) == models["claude-opus-5-5"]
    assert price_for("claude-sonnet-4-5-20250929", models) == models["claude-sonnet-4-5"]
    assert price_for("claude-opus-55", models) is None  # a prefix must end at a separator
    assert price_for("gpt-9", models) is None
    cost = usage_cost({"claude-opus-5-5": {"input_tokens": 1_000_000}}, DEFAULTS["pricing"])
    assert cost["usd"] == 4.0 and cost["prices_as_of"] == DEFAULTS["pricing"]["as_of"]
    nothing = usage_cost({"<synthetic>": {"input_tokens": 0}}, DEFAULTS["pricing"])
    assert nothing["usd"] is None and nothing["unknown_models"] == []
