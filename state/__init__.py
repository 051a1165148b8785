"""Orchestra state, in layers (``state/README.md`` maps every module): the storage layer
(:mod:`state.persistence`, :mod:`state.postgres`), which knows no session nor project;
the query language (:mod:`state.jsonpath`); the domain — sessions, messages, claims, the
plan — which opens the store with its rules (:mod:`state.store`); and the seed's CLIs
(``python -m state.state_manager``, ``state.session_manager``, ``state.shared_state``)."""
