"""Orchestra's tooling for getting into Claude Code (not on the dispatcher's path).

* :mod:`hooks.tooling.registration` — what Orchestra registers, in settings files and in
  the plugin's ``hooks/hooks.json``, and how its entries are recognised;
* :mod:`hooks.tooling.settings_file`, :mod:`hooks.tooling.install` — install/uninstall;
* :mod:`hooks.tooling.agent_registration`, :mod:`hooks.tooling.agent_install`,
  :mod:`hooks.tooling.doctor_agents` — the same for Codex CLI and Gemini CLI (``--agent``);
* :mod:`hooks.tooling.doctor`, :mod:`hooks.tooling.doctor_state` — doctor;
* :mod:`hooks.tooling.record`, :mod:`hooks.tooling.replay` — record and replay;
* :mod:`hooks.tooling.cli` — the error funnel they share.

The runtime (:mod:`hooks.dispatch` and what it imports) never imports this package.
"""
