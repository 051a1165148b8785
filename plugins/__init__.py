"""Plugin management commands: ``python -m plugins list``.

Third-party plugins are found through the ``orchestra`` entry-point group; see
:mod:`hooks.registry` for the allow-list and block-list variables.
"""
