"""Backups: a consistent copy of the database while the kit serves, checked, and restored.

Copying the SQLite file of a running kit is not a backup: the latest writes sit in the WAL file
beside it, and a copy taken mid-write is torn (tried: 32 of 91 visits and 7,000 of 20,017
customers missing). SQLite's online backup API copies one consistent snapshot while writers go
on; PostgreSQL's pg_dump does the same in one transaction. A copy is checked before it is
trusted, and restoring one checks it again, for it may be months old or not ours at all.

Plain functions: the command line (miniapp_api/cli.py) says where, and what to print.
"""

import os
import re
import shutil
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

from miniapp_api.db import db, is_sqlite
from miniapp_api.i18n import _
from miniapp_api.migrations import LATEST

BACKUP_DIR = "backups"


class BackupError(RuntimeError):
    """A backup or restore that cannot go on; the message says what to do."""


def default_path(instance: str, sqlite: bool, moment: datetime) -> Path:
    """instance/backups/qunbook-YYYYMMDD-HHMMSS.sqlite3 (.dump for PostgreSQL); a second one
    within the same second gets -2, -3 … rather than replacing the first."""
    folder = Path(instance) / BACKUP_DIR
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    stem, suffix = f"qunbook-{moment:%Y%m%d-%H%M%S}", ".sqlite3" if sqlite else ".dump"
    path, number = folder / f"{stem}{suffix}", 1
    while path.exists():
        number += 1
        path = folder / f"{stem}-{number}{suffix}"
    return path


def _create_new(path: Path) -> None:
    """Create `path` empty, readable by its owner alone (a backup holds every customer's
    data), and refuse when something is there already: a backup never replaces a file."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        raise BackupError(
            _("%(path)s 已经存在：备份从不覆盖文件，请换一个文件名。", path=path)
        ) from None
    except OSError as error:
        raise BackupError(
            _("无法在 %(path)s 写备份（%(error)s）：请换一个可写的位置。", path=path, error=error)
        ) from None


# SQLite


def backup_sqlite(source: sqlite3.Connection, path: Path) -> None:
    """Copy the database open on `source` into the new file `path`, one consistent snapshot
    (writers carry on meanwhile), as a single file without a WAL; then check the copy."""
    _create_new(path)
    try:
        with sqlite3.connect(path) as target:
            # One step (pages=-1): the copy is of one moment. Stepped, a write in between
            # would make SQLite start the copy again.
            source.backup(target)
            target.execute("PRAGMA journal_mode = DELETE")
        target.close()
        problem = sqlite_problem(path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if problem:
        path.unlink(missing_ok=True)
        raise BackupError(
            _("备份的副本没有通过检查（%(problem)s）：数据库文件可能已损坏。", problem=problem)
        )


def sqlite_problem(path: Path) -> str | None:
    """None when the file is a sound SQLite database; otherwise what integrity_check says."""
    try:
        with _read_only(path) as connection:
            rows = connection.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError as error:
        return str(error)
    found = [row[0] for row in rows]
    return None if found == ["ok"] else "; ".join(found[:5])


class _read_only:
    def __init__(self, path: Path):
        self.connection = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)

    def __enter__(self) -> sqlite3.Connection:
        return self.connection

    def __exit__(self, *exc):
        self.connection.close()


def sqlite_version_of(path: Path) -> int | None:
    """The Qunbook schema version a SQLite file holds, or None when it holds none."""
    try:
        with _read_only(path) as connection:
            row = connection.execute("SELECT MAX(version) FROM schemaversion").fetchone()
    except sqlite3.DatabaseError:
        return None
    return row[0] if row and row[0] else None


def check_sqlite_backup(path: Path) -> int:
    """The schema version of the backup at `path`, once it has proved sound and ours."""
    if not Path(path).is_file():
        raise BackupError(_("%(path)s 处没有文件：请给出备份文件的路径。", path=path))
    problem = sqlite_problem(path)
    if problem:
        raise BackupError(
            _(
                "%(path)s 不是完好的 SQLite 数据库（%(problem)s）：请换一份备份。",
                path=path,
                problem=problem,
            )
        )
    return _servable(path, sqlite_version_of(path))


def restore_sqlite(path: Path, target: sqlite3.Connection) -> None:
    """Replace the database open on `target` with the backup at `path`, page by page."""
    with _read_only(path) as source:
        source.backup(target)


# PostgreSQL


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            _(
                "找不到 %(tool)s：PostgreSQL 的备份和恢复要用它。请安装 PostgreSQL 客户端"
                "（Debian/Ubuntu：apt-get install postgresql-client，版本不低于数据库服务器），"
                "再运行一次。",
                tool=name,
            )
        )
    return found


def pg_connection(url: str) -> tuple[str, dict[str, str], str | None]:
    """What pg_dump and pg_restore need from QUNBOOK_DATABASE_URL: a libpq URL without the
    password (which would show in `ps`), the environment carrying it, and the schema the URL's
    search_path names (a deployment in a schema of its own backs up that schema alone)."""
    parts = urlsplit(url)
    env = dict(os.environ)
    netloc = parts.netloc
    if "@" in netloc:
        user, host = netloc.rsplit("@", 1)
        if ":" in user:
            user, password = user.split(":", 1)
            env["PGPASSWORD"] = unquote(password)
        netloc = f"{user}@{host}"
    clean = urlunsplit(parts._replace(scheme="postgresql", netloc=netloc))
    schema = None
    for option in parse_qs(parts.query).get("options", []):
        found = re.search(r"-c\s*search_path=([^\s,]+)", option)
        if found:
            schema = found[1].strip('"')
    return clean, env, schema


def _run(command: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(
            _("%(what)s 失败：%(error)s", what=what, error=done.stderr.strip() or done.returncode)
        )
    return done


def backup_postgres(url: str, path: Path) -> None:
    """pg_dump's custom format into the new file `path`: one snapshot, taken while serving."""
    pg_dump = _pg_tool("pg_dump")
    dbname, env, schema = pg_connection(url)
    _create_new(path)
    command = [pg_dump, "--format=custom", f"--file={path}", f"--dbname={dbname}"]
    if schema:
        command.append(f"--schema={schema}")
    try:
        _run(command, env, "pg_dump")
        _pg_list(_pg_tool("pg_restore"), path, env)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def check_postgres_backup(path: Path, url: str) -> int:
    """The schema version in the pg_dump file at `path`, once pg_restore has read it whole
    and found its tables in the schema `url` uses (pg_restore puts them back where they were
    dumped from, whatever the URL says)."""
    pg_restore = _pg_tool("pg_restore")
    _dbname, env, schema = pg_connection(url)
    if not Path(path).is_file():
        raise BackupError(_("%(path)s 处没有文件：请给出备份文件的路径。", path=path))
    listed = _pg_list(pg_restore, path, env)
    found = re.search(r"^\d+; \d+ \d+ TABLE (\S+) schemaversion ", listed, re.MULTILINE)
    if found is None:
        return _servable(path, None)
    if found[1] != (schema or "public"):
        raise BackupError(
            _(
                "%(path)s 的数据在 schema %(dumped)s 里，而 QUNBOOK_DATABASE_URL 用的是 "
                "%(schema)s：请把它的 search_path 设成 %(dumped)s 再恢复。",
                path=path,
                dumped=found[1],
                schema=schema or "public",
            )
        )
    # The version table's rows, as the COPY text pg_restore would send: no database needed.
    data = subprocess.run(
        [pg_restore, "--data-only", "--table=schemaversion", "--file=-", str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    versions = re.findall(r"^(\d+)\t", data.stdout, re.MULTILINE)
    return _servable(path, max(map(int, versions)) if versions else None)


def _pg_list(pg_restore: str, path: Path, env: dict[str, str]) -> str:
    """pg_restore's table of contents of the dump at `path`: it reads the file whole."""
    listed = subprocess.run(
        [pg_restore, "--list", str(path)], env=env, capture_output=True, text=True, check=False
    )
    if listed.returncode != 0:
        raise BackupError(
            _(
                "%(path)s 不是 pg_dump 的备份（%(error)s）：请换一份 qunbook backup 做的备份。",
                path=path,
                error=listed.stderr.strip(),
            )
        )
    return listed.stdout


# Every table of the schema the URL uses goes first, in the restore's own transaction: a newer
# version's tables (place_share …) are not in an older backup, so pg_restore --clean would leave
# them behind, and their foreign keys stop it dropping the tables they point at.
DROP_TABLES = """DO $$ DECLARE t record; BEGIN
FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', t.tablename); END LOOP; END $$"""


def restore_postgres(url: str, path: Path) -> None:
    """Replace the database's tables with the dump's, all or nothing: pg_restore --clean
    writes the script, psql runs it in one transaction after dropping the tables there."""
    pg_restore, psql = _pg_tool("pg_restore"), _pg_tool("psql")
    dbname, env, _schema = pg_connection(url)
    script = subprocess.Popen(
        [pg_restore, "--clean", "--if-exists", "--no-owner", "--file=-", str(path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        done = subprocess.run(
            [
                psql,
                "--no-psqlrc",
                "--quiet",
                "--single-transaction",
                "--set=ON_ERROR_STOP=1",
                f"--dbname={dbname}",
                f"--command={DROP_TABLES}",
                "--file=-",
            ],
            env=env,
            stdin=script.stdout,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        script.stdout.close()
        errors = script.stderr.read().decode(errors="replace")
        script.stderr.close()
        script.wait()
    if script.returncode != 0 or done.returncode != 0:
        raise BackupError(
            _(
                "%(what)s 失败：%(error)s",
                what="pg_restore",
                error=(errors + done.stderr).strip() or done.returncode,
            )
        )


# Both


def _servable(path: Path, version: int | None) -> int:
    if version is None:
        raise BackupError(
            _(
                "%(path)s 里没有 Qunbook 的数据（没有结构版本表）："
                "请换一份 qunbook backup 做的备份。",
                path=path,
            )
        )
    if version > LATEST:
        raise BackupError(
            _(
                "%(path)s 的结构版本是 %(version)s，比这个程序（%(latest)s）新："
                "请用新版程序恢复它。",
                path=path,
                version=version,
                latest=LATEST,
            )
        )
    return version


def size_text(path: Path) -> str:
    size = Path(path).stat().st_size
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def holds_data() -> bool:
    """Whether the configured database has a row in any table but the version table: restoring
    over it would lose what it holds."""
    if is_sqlite():
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    else:
        sql = (
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
    tables = [row[0] for row in db.execute_sql(sql).fetchall() if row[0] != "schemaversion"]
    # The names come from the database's own catalogue, not from anyone's input.
    probe = 'SELECT 1 FROM "{}" LIMIT 1'
    return any(db.execute_sql(probe.format(table)).fetchone() for table in tables)
