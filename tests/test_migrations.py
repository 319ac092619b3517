"""Schema versions: frozen steps carry stored data across versions and agree with the models."""

import secrets
from contextlib import ExitStack
from datetime import date, datetime

import pytest
from helpers import PostgresSchema, make_campaign, make_config, make_group
from peewee import CharField, DatabaseError
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as apply

from miniapp_api import create_app, migrations
from miniapp_api.db import db, is_sqlite, open_database
from miniapp_api.livecode import places
from miniapp_api.livecode.rules import record_scan
from miniapp_api.models import MODELS, Campaign, Group, SchemaVersion, Visit

# The steps' own tests: `app` runs every step here instead of starting from a copy of the
# session's migrated SQLite file (tests/conftest.py migrated_sqlite).
pytestmark = pytest.mark.migrate


@pytest.fixture
def open_empty(database_url, tmp_path):
    """open_empty() points `db` at a new, empty database of this test's kind (a SQLite file or
    a PostgreSQL schema) and connects; nothing has been migrated. The first call gets
    database_url's own database."""
    unused = [database_url]
    with ExitStack() as stack:

        def open_new():
            if db.obj is not None:
                db.close_all()
            if unused:
                url = unused.pop()
            elif is_sqlite():
                url = f"sqlite:///{tmp_path / secrets.token_hex(4)}.sqlite3"
            else:
                url = stack.enter_context(PostgresSchema())
            db.initialize(open_database(url))
            db.connect()

        yield open_new
        if not db.is_closed():
            db.close()
        db.close_all()


def schema() -> dict:
    """What a database's schema is made of, in a form two databases can be compared by. Column
    order is left out: a column added by a step comes last, one declared on a model need not."""
    if is_sqlite():
        rows = db.execute_sql(
            "SELECT name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
        ).fetchall()
        return {name: _unordered(sql) for name, sql in rows}
    queries = {
        "columns": """SELECT table_name, column_name, data_type, character_maximum_length,
                      is_nullable, column_default FROM information_schema.columns
                      WHERE table_schema = current_schema()""",
        # The definition names the schema, and every test database has a schema of its own.
        "indexes": """SELECT tablename, indexname, replace(indexdef, current_schema() || '.', '')
                      FROM pg_indexes WHERE schemaname = current_schema()""",
        "constraints": """SELECT conrelid::regclass::text, conname, contype,
                          pg_get_constraintdef(oid) FROM pg_constraint
                          WHERE connamespace = current_schema()::regnamespace""",
        "sequences": """SELECT sequence_name, data_type FROM information_schema.sequences
                        WHERE sequence_schema = current_schema()""",
    }
    return {key: sorted(db.execute_sql(sql).fetchall()) for key, sql in queries.items()}


def catalog() -> dict:
    """A SQLite database's schema, and what else a copy of it must carry over: its header's
    user version, its integrity, every table's row count, the version rows."""
    return {
        "schema": schema(),
        "user_version": db.execute_sql("PRAGMA user_version").fetchall(),
        "integrity": db.execute_sql("PRAGMA integrity_check").fetchall(),
        "broken_references": db.execute_sql("PRAGMA foreign_key_check").fetchall(),
        "rows": {
            table: db.execute_sql(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]  # noqa: S608
            for table in tables()
        },
        "versions": db.execute_sql("SELECT version FROM schemaversion ORDER BY 1").fetchall(),
    }


def _unordered(sql: str):
    """CREATE TABLE t (a, b, FOREIGN KEY (...)) as its head and the set of what is inside."""
    if not sql.startswith("CREATE TABLE"):
        return sql
    head, body = sql.split("(", 1)
    parts, depth, part = [], 0, ""
    for char in body[: body.rindex(")")]:
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            parts.append(part.strip())
            part = ""
        else:
            part += char
    return head.strip(), sorted([*parts, part.strip()])


def rows_of(rows, table: str):
    return [(row_id, row) for name, row_id, row in rows if name == table]


def tables() -> set[str]:
    if is_sqlite():
        sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
    else:
        sql = (
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
    return {name for (name,) in db.execute_sql(sql).fetchall()}


# Tables whose rows are known by another column than "id".
KEYS = {"visit_rollup": "campaign_id"}


def insert(table: str, **row) -> int:
    # Table and column names are this module's own constants; values go as parameters.
    columns = ", ".join(f'"{name}"' for name in row)
    marks = ", ".join([db.param] * len(row))
    key = KEYS.get(table, "id")
    sql = f'INSERT INTO "{table}" ({columns}) VALUES ({marks}) RETURNING "{key}"'  # noqa: S608
    return db.execute_sql(sql, list(row.values())).fetchone()[0]


def select(table: str, row_id: int, columns) -> dict:
    names = ", ".join(f'"{name}"' for name in columns)
    key = KEYS.get(table, "id")
    sql = f'SELECT {names} FROM "{table}" WHERE "{key}" = {db.param}'  # noqa: S608
    values = db.execute_sql(sql, [row_id]).fetchone()
    assert values is not None, f"{table} row {row_id} is gone"
    return dict(zip(columns, map(_plain, values), strict=True))


def _plain(value):
    """A value as it was inserted: SQLite gives text and 0/1 back, PostgreSQL gives datetimes,
    booleans and memoryviews (True == 1, so booleans compare as they are)."""
    if isinstance(value, memoryview):
        return bytes(value)
    if isinstance(value, datetime | date):
        return str(value)
    return value


# Whole seconds, so the text SQLite keeps and PostgreSQL's timestamp print the same.
AT = "2026-11-20 09:30:00"
LATER = "2026-12-04 09:30:00"


def seed(version: int) -> list[tuple[str, int, dict]]:
    """Rows in every table a database at `version` has, referencing each other; returns
    (table, id, row) for each."""
    made = []

    def add(table, **row):
        made.append((table, insert(table, **row), row))
        return made[-1][1]

    if version >= 1:
        template = {"template": "门店打卡"} if version >= 3 else {}
        campaign = add(
            "campaign",
            slug="mendian-618",
            title="门店会员群·618",
            description="扫码进群，领取新人券",
            rules="群内禁止发广告；每人限领一次",
            promise="进群领 20 元无门槛券",
            staff_contact="微信：小陈（店长）",
            all_full_since=None,
            created_at=AT,
            **template,
        )
        quiet = add(
            "campaign",
            slug="laoke-huigui",
            title="老客回归群",
            description="",
            rules="",
            promise="",
            staff_contact="",
            all_full_since=LATER,
            created_at=AT,
            **template,
        )
        channel = add("channel", campaign_id=campaign, code="counter", label="门店前台")
        group = add(
            "wechat_group",
            campaign_id=campaign,
            name="宝妈交流群①",
            position=0,
            cutoff=200,
            sent=37,
            active=True,
            qr_image=b"\x89PNG\r\n\x1a\n\x00\xff",
            qr_digest="d" * 64,
            qr_payload="https://weixin.qq.com/g/测试群",
            qr_generated_at=AT,
        )
        add(
            "wechat_group",
            campaign_id=quiet,
            name="老客群（已满）",
            position=1,
            cutoff=180,
            sent=180,
            active=False,
            qr_image=None,
            qr_digest=None,
            qr_payload=None,
            qr_generated_at=None,
        )
        visit = {"agent": "wechat", "ip_hash": "i" * 64, "created_at": AT}
        add(
            "visit",
            campaign_id=campaign,
            channel_id=channel,
            group_id=group,
            visitor="v" * 22,
            outcome="sent",
            counted_day="2026-11-20",
            **visit,
        )
        add(
            "visit",
            campaign_id=quiet,
            channel_id=None,
            group_id=None,
            visitor="w" * 22,
            outcome="all_full",
            counted_day=None,
            **visit,
        )
    if version >= 2:
        staff = add(
            "staff",
            username="chen",
            display_name="陈店长",
            role="operator",
            password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
            active=True,
            created_at=AT,
        )
        add(
            "staffsession",
            token_hash="s" * 64,
            staff_id=staff,
            data='{"flash": "已保存：群二维码"}',
            created_at=AT,
            expires_at=LATER,
        )
        add("loginattempt", username="chen", ip_hash="i" * 64, succeeded=False, at=AT)
        add(
            "apitoken",
            staff_id=staff,
            name="数据看板",
            token_hash="t" * 64,
            prefix="qb_3f9a",
            created_at=AT,
            last_used_at=LATER,
            revoked_at=None,
        )
        add(
            "auditentry",
            staff_id=staff,
            action="group.update_qr",
            target="宝妈交流群①",
            detail='{"旧": "过期", "新": "有效"}',
            at=AT,
        )
    if version >= 4:
        add(
            "referralprogram",
            campaign_id=campaign,
            count_on="signup",
            max_per_hour=10,
            leaderboard_size=10,
            friend_reward="好友券 5 元",
        )
        add("rewardtier", campaign_id=campaign, threshold=3, reward="定制帆布袋")
        person = {"campaign_id": campaign, "ip_hash": "i" * 64, "second_level": 0}
        member = add(
            "member",
            code="A7K2M9",
            nickname="小雨妈妈",
            avatar=b"\xff\xd8\xff\xe0",
            phone_hash="p" * 64,
            visitor="m" * 22,
            referrer_id=None,
            referrals=1,
            created_at=AT,
            **person,
        )
        friend = add(
            "member",
            code="B3X8Q1",
            nickname="阿杰",
            avatar=None,
            phone_hash=None,
            visitor="f" * 22,
            referrer_id=member,
            referrals=0,
            created_at=LATER,
            **person,
        )
        add(
            "referral",
            campaign_id=campaign,
            referrer_id=member,
            friend_id=friend,
            friend_key="f" * 22,
            level=1,
            status="counted",
            reason="",
            ip_hash="i" * 64,
            created_at=LATER,
            decided_at=LATER,
            decided_by_id=staff,
        )
        add(
            "reward",
            campaign_id=campaign,
            member_id=member,
            key="tier:3",
            name="定制帆布袋",
            code="R9Z4W2",
            issued_at=LATER,
            redeemed_at=LATER,
            redeemed_by_id=staff,
        )
    if version >= 5:
        customer = add(
            "customer",
            external_id="VIP-000123",
            name="王芳",
            region="上海市浦东新区",
            purchase_total=1288000,
            last_active="2026-10-01",
            phone_hash="p" * 64,
            imported_at=AT,
        )
        add(
            "vipprogram",
            campaign_id=campaign,
            rights="- 生日礼\n- 专属顾问",
            offer_url="https://shop.example.cn/vip",
            offer_label="领取会员礼",
            valid_days=14,
        )
        invitation = add(
            "invitation",
            campaign_id=campaign,
            customer_id=customer,
            token="x" * 32,
            status="accepted",
            created_at=AT,
            expires_at=LATER,
            opened_at=AT,
            accepted_at=AT,
            declined_at=None,
            revoked_at=None,
        )
    if version >= 6:
        add(
            "challenge",
            campaign_id=campaign,
            days=21,
            starts_on="2026-12-01",
            timezone="Asia/Shanghai",
            task="每天读 10 页书",
            finish_days=18,
            reward="读书会门票",
            makeup_cards=2,
            makeup_window=3,
            hidden=False,
            created_at=AT,
        )
        day = add(
            "activity",
            campaign_id=campaign,
            kind="day",
            title="第 1 天",
            task="拍下今天读的那一页",
            number=1,
            starts_at=None,
            place="",
            capacity=None,
            tickets=0,
            created_at=AT,
        )
        event = add(
            "activity",
            campaign_id=campaign,
            kind="event",
            title="线下见面会",
            task="",
            number=None,
            starts_at=LATER,
            place="静安门店二楼",
            capacity=40,
            tickets=1,
            created_at=AT,
        )
        add(
            "participant",
            campaign_id=campaign,
            member_id=member,
            group_id=group,
            first_day=1,
            done=1,
            cards_used=0,
            last_at=AT,
            joined_at=AT,
        )
        ticket = add(
            "ticket",
            activity_id=event,
            token="t" * 32,
            code="K7M2P9",
            holder="王芳",
            member_id=None,
            invitation_id=invitation,
            group_id=group,
            visitor="v" * 22,
            created_at=AT,
            revoked_at=None,
        )
        answer = {"campaign_id": campaign, "group_id": group, "hidden": False, "created_at": AT}
        add(
            "response",
            activity_id=day,
            member_id=member,
            ticket_id=None,
            how="button",
            note="读完了第一章",
            photo=b"\xff\xd8\xff\xe0",
            photo_digest="d" * 16,
            **answer,
        )
        add(
            "response",
            activity_id=event,
            member_id=None,
            ticket_id=ticket,
            how="door",
            note="",
            photo=None,
            photo_digest=None,
            **answer,
        )
    if version >= 7:
        add(
            "address_quota",
            campaign_id=campaign,
            ip_hash="i" * 64,
            window_start=AT,
            taken=5,
            refused=2,
        )
    if version >= 9:
        add(
            "alert",
            campaign_id=campaign,
            cause=f"qr-expiring:{group}:{'d' * 64}",
            kind="qr-expiring",
            message="群二维码 20 小时内过期，请在微信里重新生成并上传",
            created_at=AT,
            attempts=1,
            next_attempt_at=AT,
            claimed_until=None,
            sent_at=AT,
            last_error="",
        )
    if version >= 11:
        hour = {"hour": AT, "scans": 9, "sent": 4, "full": 1, "bots": 2}
        add("visit_hour", campaign_id=campaign, channel_id=channel, **hour)
        add("visit_person", campaign_id=campaign, visitor="访客-v" * 4)
        add("visit_rollup", campaign_id=campaign, through=AT, people=1)
    return made


@pytest.mark.parametrize("version", range(migrations.LATEST))
def test_an_upgrade_keeps_every_row_and_ends_at_the_fresh_schema(open_empty, version):
    open_empty()
    assert migrations.migrate(target=version) == (0, version)
    rows = seed(version)
    assert {table for table, _, _ in rows} == tables() - {"schemaversion"}, "seed every table"

    assert migrations.migrate() == (version, migrations.LATEST)
    for table, row_id, row in rows:
        if table == "wechat_group":
            # Step 12 moved a group's count into its place shares.
            row = {name: value for name, value in row.items() if name != "sent"}
            assert places.sent_to(row_id) == dict(rows_of(rows, table))[row_id]["sent"]
        assert select(table, row_id, list(row)) == row, (table, row_id)
    for table in {table for table, _, _ in rows}:
        count = db.execute_sql(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]  # noqa: S608
        assert count == sum(t == table for t, _, _ in rows), table
    if 1 <= version < 3:
        # Step 3's column, on campaigns that existed before it: the model's default.
        assert db.execute_sql("SELECT DISTINCT template FROM campaign").fetchall() == [("",)]
    if version:
        # Step 8's columns: campaigns and channels that existed before it keep running.
        for table in ("campaign", "channel"):
            sql = f'SELECT DISTINCT archived_at FROM "{table}"'  # noqa: S608
            assert db.execute_sql(sql).fetchall() == [(None,)], table
    if version:
        # Step 9's column: campaigns that existed before it send to the global default.
        sql = "SELECT DISTINCT alert_webhook FROM campaign"
        assert db.execute_sql(sql).fetchall() == [("",)]
    versions = db.execute_sql("SELECT version FROM schemaversion ORDER BY version").fetchall()
    assert [v for (v,) in versions] == list(range(1, migrations.LATEST + 1))
    # The current code reads the old rows and adds new ones (PostgreSQL's sequences moved on).
    if version:
        assert Campaign.get(Campaign.slug == "mendian-618").title == "门店会员群·618"
    make_campaign(slug="after-upgrade")
    upgraded = schema()

    open_empty()
    migrations.migrate()
    assert upgraded == schema()


def test_models_and_steps_agree(open_empty):
    """A model changed without a step that makes the same change fails here."""
    open_empty()
    migrations.migrate()
    stepped = schema()
    open_empty()
    db.create_tables(MODELS)
    assert schema() == stepped


def test_a_new_database_gets_every_step_in_order(app):
    assert migrations.current_version() == migrations.LATEST
    assert migrations.migrate() == (migrations.LATEST, migrations.LATEST)
    versions = [v.version for v in SchemaVersion.select().order_by(SchemaVersion.version)]
    assert versions == list(range(1, migrations.LATEST + 1))


def test_a_copy_of_the_sessions_migrated_sqlite_file_is_a_migrated_database(
    migrated_sqlite, tmp_path
):
    """On SQLite, tests that take `app` start from a copy of a file migrated once per session
    (the migrated_sqlite fixture): the copy is the database the steps make."""
    copy = tmp_path / "copy.sqlite3"
    copy.write_bytes(migrated_sqlite)
    found = {}
    for path in (tmp_path / "migrated.sqlite3", copy):
        db.initialize(open_database(f"sqlite:///{path}"))
        with db.connection_context():
            if path != copy:
                assert migrations.migrate() == (0, migrations.LATEST)
            found[path.name] = catalog()
            assert migrations.migrate() == (migrations.LATEST, migrations.LATEST)
        db.close_all()
    migrated = found["migrated.sqlite3"]
    assert migrated["versions"] == [(v,) for v in range(1, migrations.LATEST + 1)]
    assert migrated["rows"]["campaign"] == 0
    assert found["copy.sqlite3"] == migrated


def test_check_version_names_what_to_do(open_empty):
    open_empty()
    assert "schema version 0; this code needs" in migrations.check_version()
    migrations.migrate(target=3)
    assert migrations.check_version() == (
        f"The database is at schema version 3; this code needs {migrations.LATEST}. "
        "Run `qunbook init-db` to upgrade it."
    )
    migrations.migrate()
    assert migrations.check_version() is None
    newer = migrations.LATEST + 2
    SchemaVersion.insert_many([{"version": v} for v in (newer - 1, newer)]).execute()
    assert migrations.check_version() == (
        f"The database is at schema version {newer}, newer than this code "
        f"({migrations.LATEST}): deploy the newer code, or restore a backup made for this version."
    )
    with pytest.raises(RuntimeError, match="newer than this code"):
        migrations.migrate()


def test_a_new_step_changes_an_existing_database_and_keeps_its_rows(app, monkeypatch):
    make_campaign(slug="store", title="门店会员群")
    add_region = "ALTER TABLE campaign ADD COLUMN region VARCHAR(20) NOT NULL DEFAULT '华东';"
    step = {"sqlite": add_region, "postgresql": add_region}

    monkeypatch.setattr(migrations, "STEPS", [*migrations.STEPS, step])
    monkeypatch.setattr(migrations, "LATEST", migrations.LATEST + 1)
    before, after = migrations.migrate()
    assert after == before + 1
    row = db.execute_sql("SELECT slug, title, region FROM campaign").fetchall()
    assert [tuple(r) for r in row] == [("store", "门店会员群", "华东")]
    assert migrations.migrate() == (after, after)  # nothing pending: nothing done
    assert Campaign.select().count() == 1


def test_a_failed_step_leaves_the_database_at_the_version_before(app, monkeypatch):
    make_campaign(slug="store")
    before = schema()
    step = "ALTER TABLE campaign ADD COLUMN region VARCHAR(20);\nSELECT nonesuch FROM campaign;"
    monkeypatch.setattr(
        migrations, "STEPS", [*migrations.STEPS, {"sqlite": step, "postgresql": step}]
    )
    monkeypatch.setattr(migrations, "LATEST", migrations.LATEST + 1)
    with pytest.raises(DatabaseError, match="nonesuch"):
        migrations.migrate()
    assert migrations.current_version() == migrations.LATEST - 1
    assert schema() == before  # the column the step added first is gone with it
    assert Campaign.select().count() == 1


def test_a_step_that_rebuilds_a_table_keeps_the_rows_that_reference_it(app, monkeypatch):
    """SQLite adds a NOT NULL column by rebuilding the table; the groups and visits that
    point at a campaign must survive it (with foreign keys on, a drop would cascade)."""
    campaign = make_campaign(slug="store")
    group = make_group(campaign, "宝妈群")
    record_scan(campaign.id, None, "v" * 22, "wechat", "h")

    def add_city(database):
        migrator = SchemaMigrator.from_database(database)
        apply(migrator.add_column("campaign", "city", CharField(default="上海")))

    monkeypatch.setattr(migrations, "STEPS", [*migrations.STEPS, add_city])
    monkeypatch.setattr(migrations, "LATEST", migrations.LATEST + 1)
    migrations.migrate()
    assert [g.id for g in Group.select()] == [group.id]
    assert Visit.select().count() == 1
    assert db.execute_sql("SELECT city FROM campaign").fetchall()[0][0] == "上海"


@pytest.mark.parametrize("version", [0, 3, migrations.LATEST + 2])
def test_a_database_at_another_version_gets_an_upgrade_page_not_a_500(
    version, database_url, tmp_path, caplog
):
    app = create_app(make_config(database_url, tmp_path))
    with db.connection_context():
        migrations.migrate(target=min(version, migrations.LATEST))
        for extra in range(migrations.LATEST + 1, version + 1):  # a newer code's steps ran here
            SchemaVersion.create(version=extra)
    client = app.test_client()

    page = client.get("/j/demo?c=counter")
    assert page.status_code == 503
    assert "系统正在升级" in page.get_data(as_text=True)
    api = client.get("/api/v1/campaigns")
    assert api.status_code == 503 and api.get_json()["error"]["code"] == "unavailable"
    assert client.get("/console/login").status_code == 503
    logged = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    expected = "qunbook init-db" if version < migrations.LATEST else "deploy the newer code"
    assert logged and all(expected in line for line in logged)

    if version < migrations.LATEST:  # the command the log names brings the site back
        result = app.test_cli_runner().invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
        assert client.get("/console/login").status_code == 200


@pytest.mark.parametrize(
    ("cutoff", "sent"),
    [
        (1, 0),
        (1, 1),
        (7, 3),
        (8, 8),
        (9, 5),
        (13, 0),
        (200, 37),
        (180, 180),
        (200, 250),
        (500, 499),
    ],
)
def test_step_12_lays_out_a_groups_places_as_the_code_does(open_empty, cutoff, sent):
    """The shares step 12 made of an existing group's count are those places.layout() makes:
    the same room, the same count, a count staff corrected past the cut-off kept."""
    open_empty()
    migrations.migrate(target=11)
    campaign = insert(
        "campaign",
        slug="s",
        title="门店",
        description="",
        rules="",
        promise="",
        staff_contact="",
        all_full_since=None,
        created_at=AT,
        template="",
        archived_at=None,
        alert_webhook="",
    )
    group = insert(
        "wechat_group",
        campaign_id=campaign,
        name="一群",
        position=0,
        cutoff=cutoff,
        sent=sent,
        active=True,
        qr_image=None,
        qr_digest=None,
        qr_payload=None,
        qr_generated_at=None,
    )
    migrations.migrate()
    shares = db.execute_sql(
        f'SELECT "cutoff", "sent" FROM "place_share" WHERE "group_id" = {db.param}'  # noqa: S608
        ' ORDER BY "number"',
        [group],
    ).fetchall()
    assert [tuple(share) for share in shares] == places.layout(cutoff, sent)
    assert places.sent_to(group) == sent
