"""`orchestra serve` as a command: binding rules, errors, stopping, and the dispatcher's
independence from the web extra."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from orchestra.web import main
from tests.web._support import REPO, Served, clean_env


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com"])
def test_a_non_loopback_address_needs_allow_remote(host: str, home: Path) -> None:
    code, out, err = run("--host", host, "--port", "0")
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and "--allow-remote" in err and host in err


@pytest.mark.parametrize("argv", [["--port", "70000"], ["--port", "-1"], ["--port", "x"],
                                  ["--bogus"]])
def test_bad_arguments_are_usage_errors(argv: list[str], home: Path) -> None:
    code, _out, err = run(*argv)
    assert code == 2 and err.count("\n") == 1 and err.startswith("orchestra serve: error:")


def test_help_explains_the_access_model(home: Path) -> None:
    code, out, _err = run("--help")
    assert code == 0
    for words in ("--allow-remote", "token", "HttpOnly", "CSRF", "127.0.0.1", "orchestra[web]"):
        assert words in out


def test_a_busy_port_is_one_line_and_exit_1(home: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        code, out, err = run("--port", str(port))
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and f"port {port}" in err and "--port 0" in err


@pytest.mark.slow
def test_allow_remote_warns_and_serves(tmp_path: Path) -> None:
    server = Served(tmp_path / "home", "--host", "0.0.0.0", "--allow-remote")
    try:
        assert "listening on 0.0.0.0" in "".join(server.lines)
    finally:
        code, err = server.stop()
    assert code == 0
    assert "warning" in err and "plain HTTP" in err


@pytest.mark.slow
def test_ctrl_c_stops_it_cleanly(tmp_path: Path) -> None:
    server = Served(tmp_path / "home")
    code, err = server.stop()
    assert code == 0 and err == ""
    assert server.process.stdout is not None


@pytest.mark.slow
def test_the_dispatcher_never_imports_the_web_extra(tmp_path: Path) -> None:
    probe = (
        "import io, json, sys\n"
        "from hooks import dispatch\n"
        "payload = {'session_id': 's1', 'cwd': '/tmp', 'hook_event_name': 'PreToolUse',"
        " 'tool_name': 'Bash', 'tool_input': {'command': 'ls'}, 'tool_use_id': 't1'}\n"
        "dispatch.main([], stdin=io.BytesIO(json.dumps(payload).encode()),"
        " stdout=io.StringIO(), stderr=io.StringIO())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('starlette', 'uvicorn', 'anyio', 'playwright') or m.startswith('orchestra')))\n"
    )
    result = subprocess.run([sys.executable, "-P", "-c", probe], cwd=REPO, timeout=120,
                            env=clean_env(tmp_path / "home"), capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
