"""Every CLI verb that takes an id, with ``{}`` where the id goes.

Shared by the id tests of the foundation (tests/state) and of the reliability suite
(tests/reliability), which adds the verbs that came later.
"""

from __future__ import annotations

#: (program, argv) for the state CLIs of the foundation issue.
STATE_VERBS: list[tuple[str, list[str]]] = [
    ("state_manager", ["get", "{}", "mode"]),
    ("state_manager", ["get", "{}", "$.mode"]),
    ("state_manager", ["set", "{}", "mode", "x"]),
    ("state_manager", ["merge", "{}", "active_work", "--data", "{}"]),
    ("state_manager", ["delete", "{}", "mode"]),
    ("state_manager", ["watch", "{}", "mode", "--count", "1", "--timeout", "0.1"]),
    ("state_manager", ["events", "{}"]),
    ("state_manager", ["list-sessions", "--project", "{}"]),
    ("session_manager", ["create", "--id", "{}"]),
    ("session_manager", ["create", "--project", "{}"]),
    ("session_manager", ["list", "--project", "{}"]),
    ("session_manager", ["show", "{}"]),
    ("session_manager", ["heartbeat", "{}"]),
    ("session_manager", ["end", "{}"]),
    ("shared_state", ["get-config", "{}"]),
    ("shared_state", ["register-tool", "{}", "--capabilities", "read"]),
    ("shared_state", ["unregister-tool", "{}"]),
    ("shared_state", ["update-epic", "{}", "e1", "--status", "planned"]),
    ("shared_state", ["update-epic", "p1", "{}", "--status", "planned"]),
    ("shared_state", ["update-epic", "p1", "e1", "--sprint", "{}"]),
    ("shared_state", ["list-epics", "{}"]),
    ("shared_state", ["update-sprint", "{}", "sp1"]),
    ("shared_state", ["update-sprint", "p1", "{}"]),
    ("shared_state", ["update-sprint", "p1", "sp1", "--epic", "{}"]),
    ("shared_state", ["list-sprints", "{}"]),
    ("shared_state", ["set-member", "{}", "alice"]),
    ("shared_state", ["set-member", "p1", "{}"]),
    ("shared_state", ["remove-member", "{}", "alice"]),
    ("shared_state", ["remove-member", "p1", "{}"]),
    ("shared_state", ["list-team", "{}"]),
    ("shared_state", ["decide", "{}", "--title", "t", "--rationale", "r", "--by", "me"]),
    ("shared_state", ["list-decisions", "{}"]),
]
