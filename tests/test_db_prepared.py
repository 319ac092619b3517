"""execute_prepared(): the scan path's statements, prepared once per PostgreSQL connection."""

import pytest

from miniapp_api.db import db, execute_prepared, is_sqlite


def echo_sql() -> str:
    p = db.obj.param  # the driver's placeholder, as the scan path's statements use it
    return f"SELECT {p} || '·' || {p}"


def prepared_names() -> list[str]:
    return [name for (name,) in db.execute_sql("SELECT name FROM pg_prepared_statements")]


def test_a_statement_answers_alike_every_time(app):
    with db.connection_context():
        for word in ("群", "活码", "群"):
            assert execute_prepared("echo", echo_sql(), (word, "码")).fetchone() == (f"{word}·码",)


def test_postgresql_prepares_a_statement_once_per_connection(app):
    if is_sqlite():
        pytest.skip("SQLite's driver keeps its own compiled statements")
    with db.connection_context():
        execute_prepared("echo", echo_sql(), ("一", "二"))
        execute_prepared("echo", echo_sql(), ("三", "四"))
        assert prepared_names() == ["echo"]
        # A rolled-back transaction keeps it: the next run does not prepare it again.
        with db.atomic() as transaction:
            execute_prepared("echo_twice", echo_sql(), ("五", "六"))
            transaction.rollback()
        assert execute_prepared("echo_twice", echo_sql(), ("七", "八")).fetchone() == ("七·八",)
        assert sorted(prepared_names()) == ["echo", "echo_twice"]
    # Another connection prepares its own.
    db.close_all()
    with db.connection_context():
        assert prepared_names() == []
        assert execute_prepared("echo", echo_sql(), ("九", "十")).fetchone() == ("九·十",)


@pytest.mark.parametrize("name", ["echo; DROP TABLE visit", "Echo", "", "x" * 64, "1st"])
def test_a_name_that_is_not_a_plain_identifier_is_refused(app, name):
    if is_sqlite():
        pytest.skip("SQLite prepares nothing by name")
    with db.connection_context(), pytest.raises(ValueError, match="not a statement name"):
        execute_prepared(name, echo_sql(), ("一", "二"))
