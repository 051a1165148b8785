"""Payloads for the timeline tests, in the shapes of ``tests/payloads`` (Claude Code
2.1.332), and a replay of them with clock lines (``hooks.tooling.replay``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.web._support import DEMO_CWD, REPO, clean_env


def _base(sid: str, event: str, **fields: Any) -> dict[str, Any]:
    return {"session_id": sid, "transcript_path": f"/tmp/{sid}.jsonl", "cwd": DEMO_CWD,
            "permission_mode": "default", "hook_event_name": event, **fields}


def start(sid: str) -> dict[str, Any]:
    return _base(sid, "SessionStart", source="startup")


def prompt(sid: str, text: str) -> dict[str, Any]:
    return _base(sid, "UserPromptSubmit", prompt=text)


def pre(sid: str, tool: str, inputs: dict[str, Any], n: int, agent: str | None = None
        ) -> dict[str, Any]:
    extra = {"agent_id": agent, "agent_type": "general-purpose"} if agent else {}
    return _base(sid, "PreToolUse", tool_name=tool, tool_input=inputs,
                 tool_use_id=f"toolu_tl{n:04d}", **extra)


def post(sid: str, tool: str, inputs: dict[str, Any], n: int, agent: str | None = None,
         failed: bool = False, ms: int = 1200) -> dict[str, Any]:
    extra = {"agent_id": agent, "agent_type": "general-purpose"} if agent else {}
    if failed:
        return _base(sid, "PostToolUseFailure", tool_name=tool, tool_input=inputs,
                     tool_use_id=f"toolu_tl{n:04d}", error="exit 1", duration_ms=ms, **extra)
    return _base(sid, "PostToolUse", tool_name=tool, tool_input=inputs,
                 tool_response={"stdout": "ok"}, tool_use_id=f"toolu_tl{n:04d}",
                 duration_ms=ms, **extra)


def permission(sid: str, tool: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return _base(sid, "PermissionRequest", tool_name=tool, tool_input=inputs,
                 permission_suggestions=[])


def notification(sid: str, kind: str, message: str) -> dict[str, Any]:
    return _base(sid, "Notification", message=message, notification_type=kind)


def subagent_start(sid: str, agent: str) -> dict[str, Any]:
    return _base(sid, "SubagentStart", agent_id=agent, agent_type="general-purpose")


def subagent_stop(sid: str, agent: str, answer: str = "ok") -> dict[str, Any]:
    return _base(sid, "SubagentStop", agent_id=agent, agent_type="general-purpose",
                 stop_hook_active=False, last_assistant_message=answer,
                 agent_transcript_path=f"/tmp/{sid}/agent-{agent}.jsonl",
                 background_tasks=[], session_crons=[])


def stop(sid: str, answer: str) -> dict[str, Any]:
    return _base(sid, "Stop", stop_hook_active=False, last_assistant_message=answer,
                 background_tasks=[], session_crons=[])


def end(sid: str) -> dict[str, Any]:
    return _base(sid, "SessionEnd", reason="other")


def clock(value: str) -> dict[str, Any]:
    return {"clock": value}


def orchestra(*argv: str) -> dict[str, Any]:
    return {"orchestra": list(argv)}


def replay(home: Path, lines: list[dict[str, Any]]) -> None:
    """Replay ``lines`` (payloads, clock and orchestra lines) into ``home``, in-process."""
    from hooks.tooling.replay import replay as run

    results = run(lines, str(home))
    failed = [r for r in results if r.get("exit_code") != 0]
    assert not failed, failed


def cli(home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """``python -m orchestra ARGV`` on ``home`` (a fresh process, as a person runs it)."""
    return subprocess.run([sys.executable, "-m", "orchestra", *argv], cwd=REPO,
                          env=clean_env(home), capture_output=True, text=True, timeout=120,
                          check=False)


def timeline_json(home: Path, *argv: str) -> dict[str, Any]:
    done = cli(home, "timeline", "--json", "--compact", *argv)
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


BASH_TESTS = {"command": "pytest -q tests/cart", "description": "Run the cart tests"}
WRITE = {"file_path": f"{DEMO_CWD}/cart_totals.py", "content": "x = 1\n"}
AGENT = {"description": "Audit cart totals", "prompt": "audit cart_totals.py",
         "subagent_type": "general-purpose"}
BASH_AUDIT = {"command": "grep -n round cart_totals.py", "description": "Check the totals"}
BASH_RISKY = {"command": "rm -rf build", "description": "Clean the build"}


def working_day(sid: str, agent: str = "a1b2c3d4e5f6a7b8c") -> list[dict[str, Any]]:
    """A session's morning: asked, a described Bash call, a file written, a subagent with
    its own described call, a wait for permission, the answer; an hour ago to now."""
    return [
        clock("-50m"), start(sid),
        clock("-45m"), prompt(sid, "Fix the rounding bug in cart totals\nsecond line"),
        clock("-44m"), pre(sid, "Bash", BASH_TESTS, 1),
        clock("-43m"), post(sid, "Bash", BASH_TESTS, 1, ms=60_000),
        clock("-42m"), pre(sid, "Write", WRITE, 2), post(sid, "Write", WRITE, 2, ms=30),
        clock("-40m"), pre(sid, "Agent", AGENT, 3), subagent_start(sid, agent),
        clock("-39m"), pre(sid, "Bash", BASH_AUDIT, 4, agent=agent),
        clock("-38m"), post(sid, "Bash", BASH_AUDIT, 4, agent=agent, ms=60_000),
        clock("-37m"), subagent_stop(sid, agent, "Audit: the totals are right."),
        post(sid, "Agent", AGENT, 3, ms=180_000),
        clock("-36m"), pre(sid, "Bash", BASH_RISKY, 5), permission(sid, "Bash", BASH_RISKY),
        notification(sid, "permission_prompt", "Claude needs your permission to use Bash"),
        clock("-33m"), post(sid, "Bash", BASH_RISKY, 5, failed=True, ms=1000),
        clock("-32m"), stop(sid, "Fixed the rounding bug: totals are rounded once."),
        clock("-30m"), notification(sid, "idle_prompt", "Claude is waiting for your input"),
        clock("now"),
    ]


#: Session ids of :func:`team_hour` (UUIDs, as Claude Code's are).
TEAM = [f"{n:08x}-7d2a-4e59-9a41-5f0c8e2d7b{n:02x}" for n in range(1, 13)]
_FILES = ["src/cart.py", "src/pay/card.py", "src/pay/wallet.py", "tests/test_cart.py",
          "src/search.py", "docs/checkout.md", "src/api/orders.py", "src/ui/basket.tsx"]
_TASKS = ["Add Apple Pay to the checkout", "Speed up product search", "Fix the flaky lock test",
          "Document the checkout flow", "Refactor the order API", "Render the basket in React",
          "Review the card payments", "Rotate the Stripe keys", "Tidy the CSS of the cart",
          "Upgrade the test runner", "Write the release notes"]


def _timed(lines: list[dict[str, Any]]) -> list[tuple[float, dict[str, Any]]]:
    """Clocked lines as (seconds before now, payload)."""
    from state.clock import parse_duration

    at, out = 0.0, []
    for n, line in enumerate(lines):
        if "clock" in line:
            at = 0.0 if line["clock"] == "now" else parse_duration(line["clock"][1:])
            continue
        out.append((at - n * 0.001, line))  # keep the order of lines of one moment
    return out


#: Claude Code's names of the :data:`TEAM` sessions (``NAME [REF]``, as ListAgents says).
NAMES = [f"{word}-{k + 1:02x}" for k, word in enumerate(
    ["cart", "wallet", "search", "locks", "docs", "orders", "basket", "cards", "keys", "css",
     "runner", "notes"])]
REFS = [f"{0xa1b2c0 + k:06x}" for k in range(12)]


def list_agents(sid: str, k: int, n: int) -> dict[str, Any]:
    """ListAgents' result, which tells a session its own Claude Code name (issue 21)."""
    listing = (f"This session is {NAMES[k]} [{REFS[k]}] — the name other sessions use to "
               "message it.\n\nPeer sessions (0):")
    return _base(sid, "PostToolUse", tool_name="ListAgents", tool_input={},
                 tool_response={"listing": listing, "sections": [], "notes": []},
                 tool_use_id=f"toolu_tl{n:04d}", duration_ms=20)


def send_message(sid: str, to: str, summary: str, text: str, n: int
                 ) -> list[dict[str, Any]]:
    """Claude Code's own SendMessage (its PreToolUse and PostToolUse, as 2.1.332 sends)."""
    inputs = {"to": to, "summary": summary, "message": text}
    return [_base(sid, "PreToolUse", tool_name="SendMessage", tool_input=inputs,
                  tool_use_id=f"toolu_tl{n:04d}"),
            _base(sid, "PostToolUse", tool_name="SendMessage", tool_input=inputs,
                  tool_response={"success": True, "message": f"sent to {to}",
                                 "msg_id": f"cc-{n}"},
                  tool_use_id=f"toolu_tl{n:04d}", duration_ms=15)]


def _member(k: int, sid: str, peers: list[str]) -> list[tuple[float, dict[str, Any]]]:
    """Session ``k`` of the team: a turn or two of described calls, edits and reads."""
    base = 58 - k * 3.5  # minutes ago it starts
    out: list[tuple[float, dict[str, Any]]] = [(base * 60, start(sid)),
                                                (base * 60 - 30, prompt(sid, _TASKS[k - 1])),
                                                (base * 60 - 40, list_agents(sid, k, k * 100))]
    t = base * 60 - 60
    n = k * 100
    for step in range(6 + k % 4):
        n += 1
        path = f"{DEMO_CWD}/{_FILES[k % len(_FILES)].replace('.', f'_{step}.')}"
        if (k, step) in ((5, 1), (6, 1)):  # two sessions edit one file: a guard decision
            path = f"{DEMO_CWD}/src/pay/card.py"
        if step % 3 == 0:
            call, tool = {"command": f"pytest -q -k part{step}", "description":
                          f"Run the tests of part {step}"}, "Bash"
        elif step % 3 == 1:
            call, tool = {"file_path": path, "old_string": "a", "new_string": "b"}, "Edit"
        else:
            call, tool = {"file_path": path}, "Read"
        length = 40 + (k * 17 + step * 29) % 140
        out += [(t, pre(sid, tool, call, n)), (t - length, post(sid, tool, call, n,
                                                                  ms=length * 1000))]
        t -= length + 20
        if step == 2 and k % 2 == 0 and peers:
            out.append((t, orchestra("session", "send", "--from", sid, "--to", peers[0],
                                     f"{_TASKS[k - 1]}: I am touching {_FILES[k % 8]}")))
            t -= 10
        if step == 3 and k == 9:  # through Claude Code: to a name, resolved by the name map
            for line in send_message(sid, NAMES[10], "css done",
                                     "The basket CSS is merged; rebase, please.", n + 50):
                out.append((t, line))
                t -= 1
    if k % 5 == 3:  # still working, waiting for a permission
        n += 1
        call = {"command": "git push --force", "description": "Push the branch"}
        out += [(t, pre(sid, "Bash", call, n)), (t - 1, permission(sid, "Bash", call))]
    elif k % 4 != 0:
        out.append((t, stop(sid, f"Done: {_TASKS[k - 1].lower()}.")))
    return out


def team_hour(size: int = 12, transcripts: Path | None = None) -> list[dict[str, Any]]:
    """``size`` sessions of one project over the last hour (the first one's morning is
    :func:`working_day`), as replay lines with clock lines, in time order. With
    ``transcripts`` (a folder), each session's transcript is written there with the
    usage of its answers, which its Stops read (its tokens and cost)."""
    timed = [*_timed(working_day(TEAM[0])), (49 * 60, list_agents(TEAM[0], 0, 9))]
    for k in range(1, size):
        timed += _member(k, TEAM[k], [TEAM[(k + 1) % size]])
    timed.sort(key=lambda item: -item[0])
    if transcripts is not None:
        transcripts.mkdir(parents=True, exist_ok=True)
        for k, sid in enumerate(TEAM[:size]):
            path = transcripts / f"{sid}.jsonl"
            model = "claude-sonnet-4-5" if k % 3 == 2 else "claude-opus-5-5"
            path.write_text("".join(
                json.dumps({"type": "assistant", "uuid": f"{sid}-{n}", "message": {
                    "id": f"msg-{sid}-{n}", "model": model, "role": "assistant",
                    "content": [{"type": "text", "text": "ok"}],
                    "usage": {"input_tokens": 900 + 40 * k + n, "output_tokens": 300 + 25 * n,
                              "cache_read_input_tokens": 20_000 + 3000 * k,
                              "cache_creation_input_tokens": 1500 + 100 * n}}}) + "\n"
                for n in range(3 + k % 4)), encoding="utf-8")
        for _ago, line in timed:
            if line.get("session_id"):
                line["transcript_path"] = str(transcripts / f"{line['session_id']}.jsonl")
    lines: list[dict[str, Any]] = []
    for ago, line in timed:
        lines += [clock(f"-{max(ago, 0):.3f}s"), line]
    lines.append(clock("now"))
    return lines


# -- tokens and cost ---------------------------------------------------------------

COST_SESSIONS = A, B, C, D = "cost-aaaa", "cost-bbbb", "cost-cccc", "cost-dddd"
PRICED, OTHER, UNPRICED = "claude-test-1", "claude-test-2", "mystery-model-1"
PRICES = {PRICED: {"input": 1.0, "output": 10.0, "cache_read": 0.1, "cache_write": 2.0,
                   "cache_write_1h": 4.0},
          OTHER: {"input": 3.0, "output": 15.0, "cache_read": 0.3, "cache_write": 3.75,
                  "cache_write_1h": 6.0}}
FIELDS = ("input_tokens", "output_tokens", "cache_read_input_tokens",
          "cache_creation_input_tokens")


def usage_of(n: int) -> dict[str, Any]:
    """A usage block unlike any other (so a message counted twice changes the sums)."""
    return {"input_tokens": 100 + n, "output_tokens": 20 * n + 3,
            "cache_read_input_tokens": 1000 * n, "cache_creation_input_tokens": 50 + n,
            "cache_creation": {"ephemeral_1h_input_tokens": 10 + n,
                               "ephemeral_5m_input_tokens": 40}}


def transcript_message(mid: str, model: str, n: int) -> list[str]:
    """A transcript's lines of one answer: one per content block, each repeating its usage
    (as Claude Code writes them)."""
    return [json.dumps({"type": "assistant", "uuid": f"{mid}-{block}", "message": {
        "id": mid, "model": model, "role": "assistant", "usage": usage_of(n),
        "content": [{"type": "text", "text": "ok"}]}}) for block in range(2)]


def by_hand(model: str, n: int) -> float:
    """What answer ``n`` of ``model`` costs: the price table applied here, by hand."""
    price, used = PRICES[model], usage_of(n)
    hour = used["cache_creation"]["ephemeral_1h_input_tokens"]
    return (used["input_tokens"] * price["input"] + used["output_tokens"] * price["output"]
            + used["cache_read_input_tokens"] * price["cache_read"]
            + (used["cache_creation_input_tokens"] - hour) * price["cache_write"]
            + hour * price["cache_write_1h"]) / 1e6


#: (session, minutes ago, [(message id, model, n)]): each a Stop after those answers.
STOPS = [(A, 40, [("m1", PRICED, 1), ("m2", PRICED, 2)]), (B, 30, [("m4", OTHER, 4)]),
         (C, 20, [("m5", UNPRICED, 5)]), (A, 10, [("m3", PRICED, 3)])]


def costs(root: Path) -> Path:
    """Four sessions whose Stops read transcripts (issue 21's handler): two priced models,
    one without a price, one session without tokens yet; returns the state root."""
    home = root / "orchestra"
    lines: list[dict[str, Any]] = []
    for model, price in PRICES.items():
        for field, value in price.items():
            lines.append(orchestra("shared", "set-config",
                                      f"pricing.models.{model}.{field}", str(value)))
    lines.append(clock("-50m"))
    for sid in (A, B, C, D):
        lines += [start(sid), prompt(sid, f"work of {sid}")]
    replay(home, lines)
    for sid, ago, answers in STOPS:  # the transcript grows, then its session stops
        transcript = root / f"{sid}.jsonl"
        with transcript.open("a", encoding="utf-8") as handle:
            for mid, model, n in answers:
                handle.write("".join(line + "\n" for line in transcript_message(mid, model, n)))
        replay(home, [clock(f"-{ago}m"),
                      {**stop(sid, "done"), "transcript_path": str(transcript)}])
    return home
