"""Load: 32 dispatcher processes at once, 50 mixed events each, across 4 sessions of one
project, while a CLI sends messages and another CLI reads the state throughout.

Each worker is its own Python process that feeds its 50 events, one after the other, through
``hooks.dispatch.main`` — the function ``python -P -m hooks.dispatch`` runs — so 32 processes
really contend for the same files and locks; paying an interpreter start per event would
make the test 20 times slower without adding contention. The same run then checks:

* no lost event: every session's event log holds exactly the events sent to it;
* no lost counter: the metrics derived from the log, the tasks (tasks.json), the subagent
  calls (state.json), the claims (claims.jsonl) and the token usage (usage.json, read from
  transcripts that grow during the run) add up exactly;
* every document is valid JSON and fits its model, every log line parses, no temp file
  and no quarantined document is left, the dispatch log has no error;
* every message sent meanwhile by ``session_manager send`` is delivered exactly once to
  each of its recipients (and to nobody else);
* ``state_manager get`` polling all the while never fails and never prints broken JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from state.metrics import session_metrics
from state.paths import project_key, session_key
from state.store import open_store
from tests.reliability._reliability_support import (
    check_state_tree,
    child_env,
    dispatch_event,
    dispatch_log_errors,
    dispatch_process,
    payload,
)

WORKERS = 32
EVENTS = 50
SESSIONS = [f"load-{n}" for n in range(4)]
PROJECT = "loadproj"
CWD = f"/work/{PROJECT}"
MESSAGES = 24

WORKER = """
import io, json, os, sys, time
from hooks.dispatch import main
from hooks.runner import wait_for_handlers
events = json.load(open(sys.argv[1]))
go = sys.argv[2]
while not os.path.exists(go):
    time.sleep(0.005)
results = []
for event in events:
    out, err = io.StringIO(), io.StringIO()
    code = main([], stdin=io.BytesIO(json.dumps(event).encode()), stdout=out, stderr=err)
    results.append([code, out.getvalue(), err.getvalue()])
wait_for_handlers()  # a handler that overran its limit on an overloaded machine finishes
                     # (see the overruns count)
json.dump(results, sys.stdout)
"""

READER = """
import io, json, os, sys
from state import state_manager
sessions, stop = sys.argv[1].split(","), sys.argv[2]
reads, failures = 0, []
while not os.path.exists(stop):
    for sid in sessions:
        for argv in (["get", sid], ["get", sid, "active_work"], ["get", sid, "metrics.events"]):
            out, err = io.StringIO(), io.StringIO()
            code = state_manager.main(argv, stdout=out, stderr=err)
            reads += 1
            try:
                value = json.loads(out.getvalue())
                ok = code == 0 and err.getvalue() == "" and value is not None
            except ValueError:
                ok = False
            if not ok and len(failures) < 5:
                failures.append([argv, code, out.getvalue()[:200], err.getvalue()[:300]])
print(json.dumps({"reads": reads, "failures": failures}))
"""


def _events(worker: int) -> list[dict[str, Any]]:
    """Worker ``worker``'s 50 events (session ``worker % 4``), every kind of write mixed in."""
    sid = SESSIONS[worker % len(SESSIONS)]
    common = {"cwd": CWD}
    out = []
    for i in range(EVENTS):
        uid = f"toolu_w{worker}_e{i}"
        agent_call = f"toolu_w{worker}_a{i // 10}"
        kind = i % 10
        if kind == 0:
            event = payload("UserPromptSubmit", sid, prompt=f"prompt w{worker} e{i}", **common)
        elif kind == 1:
            event = payload("PreToolUse.Bash", sid, tool_use_id=uid, **common)
        elif kind == 2:
            event = payload("PostToolUse.Bash", sid, tool_use_id=uid, **common)
        elif kind in (3, 4):  # an edit of a file the other sessions edit too: claims
            name = "PreToolUse.Write" if kind == 3 else "PostToolUse.Bash"
            event = payload(name, sid, tool_name="Edit", tool_use_id=uid,
                            tool_input={"file_path": f"{CWD}/src/shared{i % 3}.py",
                                        "old_string": "a", "new_string": "b"},
                            **common)
            if kind == 4:
                event["tool_response"] = {"filePath": event["tool_input"]["file_path"]}
        elif kind == 5:
            event = payload("PostToolUse.TaskCreate", sid, tool_use_id=uid,
                            tool_response={"task": {"id": f"w{worker}-t{i}",
                                                    "subject": f"task {i} of worker {worker}"}},
                            **common)
        elif kind == 6:
            event = payload("PreToolUse.Bash", sid, tool_name="Agent", tool_use_id=agent_call,
                            tool_input={"description": f"agent {agent_call}",
                                        "prompt": "say ok", "subagent_type": "general-purpose"},
                            **common)
        elif kind == 7:
            event = payload("PostToolUse.Bash", sid, tool_name="Agent", tool_use_id=agent_call,
                            tool_input={"description": f"agent {agent_call}",
                                        "subagent_type": "general-purpose"},
                            tool_response={"status": "completed",
                                           "content": [{"type": "text", "text": "ok"}]},
                            **common)
        elif kind == 8:
            event = payload("Stop", sid, **common)
        else:
            event = payload("PostToolUse.Bash", sid, tool_name="Write", tool_use_id=uid,
                            tool_input={"file_path": f"{CWD}/src/w{worker}.py",
                                        "content": "x"},
                            tool_response={"type": "create"}, **common)
        out.append(event)
    return out


def _usage_line(message_id: str, tokens: int) -> str:
    return json.dumps({"type": "assistant", "message": {
        "id": message_id, "model": "claude-test", "role": "assistant",
        "usage": {"input_tokens": tokens, "output_tokens": 1}}}) + "\n"


def _append(path: Path, line: str) -> None:
    with open(path, "a", encoding="utf-8") as fh:  # one write of one whole line
        fh.write(line)


def _cli(root: Path, module: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", module, *argv], env=child_env(root),
                          capture_output=True, text=True, timeout=60, check=False)


def test_32_dispatchers_x_50_events_with_cli_writer_and_reader(
        root: Path, outer: Path, report: Any) -> None:
    started = time.monotonic()
    scratch = outer.parent
    transcripts = {sid: scratch / f"transcript-{sid}.jsonl" for sid in SESSIONS}
    tokens_written = Counter[str]()
    for sid, path in transcripts.items():
        for n in range(5):
            _append(path, _usage_line(f"{sid}-pre{n}", 10 + n))
            tokens_written[sid] += 10 + n

    # Messages must fit in one context whatever bursts the scheduler makes.
    assert _cli(root, "state.shared_state", "set-config", "messages.max_context_chars",
                "1000000").returncode == 0
    for sid in SESSIONS:  # the real command, which also builds the registry cache
        start = dispatch_process(payload("SessionStart.startup", sid, cwd=CWD), root)
        assert start.code == 0 and start.err == "", start

    work = scratch / "load"
    work.mkdir()
    go, stop = work / "go", work / "stop"
    sent: list[dict[str, Any]] = []
    for w in range(WORKERS):
        events = _events(w)
        for event in events:
            event["transcript_path"] = str(transcripts[event["session_id"]])
        sent.extend(events)
        (work / f"events-{w}.json").write_text(json.dumps(events))
    env = child_env(root)
    workers = [subprocess.Popen([sys.executable, "-P", "-c", WORKER, str(work / f"events-{w}.json"),
                                 str(go)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env, text=True) for w in range(WORKERS)]
    reader = subprocess.Popen([sys.executable, "-c", READER, ",".join(SESSIONS), str(stop)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)

    messages: list[tuple[str, set[str]]] = []  # (token, recipients)
    send_failures: list[str] = []
    cli_reads: list[int] = [0, 0]  # real `state_manager get` runs, failures

    def send_messages() -> None:
        for k in range(MESSAGES):
            token = f"[load-message-{k:03d}]"
            target = k % 6
            if target < 4:
                argv, recipients = ["--to", SESSIONS[target]], {SESSIONS[target]}
            elif target == 4:
                argv, recipients = ["--project", PROJECT], set(SESSIONS)
            else:
                argv, recipients = ["--all"], set(SESSIONS)
            done = _cli(root, "state.session_manager", "send", *argv, f"{token} hello")
            if done.returncode != 0:
                send_failures.append(done.stderr)
                continue
            messages.append((token, recipients))
            sid = SESSIONS[k % 4]  # the transcripts grow while Stops read them
            _append(transcripts[sid], _usage_line(f"{sid}-run{k}", 100 + k))
            tokens_written[sid] += 100 + k

    def poll_cli() -> None:
        while not stop.exists():
            for sid in SESSIONS:
                done = _cli(root, "state.state_manager", "get", sid, "--compact")
                cli_reads[0] += 1
                try:
                    ok = done.returncode == 0 and isinstance(json.loads(done.stdout), dict)
                except ValueError:
                    ok = False
                if not ok or done.stderr:
                    cli_reads[1] += 1
                    send_failures.append(f"get {sid}: {done.returncode} {done.stderr}")

    threads = [threading.Thread(target=send_messages), threading.Thread(target=poll_cli)]
    go.touch()
    for thread in threads:
        thread.start()
    results: list[list[Any]] = []
    try:
        for proc in workers:
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err
            results.extend(json.loads(out))
        threads[0].join(120)
    finally:
        stop.touch()
        for proc in workers:
            if proc.poll() is None:
                proc.kill()
    threads[1].join(120)
    reader_out, reader_err = reader.communicate(timeout=120)
    load_seconds = time.monotonic() - started

    # Every dispatch succeeded, quietly, with at most one JSON object as its reply.
    assert len(results) == WORKERS * EVENTS
    bad = [r for r in results if r[0] != 0 or r[2] != ""]
    assert bad == [], bad[:3]
    replies = [json.loads(r[1]) if r[1] else None for r in results]
    assert all(r is None or isinstance(r, dict) for r in replies)
    assert send_failures == [], send_failures[:3]

    # After the writers stopped: one more prompt and Stop per session (delivers what is left,
    # reads the rest of the transcript), as Claude Code would send them.
    flush: list[dict[str, Any]] = []
    for sid in SESSIONS:
        for event in (payload("UserPromptSubmit", sid, prompt="flush", cwd=CWD),
                      payload("Stop", sid, cwd=CWD, transcript_path=str(transcripts[sid]))):
            outcome = dispatch_event(event)
            assert outcome.code == 0 and outcome.err == "", outcome
            flush.append(event)
            replies.append(outcome.reply)
    sent.extend(flush)

    store = open_store(root)
    # No lost event, no lost counter.
    for sid in SESSIONS:
        mine = [e for e in sent if e["session_id"] == sid]
        log = list(store.read_log(session_key(sid, "events.jsonl")))
        assert Counter(r["event"] for r in log) == Counter(
            ["SessionStart"] + [e["hook_event_name"] for e in mine])
        assert Counter((r["event"], r.get("tool_use_id")) for r in log if "tool_use_id" in r) \
            == Counter((e["hook_event_name"], e["tool_use_id"]) for e in mine
                       if "tool_use_id" in e)
        metrics = session_metrics(store, sid)
        assert metrics["events"] == len(mine) + 1
        assert metrics["prompts"] == sum(e["hook_event_name"] == "UserPromptSubmit" for e in mine)
        assert metrics["tool_calls"] == sum(e["hook_event_name"] == "PostToolUse" for e in mine)
        assert metrics["stops"] == sum(e["hook_event_name"] == "Stop" for e in mine)
        assert metrics["tokens"]["input_tokens"] == tokens_written[sid]
        tasks = store.require(session_key(sid, "tasks.json"))["tasks"]
        assert set(tasks) == {e["tool_response"]["task"]["id"] for e in mine
                              if e.get("tool_name") == "TaskCreate"}
        agents = store.require(session_key(sid, "state.json"))["active_work"]["agents"]
        calls = {f"call-{e['tool_use_id']}" for e in mine if e.get("tool_name") == "Agent"}
        assert set(agents) == calls
        assert {a["status"] for a in agents.values()} == {"done"}
    records = list(store.read_log(project_key(PROJECT, "claims.jsonl")))
    claims = [r for r in records if "file" in r and not r.get("release")
              and not r.get("provisional")]
    assert len(claims) == sum(e["hook_event_name"] == "PostToolUse"
                              and e.get("tool_name") in ("Edit", "Write") for e in sent)
    # a provisional claim only for a write the check let through (one per PreToolUse at most)
    provisional = [r for r in records if r.get("provisional")]
    assert len(provisional) <= sum(e["hook_event_name"] == "PreToolUse"
                                   and e.get("tool_name") in ("Edit", "Write") for e in sent)

    # Every message exactly once to each recipient, to nobody else.
    contexts: dict[str, list[str]] = {sid: [] for sid in SESSIONS}
    for event, reply in zip(sent, replies, strict=True):
        text = ((reply or {}).get("hookSpecificOutput") or {}).get("additionalContext")
        if text:
            contexts[event["session_id"]].append(text)
    assert len(messages) == MESSAGES
    deliveries = 0
    for token, recipients in messages:
        for sid in SESSIONS:
            seen = sum(text.count(token) for text in contexts[sid])
            assert seen == (1 if sid in recipients else 0), (token, sid, seen)
            deliveries += seen

    # The reader never saw a broken document.
    reader_result = json.loads(reader_out)
    assert reader.returncode == 0, reader_err
    assert reader_result["failures"] == [], reader_result["failures"]
    assert reader_result["reads"] > 0 and cli_reads[0] > 0 and cli_reads[1] == 0

    checked = check_state_tree(root)
    # A handler that overran its time limit (2 s) is the budget at work, not a fault of the
    # state: it happens only on an overloaded machine and is counted; anything else fails.
    errors = dispatch_log_errors(root)
    overruns = [e for e in errors if "overran its time limit" in e]
    assert errors == overruns, errors
    report(processes=WORKERS, events=len(sent), messages=len(messages), deliveries=deliveries,
           cli_reads=reader_result["reads"] + cli_reads[0], documents=checked["documents"],
           log_lines=checked["log_lines"], blank_log_lines=checked["blank_log_lines"],
           handler_overruns=len(overruns), seconds=round(load_seconds, 1))
