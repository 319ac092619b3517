"""Schema versions carry stored data across a schema change."""

from conftest import make_campaign
from peewee import CharField
from playhouse.migrate import migrate as apply

from miniapp_api import migrations
from miniapp_api.db import db
from miniapp_api.models import Campaign, SchemaVersion


def test_fresh_database_is_stamped_latest(app):
    assert migrations.current_version() == migrations.LATEST
    assert migrations.migrate() == (migrations.LATEST, migrations.LATEST)
    assert SchemaVersion.select().count() == migrations.LATEST


def test_a_new_step_changes_an_existing_database_and_keeps_its_rows(app, monkeypatch):
    make_campaign(slug="store", title="门店会员群")

    def add_region(migrator):
        apply(migrator.add_column("campaign", "region", CharField(default="华东")))

    monkeypatch.setattr(migrations, "STEPS", [*migrations.STEPS, add_region])
    monkeypatch.setattr(migrations, "LATEST", migrations.LATEST + 1)
    before, after = migrations.migrate()
    assert after == before + 1
    row = db.execute_sql("SELECT slug, title, region FROM campaign").fetchall()
    assert [tuple(r) for r in row] == [("store", "门店会员群", "华东")]
    assert migrations.migrate() == (after, after)  # nothing pending: nothing done
    assert Campaign.select().count() == 1
