"""Every output style is a valid Claude Code output style, and every command it tells
Claude to run works as written against a real state (exit 0, non-empty output).

Commands are the backticked ``orchestra ...`` spans of a style. A word in angle
brackets is a placeholder the style asks Claude to fill in; :data:`PLACEHOLDERS`
holds a value for each that exists in the fixture state, and an unknown
placeholder fails the test, so a new command cannot slip in untested.
"""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from styles import STYLES, style_path

COMMAND = re.compile(r"`(orchestra [^`]+)`")
PLACEHOLDER = re.compile(r"<([a-z_]+)>")
ENV_VAR = re.compile(r"\$(?:(\w+)|\{(\w+)\})")
#: A value for every placeholder the styles use, valid in the fixture state
#: (tasks: the project's T-3, given to a tool; the current session is sess-alpha).
PLACEHOLDERS = {
    "project": "demo", "session": "sess-beta", "sprint": "sprint-2", "epic": "epic-board",
    "task": "3", "status": "in_progress", "tool": "qa-tester", "member": "bob",
    "role": "reviewer", "capabilities": "tests,review", "count": "2", "n": "1",
    "path": "render.blocker_idle_seconds", "value": "900", "names": "alice,bob",
    "title": "Ship the board first", "rationale": "It unblocks two sessions",
    "reason": "Waiting for the API key",
}
#: keep-coding-instructions, chosen per style (see docs/styles.md for why).
KEEP_CODING = {"dashboard": "false", "leadership": "false", "sprint": "true", "config": "false"}
FRONTMATTER_KEYS = {"name", "description", "keep-coding-instructions"}


def parse_style(path: Path) -> tuple[dict[str, str], str]:
    """(frontmatter, body) the way Claude Code reads a style file."""
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n"), f"{path.name}: no frontmatter"
    head, sep, body = text[4:].partition("\n---\n")
    assert sep, f"{path.name}: frontmatter is not closed"
    meta = {}
    for line in head.splitlines():
        key, colon, value = line.partition(":")
        assert colon and key.strip() and value.strip(), f"{path.name}: bad line {line!r}"
        value = value.strip()
        # A plain YAML scalar, read the same by any frontmatter parser: no comment (" #"),
        # no nested mapping (": "), no quoting, no leading indicator character.
        assert " #" not in value and ": " not in value, f"{path.name}: {line!r}"
        assert value[0] not in "'\"&*!|>%@`[]{},#?-", f"{path.name}: {line!r}"
        meta[key.strip()] = value
    return meta, body.strip()


def commands(stem: str) -> list[str]:
    return COMMAND.findall(style_path(stem).read_text(encoding="utf-8"))


ALL_COMMANDS = [(stem, i, cmd) for stem in STYLES for i, cmd in enumerate(commands(stem))]


@pytest.mark.parametrize("stem", list(STYLES))
def test_frontmatter_is_a_valid_output_style(stem: str) -> None:
    meta, body = parse_style(style_path(stem))
    assert set(meta) == FRONTMATTER_KEYS
    assert meta["name"] == STYLES[stem]
    assert 20 <= len(meta["description"]) <= 250
    assert meta["keep-coding-instructions"] == KEEP_CODING[stem]
    assert body


@pytest.mark.parametrize("stem", list(STYLES))
def test_style_is_a_sudolang_program_in_the_seed_pattern(stem: str) -> None:
    _meta, body = parse_style(style_path(stem))
    for part in ("State {", "Constraints {", "interface {", "stateIntegration {",
                 "processInput(input) {", "handleCommand(command) {",
                 "showSuggestions(input) {"):
        assert part in body, f"{stem}: missing {part}"
    process = body[body.index("processInput(input) {"):]
    for case in ('(input starts with "/")', '(input starts with "@")',
                 '(input starts with "#")', "default => showSuggestions(input)"):
        assert case in process, f"{stem}: processInput lacks {case}"
    assert "Every orchestra command knows the current session" in body
    for text, _command in re.findall(r"^\s*(\w+):\s+(`orchestra [^`]+`)\s*$",
                                     body[body.index("stateIntegration {"):], re.M):
        assert text  # every stateIntegration entry is "name: `command`"


def test_dashboard_has_the_navigation_commands() -> None:
    _meta, body = parse_style(style_path("dashboard"))
    for command in ("/members", "/sessions", "/board", "@<session|agent|tool", "#<sprint|epic>"):
        assert command in body


#: Slash commands Claude Code 2.1.332 takes for itself before the model sees them (found in
#: the real CLI; tests/e2e/test_e2e_style_commands.py shows it): built-ins in `claude -p`,
#: and /team, which the interactive prompt completes to its built-in /team-onboarding.
INTERCEPTED = ("/config", "/help", "/agents", "/tasks", "/settings", "/cost", "/team")


def interface_commands(stem: str) -> list[str]:
    _meta, body = parse_style(style_path(stem))
    block = body[body.index("interface {"):body.index("}", body.index("interface {"))]
    return re.findall(r"(?<![\w<])(/[a-z][a-z-]*)", block)


@pytest.mark.parametrize("stem", list(STYLES))
def test_no_style_command_is_one_claude_code_takes_for_itself(stem: str) -> None:
    named = interface_commands(stem)
    assert "/commands" in named and len(named) >= 7
    assert not set(named) & set(INTERCEPTED), (stem, set(named) & set(INTERCEPTED))
    _meta, body = parse_style(style_path(stem))
    handled = body[body.index("handleCommand(command) {"):]
    for command in named:  # every command the interface names is handled
        assert f'"{command}"' in handled, (stem, command)
    for command in INTERCEPTED:
        assert f'"{command}"' not in handled, (stem, command)


def test_every_command_is_an_orchestra_verb_with_known_placeholders() -> None:
    from orchestra.verbs import VERBS

    assert len(ALL_COMMANDS) >= 40
    for stem, _i, command in ALL_COMMANDS:
        argv = shlex.split(command)
        assert argv[0] == "orchestra" and argv[1] in VERBS, (stem, command)
        unknown = set(PLACEHOLDER.findall(command)) - set(PLACEHOLDERS)
        assert not unknown, f"{stem}: {command}: no test value for {unknown}"
        assert "SESSION_ID" not in command, command  # the current session is implied


def test_every_style_renders_its_views_through_orchestra() -> None:
    from styles.views import VIEWS

    for stem in STYLES:
        assert any(shlex.split(c)[1] in VIEWS for c in commands(stem)), stem


def _argv(command: str, env: dict[str, str]) -> list[str]:
    """The argv a shell would run: split, placeholders filled, ``$VARS`` from ``env``."""
    words = [PLACEHOLDER.sub(lambda m: PLACEHOLDERS[m.group(1)], word)
             for word in shlex.split(command)]
    words = [ENV_VAR.sub(lambda m: env.get(m.group(1) or m.group(2), ""), word)
             for word in words]
    assert words[0] == "orchestra"
    return [sys.executable, "-m", "orchestra", *words[1:]]


@pytest.mark.parametrize(("stem", "index", "command"), ALL_COMMANDS,
                         ids=[f"{s}-{i:02d}" for s, i, _ in ALL_COMMANDS])
def test_style_command_runs_as_written(stem: str, index: int, command: str, state_copy: Path,
                                       child_env: Callable[..., dict[str, str]],
                                       tmp_path: Path) -> None:
    import subprocess

    env = child_env(state_copy, ORCHESTRA_SESSION_ID="sess-alpha")
    argv = _argv(command, env)
    proc = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, (command, proc.stderr)
    assert proc.stdout.strip(), (command, proc.stderr)
    assert "Traceback" not in proc.stderr


def test_commands_fail_cleanly_without_a_session(state_copy: Path,
                                                 child_env: Callable[..., dict[str, str]],
                                                 tmp_path: Path) -> None:
    """Outside an Orchestra session a style's session command says so in one line."""
    import subprocess

    command = next(c for _s, _i, c in ALL_COMMANDS if c.startswith("orchestra get "))
    env = child_env(state_copy)
    proc = subprocess.run(_argv(command, env), env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert "neither ORCHESTRA_SESSION_ID nor CLAUDE_CODE_SESSION_ID is set" in proc.stderr
    assert len(proc.stderr.splitlines()) == 1


def test_claude_code_session_id_is_enough(state_copy: Path,
                                          child_env: Callable[..., dict[str, str]],
                                          tmp_path: Path) -> None:
    """Claude Code sets CLAUDE_CODE_SESSION_ID in the model's Bash; the commands use it
    when ORCHESTRA_SESSION_ID is not there (before the first SessionStart export)."""
    import json
    import subprocess

    env = child_env(state_copy, CLAUDE_CODE_SESSION_ID="sess-beta")
    proc = subprocess.run([sys.executable, "-m", "orchestra", "show"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["session_id"] == "sess-beta"
    env["ORCHESTRA_SESSION_ID"] = "sess-alpha"  # Orchestra's own export wins
    proc = subprocess.run([sys.executable, "-m", "orchestra", "show"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert json.loads(proc.stdout)["session_id"] == "sess-alpha"
