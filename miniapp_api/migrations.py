"""Schema versions.

A new database is created from the current models and stamped with the latest version. An
existing one gets each pending step in order, in a transaction, so stored data is carried
over. To change the schema: change the model, then append a step that brings an existing
database to the same shape (playhouse.migrate's add_column, add_index, ...).
"""

from playhouse.migrate import SchemaMigrator

from .db import db, is_sqlite
from .models import MODELS, SchemaVersion


def _initial(migrator: SchemaMigrator) -> None:
    db.create_tables(MODELS)


# Append only; never edit a step that has shipped.
STEPS = [_initial]
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
    with db.atomic():
        if before == 0:
            db.create_tables(MODELS)
            SchemaVersion.insert_many([{"version": v} for v in range(1, LATEST + 1)]).execute()
            return before, LATEST
        for version in range(before + 1, LATEST + 1):
            STEPS[version - 1](migrator)
            SchemaVersion.create(version=version)
    return before, LATEST
