"""examples/orchestra-notify-example, pip-installed: found through the entry-point group
``orchestra`` and called by the real dispatcher when a session starts waiting for a person
(``on_needs_attention``), once per wait; forwarding to an ntfy-like HTTP server on
loopback, a command and a file. Installed like examples/orchestra-plugin-example (see
tests/dispatch/test_dispatch_example_plugin.py), into a private folder."""

from __future__ import annotations

import json
import shutil
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.dispatch.test_dispatch_example_plugin import install_example

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "orchestra-notify-example"
SID = "notify-1"


@pytest.fixture(scope="module")
def notify_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    scratch = tmp_path_factory.mktemp("notify-build")
    target = scratch / "site"
    how = install_example(target, scratch, EXAMPLE)
    print(f"notify example installed ({how}) into {target}")
    yield target
    shutil.rmtree(target)


class Ntfy:
    """A loopback HTTP server that keeps what was POSTed (as ntfy would publish it)."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                posts.append({"path": self.path, "title": self.headers.get("Title"),
                              "auth": self.headers.get("Authorization"),
                              "body": body.decode()})
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/orchestra-test"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def ntfy() -> Iterator[Ntfy]:
    server = Ntfy()
    yield server
    server.close()


def event(name: str, payload: Callable[[str], dict[str, Any]], **changes: Any) -> dict[str, Any]:
    data = payload(name)
    data["session_id"] = SID
    data.update(changes)
    return data


def test_a_permission_wait_reaches_ntfy_a_command_and_a_file_once(
        notify_site: Path, dispatch_cli: Callable[..., Any], plugins_cli: Callable[..., Any],
        payload: Callable[[str], dict[str, Any]], ntfy: Ntfy, tmp_path: Path) -> None:
    listing = json.loads(plugins_cli("list", "--json", paths=[notify_site]).out)
    entry = next(p for p in listing if p["name"] == "notify")
    assert (entry["source"], entry["status"], entry["hooks"]) == (
        "entry point", "loaded", ["on_needs_attention"])
    command = tmp_path / "notify-command.py"
    said = tmp_path / "said.txt"
    command.write_text(f"#!{sys.executable}\nimport sys\n"
                       f"open({str(said)!r}, 'a').write(' | '.join(sys.argv[1:]) + '\\n')\n")
    command.chmod(0o755)
    lines = tmp_path / "notify.jsonl"
    env = {"ORCHESTRA_NOTIFY_URL": ntfy.url, "ORCHESTRA_NOTIFY_TOKEN": "tk_test_123",
           "ORCHESTRA_NOTIFY_COMMAND": str(command), "ORCHESTRA_NOTIFY_FILE": str(lines)}
    for name, changes in (("UserPromptSubmit.json", {}),
                          ("PreToolUse.Bash.json", {"tool_input": {
                              "command": "rm -rf build", "description": "Clean the build"}}),
                          ("PermissionRequest.Bash.json", {"tool_input": {
                              "command": "rm -rf build", "description": "Clean the build"}}),
                          ("docs.Notification.permission_prompt.json", {})):
        done = dispatch_cli(event(name, payload, **changes), paths=[notify_site], **env)
        assert done.code == 0, done.err
    assert len(ntfy.posts) == 1, ntfy.posts  # one wait: the Notification is the same one
    post = ntfy.posts[0]
    assert post["path"] == "/orchestra-test" and post["auth"] == "Bearer tk_test_123"
    assert post["title"] == "Claude Code notify-1 (project)"
    assert post["body"] == "needs your permission: Bash: Clean the build"
    assert said.read_text() == ("Claude Code notify-1 (project) | needs your permission: "
                                "Bash: Clean the build\n")
    (line,) = [json.loads(x) for x in lines.read_text().splitlines()]
    assert line["session_id"] == SID and line["reason"] == "permission"
    assert line["source"] == "PermissionRequest" and line["at"].endswith("Z")
    # The wait ends with the next tool event; idle_prompt later is a new wait, for input.
    dispatch_cli(event("PostToolUse.Bash.json", payload), paths=[notify_site], **env)
    dispatch_cli(event("Stop.json", payload), paths=[notify_site], **env)
    dispatch_cli(event("docs.Notification.permission_prompt.json", payload,
                       notification_type="idle_prompt",
                       message="Claude is waiting for your input"), paths=[notify_site], **env)
    assert [p["body"] for p in ntfy.posts] == [
        "needs your permission: Bash: Clean the build",
        "waits for your input: Claude is waiting for your input"]


def test_a_notifier_that_is_away_costs_a_logged_error_and_nothing_else(
        notify_site: Path, dispatch_cli: Callable[..., Any], home: Path,
        payload: Callable[[str], dict[str, Any]]) -> None:
    done = dispatch_cli(event("PermissionRequest.Bash.json", payload), paths=[notify_site],
                        ORCHESTRA_NOTIFY_URL="http://127.0.0.1:9/nothing-listens",
                        ORCHESTRA_NOTIFY_TIMEOUT="0.5")
    assert done.code == 0 and done.out == ""
    log = (home / "logs" / "dispatch.log").read_text()
    assert "notify.on_needs_attention" in log and "POST to the notify URL failed" in log
    heartbeat = json.loads((home / "sessions" / SID / "heartbeat.json").read_text())
    assert heartbeat["activity"]["waiting"]["for"] == "permission"


def test_disabled_it_is_not_called(notify_site: Path, dispatch_cli: Callable[..., Any],
                                   payload: Callable[[str], dict[str, Any]],
                                   ntfy: Ntfy) -> None:
    done = dispatch_cli(event("PermissionRequest.Bash.json", payload), paths=[notify_site],
                        ORCHESTRA_NOTIFY_URL=ntfy.url, ORCHESTRA_DISABLED_PLUGINS="notify")
    assert done.code == 0 and ntfy.posts == []
