"""An Orchestra plugin that tells a person when a Claude Code session waits for them.

Orchestra calls ``on_needs_attention`` once when a session starts waiting for a
permission or for input (see Orchestra's ``hooks/specs.py``). This plugin forwards that
to whatever the environment names, each optional, all of them if several are set:

* ``ORCHESTRA_NOTIFY_URL`` — an HTTP(S) URL that takes a plain-text POST, as ntfy does
  (``https://ntfy.sh/<your topic>``, or your own server); the title goes in the ``Title``
  header. ``ORCHESTRA_NOTIFY_TOKEN``, when set, is sent as ``Authorization: Bearer ...``.
* ``ORCHESTRA_NOTIFY_COMMAND`` — a program run with the title and the message as its two
  arguments, without a shell: ``notify-send``, ``terminal-notifier -title``... or a
  script that posts to your chat.
* ``ORCHESTRA_NOTIFY_FILE`` — a file to which one JSON line per wait is appended (for
  another tool to watch, or a test to read).

Each delivery gets at most ``ORCHESTRA_NOTIFY_TIMEOUT`` seconds (default 2): a hook must
stay quick, and a notifier that is away must never hold Claude Code up. A failure is
logged by Orchestra (the plugin raises) and changes nothing else.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from typing import Any

from hooks import hookimpl

__all__ = ["message_for", "on_needs_attention"]


def message_for(attention: dict[str, Any]) -> tuple[str, str]:
    """(title, message) for a wait; every value in it is Orchestra's (bounded, redacted)."""
    who = attention.get("claude_name") or str(attention.get("session_id", "?"))[:12]
    project = attention.get("project")
    title = f"Claude Code {who}" + (f" ({project})" if project else "")
    if attention.get("reason") == "permission":
        what = "needs your permission"
    else:
        what = "waits for your input"
    detail = attention.get("tool")
    if detail and attention.get("description"):
        detail = f"{detail}: {attention['description']}"
    detail = detail or attention.get("message")
    return title, f"{what}" + (f": {detail}" if detail else "")


def _timeout() -> float:
    try:
        return max(0.1, float(os.environ.get("ORCHESTRA_NOTIFY_TIMEOUT", "2")))
    except ValueError:
        return 2.0


@hookimpl
def on_needs_attention(attention: dict[str, Any]) -> None:
    title, message = message_for(attention)
    timeout = _timeout()
    errors = []
    url = os.environ.get("ORCHESTRA_NOTIFY_URL")
    if url:
        if not url.startswith(("https://", "http://")):
            errors.append("ORCHESTRA_NOTIFY_URL must be an http(s) URL")
        else:
            headers = {"Title": title.encode("ascii", "replace").decode(),
                       "Content-Type": "text/plain; charset=utf-8"}
            token = os.environ.get("ORCHESTRA_NOTIFY_TOKEN")
            if token:
                headers["Authorization"] = f"Bearer {token}"
            request = urllib.request.Request(url, data=message.encode("utf-8"),
                                             headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    response.read(1024)
            except OSError as exc:
                errors.append(f"POST to the notify URL failed: {exc}")
    command = os.environ.get("ORCHESTRA_NOTIFY_COMMAND")
    if command:
        try:
            subprocess.run([command, title, message], timeout=timeout, check=False,
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            errors.append(f"{command}: {exc}")
    path = os.environ.get("ORCHESTRA_NOTIFY_FILE")
    if path:
        line = json.dumps({"title": title, "message": message, **attention}) + "\n"
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(line)
    if errors:
        raise RuntimeError("; ".join(errors))  # Orchestra logs it; Claude Code goes on
