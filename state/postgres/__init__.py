"""The PostgreSQL backend: one server shared by every machine of a team.

Selected by ``ORCHESTRA_STORE_URL=postgresql://...`` or config ``store.url``
(:func:`state.store.open_store`); the file store stays the default. psycopg is
imported only by the modules that talk to the server, and only when this
backend is selected. Modules, each with one job:

* :mod:`~state.postgres.settings` — the ``store`` settings, URL checks and redaction;
* :mod:`~state.postgres.connect`  — connecting within a deadline, the local circuit breaker;
* :mod:`~state.postgres.schema`   — the versioned schema and its migrations;
* :mod:`~state.postgres.server`   — the SQL behind every storage primitive;
* :mod:`~state.postgres.local`    — what stays on the machine: outbox and read cache;
* :mod:`~state.postgres.storage`  — :class:`PgStorage`, the storage interface on a server;
* :mod:`~state.postgres.jsonpath` — JSONPath run by the server when it can be translated;
* :mod:`~state.postgres.doctor`   — the ``doctor`` checks;
* :mod:`~state.postgres.copy`     — copying a whole store between backends (``migrate``).

The design (why hooks rarely connect, what happens when the server is away) is
in ``docs/postgres.md``.
"""
