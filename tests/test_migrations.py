"""Schema versions carry stored data across a schema change."""

from helpers import make_campaign, make_group
from peewee import CharField
from playhouse.migrate import migrate as apply

from miniapp_api import migrations
from miniapp_api.db import db
from miniapp_api.livecode.rules import record_scan
from miniapp_api.models import Campaign, Group, SchemaVersion, Visit


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


def test_a_step_that_rebuilds_a_table_keeps_the_rows_that_reference_it(app, monkeypatch):
    """SQLite adds a NOT NULL column by rebuilding the table; the groups and visits that
    point at a campaign must survive it (with foreign keys on, a drop would cascade)."""
    campaign = make_campaign(slug="store")
    group = make_group(campaign, "宝妈群")
    record_scan(campaign.id, None, "v" * 22, "wechat", "h")

    def add_city(migrator):
        apply(migrator.add_column("campaign", "city", CharField(default="上海")))

    monkeypatch.setattr(migrations, "STEPS", [*migrations.STEPS, add_city])
    monkeypatch.setattr(migrations, "LATEST", migrations.LATEST + 1)
    migrations.migrate()
    assert [g.id for g in Group.select()] == [group.id]
    assert Visit.select().count() == 1
    assert db.execute_sql("SELECT city FROM campaign").fetchall()[0][0] == "上海"
