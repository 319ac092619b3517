"""helpers.PostgresSchema(migrated=True), which the `app` fixture's PostgreSQL leg takes: a
schema handed to a second test is as freshly migrated, and one a test changed is dropped."""

import psycopg2
import pytest
from helpers import POSTGRES_URL, PostgresSchema, make_campaign
from peewee import ProgrammingError

from miniapp_api.db import db, open_database
from miniapp_api.migrations import LATEST, current_version
from miniapp_api.models import Campaign, Visit


@pytest.fixture(autouse=True)
def no_spare_schemas(monkeypatch):
    """This test's own spares, not the ones earlier tests of this process left."""
    monkeypatch.setattr(PostgresSchema, "spare", [])


def exists(name: str) -> bool:
    conn = psycopg2.connect(POSTGRES_URL)
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (name,))
        return cursor.fetchone() is not None
    finally:
        conn.close()


def test_a_schema_used_again_is_empty_its_ids_start_again_and_it_is_migrated():
    first = PostgresSchema(migrated=True)
    with first as url:
        db.initialize(open_database(url))
        with db.connection_context():
            campaign = make_campaign(slug="shop", title="门店一群")
            Visit.create(
                campaign=campaign,
                visitor="v" * 22,
                agent="wechat",
                ip_hash="h" * 64,
                outcome="sent",
            )
    assert PostgresSchema.spare == [first.name]
    second = PostgresSchema(migrated=True)
    with second as url:
        assert second.name == first.name
        db.initialize(open_database(url))
        with db.connection_context():
            assert Campaign.select().count() == 0 and Visit.select().count() == 0
            assert make_campaign(slug="shop").id == campaign.id == 1
            assert current_version() == LATEST


def test_schemas_migrated_apart_have_one_shape_and_are_both_kept(monkeypatch):
    monkeypatch.setattr(PostgresSchema, "shape", None)  # taken from the first one made
    one, two = PostgresSchema(migrated=True), PostgresSchema(migrated=True)
    with one, two:  # two new schemas: no spare to take yet
        assert one.name != two.name
    assert sorted(PostgresSchema.spare) == sorted([one.name, two.name])


@pytest.mark.parametrize(
    "change",
    [
        "DROP INDEX visit_group_id",
        "CREATE INDEX visit_agent ON visit (agent)",
        "ALTER TABLE visit ADD COLUMN note text",
        "ALTER TABLE visit ALTER COLUMN agent SET DEFAULT '微信'",
        "ALTER TABLE visit DROP CONSTRAINT visit_group_id_fkey",
        "CREATE TABLE note (text text)",
        "DELETE FROM schemaversion WHERE version = 12",
    ],
)
def test_a_schema_a_test_changed_is_dropped_not_used_again(change):
    schema = PostgresSchema(migrated=True)
    with schema as url:
        db.initialize(open_database(url))
        with db.connection_context():
            try:
                with db.atomic():
                    db.execute_sql(change)
            except ProgrammingError:
                pytest.fail(f"{change!r} changed nothing: name something the steps make")
    assert PostgresSchema.spare == []
    assert not exists(schema.name)
