"""RFC 9535 -> PostgreSQL SQL/JSON path: the strings for the shared subset, and None
outside it. No database here: the strings are what the PostgreSQL backend runs as
``jsonb_path_query(doc, path, '{}', true)``."""

from __future__ import annotations

import pytest

from state.jsonpath import parse, to_postgres


@pytest.mark.parametrize(("query", "path"), [
    ("$", "strict $"),
    ("$.active_work.current_epic", 'strict $."active_work"."current_epic"'),
    ("$['a.b']['task-001']", 'strict $."a.b"."task-001"'),
    ("$['say \"hi\"\\n\u00e9']", 'strict $."say \\"hi\\"\\n\u00e9"'),
    ("$.a[0][2][-1][-3]", 'strict $."a"[0][2][last][last - 2]'),
    ("$.tasks.*", 'strict $."tasks".**{1}'),
    ("$.tasks[*].status", 'strict $."tasks".**{1} ? (exists(@."status"))."status"'),
    ("$.rows[*][0]", 'strict $."rows".**{1} ? (exists(@[0]))[0]'),
    ("$..status", 'strict $.** ? (exists(@."status"))."status"'),
    ("$.active_work.tasks[?(@.status=='pending')]",
     'strict $."active_work"."tasks".**{1} ? (@."status" == "pending")'),
    ('$.active_work.tasks[?@.status=="pending"].subject',
     'strict $."active_work"."tasks".**{1} ? (@."status" == "pending")'
     ' ? (exists(@."subject"))."subject"'),
    ("$[?@.n >= 2 && @.n < 10.5 || @.tag]",
     'strict $.**{1} ? (((@."n" >= 2 && @."n" < 10.5) || exists(@."tag")))'),
    ("$[?@.done == true || @.owner == null || @.p == -1]",
     'strict $.**{1} ? ((@."done" == true || @."owner" == null || @."p" == -1))'),
    ("$[?'b' <= @.name]", 'strict $.**{1} ? ("b" <= @."name")'),
    ("$[?@.a == 1e3]", 'strict $.**{1} ? (@."a" == 1000.0)'),
    ("$.a[?@.x == $.limits['max'][0]]", None),  # two queries: objects compare differently
    ("$.a[?$.config.on == true]", 'strict $."a".**{1} ? ($."config"."on" == true)'),
    ("$[?@.a[0].b]", 'strict $.**{1} ? (exists(@."a"[0]."b"))'),
])
def test_translations(query: str, path: str | None) -> None:
    assert to_postgres(parse(query)) == path
    assert to_postgres(query) == path


@pytest.mark.parametrize("query", [
    "$[?!@.a]",  # not unknown is unknown: negation differs
    "$[?@.a != 1]",
    "$[?!(@.a == 1)]",
    "$[?length(@.a) > 1]",
    "$[?match(@.a, 'x')]",
    "$[?count(@.*) == 1]",
    "$[?@.a < true]",  # PostgreSQL orders booleans, the RFC does not
    "$[?@.a >= null]",
    "$[?1 == 1]",
    "$[?@.a == @.b]",
    "$[?@.a == 1e300]",  # Python writes it with an exponent
    "$[?@.* ]",  # existence of a non-singular query
    "$[1:3]",
    "$['a','b']",
    "$[0,1]",
    "$..*",
    "$..[0]",
    "$..[?@.a]",
    '$["\\u0000"]',  # PostgreSQL's text holds no NUL: it refuses the path (issue 23)
    "$.a['x\\u0000y']",
    '$..["\\u0000"]',
    "$[?@.a == 'x\\u0000']",
])
def test_outside_the_shared_subset(query: str) -> None:
    assert to_postgres(parse(query)) is None
