"""Orchestra's front door: the ``orchestra`` command (:mod:`orchestra.cli`).

The runtime lives in :mod:`hooks` (what Claude Code runs), :mod:`handlers` (the
built-in plugins), :mod:`state` (the store and its CLIs) and :mod:`styles` (views and
output styles). This package only holds what people and the model run by hand.
"""
