"""The timeline: what every session of a project did, when, as lanes (issue 28).

* :mod:`.fold` — a session's event log folded into turns, tool calls, subagents, waits
  for a person and guard decisions;
* :mod:`.sources` — logs read from a time on, by byte offset (never from the start);
* :mod:`.lanes` — a window of lanes: items for a page of lanes, binned when wide, with
  message, claim and guard marks and the links between sender and recipient lanes;
* :mod:`.cost` — tokens and cost over time, per project, stacked by session.

``orchestra serve`` draws it (the Timeline page), ``orchestra timeline`` and
``orchestra watch timeline`` print it as text (:mod:`styles.views.timeline`). Nothing
here is imported by the dispatcher.
"""
