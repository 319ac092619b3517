"""Schema versions.

A new database is created from the current models and stamped with the latest version. An
existing one gets each pending step in order, in a transaction, so stored data is carried
over. To change the schema: change the model, then append a step that brings an existing
database to the same shape (playhouse.migrate's add_column, add_index, ...).
"""

from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as migrate_columns

from miniapp_api.db import db, is_sqlite
from miniapp_api.models import (
    MODELS,
    REFERRAL_MODELS,
    STAFF_MODELS,
    VIP_MODELS,
    Campaign,
    Channel,
    Group,
    SchemaVersion,
    Visit,
)


def _initial(migrator: SchemaMigrator) -> None:
    db.create_tables([Campaign, Channel, Group, Visit, SchemaVersion])


def _staff(migrator: SchemaMigrator) -> None:
    db.create_tables(STAFF_MODELS)


def _campaign_template(migrator: SchemaMigrator) -> None:
    migrate_columns(migrator.add_column("campaign", "template", Campaign.template))


def _referrals(migrator: SchemaMigrator) -> None:
    db.create_tables(REFERRAL_MODELS)


def _vip(migrator: SchemaMigrator) -> None:
    db.create_tables(VIP_MODELS)


# Append only; never edit a step that has shipped.
STEPS = [_initial, _staff, _campaign_template, _referrals, _vip]
LATEST = len(STEPS)


def _version_table_exists() -> bool:
    table = SchemaVersion._meta.table_name
    if is_sqlite():
        return db.table_exists(table)
    # Peewee looks in "public"; to_regclass follows the search_path the deployment set.
    return db.execute_sql("SELECT to_regclass(%s)", (table,)).fetchone()[0] is not None


def current_version() -> int:
    if not _version_table_exists():
        return 0
    row = SchemaVersion.select().order_by(SchemaVersion.version.desc()).first()
    return row.version if row else 0


def migrate() -> tuple[int, int]:
    """Bring the database to the latest version; returns (version before, version after)."""
    before = current_version()
    migrator = SchemaMigrator.from_database(db.obj)
    if before == 0:
        with db.atomic():
            db.create_tables(MODELS)
            SchemaVersion.insert_many([{"version": v} for v in range(1, LATEST + 1)]).execute()
        return before, LATEST
    if before == LATEST:
        return before, LATEST
    # SQLite changes some columns by rebuilding the table (copy, drop, rename); with foreign
    # keys on, dropping it would cascade and delete every row that references it. SQLite's
    # documented procedure: keys off outside the transaction, check them before committing.
    sqlite = is_sqlite()
    if sqlite:
        db.execute_sql("PRAGMA foreign_keys = OFF")
    try:
        with db.atomic():
            for version in range(before + 1, LATEST + 1):
                STEPS[version - 1](migrator)
                SchemaVersion.create(version=version)
            if sqlite:
                broken = db.execute_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left broken references: {broken[:5]}")
    finally:
        if sqlite:
            db.execute_sql("PRAGMA foreign_keys = ON")
    return before, LATEST
