"""Builders and helpers the tests share: make_campaign(**overrides) and friends, a logged-in
staff member's actions, the CSRF token of a page. Import them from here, never from conftest."""

import io
import os
import re
import secrets
import shutil
import subprocess
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote

import psycopg2
import pytest
import qrcode
from privacy_grep import TRAIL_ENV, write_postgres_dump
from psycopg2 import sql

from miniapp_api.db import db
from miniapp_api.livecode import places
from miniapp_api.livecode import rules as livecode
from miniapp_api.livecode.groupqr import check_group_qr
from miniapp_api.models import Group, Visit, utcnow
from miniapp_api.visitors import VISITOR_COOKIE

POSTGRES_URL = os.environ.get(
    "QUNBOOK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REQUIRE_ALL = os.environ.get("QUNBOOK_TEST_REQUIRE_ALL") == "1"
CHROMIUM = os.environ.get("QUNBOOK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
PUBLIC_URL = "https://qun.example.cn"


def unavailable(what: str, why: str):
    if REQUIRE_ALL:
        pytest.fail(f"{what} is required here (QUNBOOK_TEST_REQUIRE_ALL=1): {why}")
    pytest.skip(f"{what} not available: {why}")


def calc_convert(files: list[Path], target: str, outdir: Path) -> list[Path]:
    """Open every file in LibreOffice Calc and save it as `target` (an extension, or
    "csv:<filter>:<options>"), in one soffice run: what a person does who opens an export and
    saves it again. Each file keeps its stem; a fresh profile, so runs never share one."""
    soffice = shutil.which("soffice")
    if soffice is None:
        unavailable("LibreOffice Calc (soffice)", "apt-get install libreoffice-calc-nogui")
    profile = outdir.parent / f"{outdir.name}-profile"
    done = subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            target,
            "--outdir",
            str(outdir),
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    extension = target.split(":")[0]
    saved = [outdir / f"{f.stem}.{extension}" for f in files]
    missing = [p.name for p in saved if not p.is_file()]
    assert not missing, f"soffice did not write {missing}: {done.stdout} {done.stderr}"
    return saved


class PostgresSchema:
    """A throw-away schema, so PostgreSQL tests never see each other's rows.

    migrated=True: a schema the app's steps have built. Building one (0.2-0.3 s) and dropping
    it took more of the suite than most tests themselves, so once its test is over a schema
    whose tables, columns, indexes, constraints and steps are still exactly those of a freshly
    migrated one (its shape) is emptied, its sequences started again, and handed to the next
    such test of this process; any other is dropped. Emptying does not undo what the planner
    learnt from the rows: a test about plans on new tables asks for a fresh schema
    (`fresh_schema`)."""

    # Per process (each xdist worker its own): emptied schemas, and a migrated one's shape.
    spare: ClassVar[list[str]] = []
    shape: ClassVar[str | None] = None

    def __init__(self, migrated: bool = False):
        self.migrated = migrated
        self.name = f"t_{secrets.token_hex(6)}"
        self.dump: Path | None = None  # what it held at the end, for the privacy grep

    def __enter__(self):
        if self.migrated and PostgresSchema.spare:
            self.name = PostgresSchema.spare.pop()
            return self.url
        try:
            conn = psycopg2.connect(POSTGRES_URL, connect_timeout=3)
        except psycopg2.OperationalError as error:
            unavailable("PostgreSQL", str(error).strip())
        conn.autocommit = True
        conn.cursor().execute(f"CREATE SCHEMA {self.name}")
        if self.migrated:
            from miniapp_api.db import open_database
            from miniapp_api.migrations import migrate

            db.initialize(open_database(self.url))
            with db.connection_context():
                migrate()
            db.close_all()
            PostgresSchema.shape = PostgresSchema.shape or schema_shape(conn, self.name)
        conn.close()
        return self.url

    @property
    def url(self) -> str:
        sep = "&" if "?" in POSTGRES_URL else "?"
        return f"{POSTGRES_URL}{sep}options={quote(f'-csearch_path={self.name}')}"

    def __exit__(self, *exc):
        if db.obj is not None:
            db.close_all() if hasattr(db.obj, "close_all") else None
        conn = psycopg2.connect(POSTGRES_URL)
        conn.autocommit = True
        if trail := os.environ.get(TRAIL_ENV):
            # What the schema held, for the privacy grep at the end of the suite (a file per
            # test: a schema may serve several).
            self.dump = Path(trail, "postgres", f"{self.name}-{secrets.token_hex(4)}.jsonl")
            write_postgres_dump(conn.cursor(), self.name, self.dump)
        if self.migrated and schema_shape(conn, self.name) == PostgresSchema.shape:
            empty_schema(conn, self.name)
            PostgresSchema.spare.append(self.name)
        else:
            conn.cursor().execute(f"DROP SCHEMA IF EXISTS {self.name} CASCADE")
        conn.close()


# The relations of a schema, found through pg_depend's index: a scan of pg_class grows with
# every schema a server that does not vacuum has dropped.
SCHEMA_RELATIONS = (
    "SELECT c.oid, c.relname, c.relkind FROM pg_depend d JOIN pg_class c ON c.oid = d.objid"
    " WHERE d.refclassid = 'pg_namespace'::regclass AND d.classid = 'pg_class'::regclass"
    " AND d.refobjid = %(schema)s::regnamespace"
)


def schema_shape(conn, schema: str) -> str:
    """A digest of what makes `schema` the app's: its relations, columns with their types and
    defaults, indexes, constraints, triggers and functions, and the steps recorded as run."""
    cursor = conn.cursor()
    # With the schema on the search path its own names come back unqualified (a default's
    # nextval, a foreign key's table; pg_get_indexdef qualifies its table all the same), so
    # two schemas of the same shape have the same digest.
    cursor.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
    cursor.execute(
        """
        WITH rels AS ({relations}),
        parts AS (
            SELECT 'r ' || relname || ' ' || relkind::text AS part FROM rels
            UNION ALL
            SELECT 'c ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid,
                a.atttypmod) || ' ' || a.attnotnull || ' '
                || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
            FROM rels c JOIN pg_attribute a ON a.attrelid = c.oid
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE a.attnum > 0 AND NOT a.attisdropped
            UNION ALL
            SELECT 'i ' || replace(pg_get_indexdef(i.indexrelid), %(schema)s || '.', '')
            FROM rels c JOIN pg_index i ON i.indrelid = c.oid
            UNION ALL
            SELECT 'k ' || k.conname || ' ' || pg_get_constraintdef(k.oid)
            FROM rels c JOIN pg_constraint k ON k.conrelid = c.oid
            UNION ALL
            SELECT 't ' || t.tgname FROM rels c JOIN pg_trigger t ON t.tgrelid = c.oid
            WHERE NOT t.tgisinternal
            UNION ALL
            SELECT 'f ' || proname FROM pg_proc WHERE pronamespace = %(schema)s::regnamespace
        )
        SELECT md5(string_agg(part, E'\n' ORDER BY part)) FROM parts
        """.replace("{relations}", SCHEMA_RELATIONS),
        {"schema": schema},
    )
    (digest,) = cursor.fetchone()
    try:
        cursor.execute("SELECT string_agg(version::text, ',' ORDER BY version) FROM schemaversion")
        steps = cursor.fetchone()[0]
    except psycopg2.Error:
        steps = "(none)"
    cursor.execute("RESET search_path")
    return f"{digest} {steps}"


def empty_schema(conn, schema: str) -> None:
    """Every row of `schema` deleted but the steps recorded as run, and every sequence
    started again: as freshly migrated (the steps themselves store no other row)."""
    cursor = conn.cursor()
    cursor.execute(SCHEMA_RELATIONS, {"schema": schema})
    relations = cursor.fetchall()
    tables = [name for _, name, kind in relations if kind == "r" and name != "schemaversion"]
    # Rows go in any order: foreign keys are not checked meanwhile (replica role), and
    # nothing is left for them to point at.
    statements = [sql.SQL("SET LOCAL session_replication_role = replica")]
    statements += [
        sql.SQL("DELETE FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(t))
        for t in tables
    ]
    cursor.execute("BEGIN")
    cursor.execute(sql.SQL("; ").join(statements))
    # setval, not ALTER SEQUENCE ... RESTART: that gives each sequence a new file, which
    # leaves a dead catalog row per sequence per test behind (the server may not vacuum).
    sequences = [oid for oid, _, kind in relations if kind == "S"]
    if sequences:
        cursor.execute(
            "SELECT setval(seqrelid, seqstart, false) FROM pg_sequence"
            " WHERE seqrelid = ANY(%s::oid[])",
            (sequences,),
        )
    cursor.execute("COMMIT")


def browser(app):
    """A test client like a phone that keeps cookies and has been to a member page before:
    it holds its visitor cookie, so member entry pages answer it at once instead of first
    redirecting to set the cookie (that redirect is tested in tests/web/test_visitor.py).
    Tests about a first visit use app.test_client() and follow the redirect themselves."""
    client = app.test_client()
    client.set_cookie(VISITOR_COOKIE, secrets.token_urlsafe(16))
    return client


def make_config(database_url, tmp_path, **overrides):
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key",
        "HASH_KEY": "test-hash-key",
        "PUBLIC_URL": PUBLIC_URL,
        "POSTER_CACHE_DIR": str(tmp_path / "poster-cache"),
        **overrides,
    }


_QR_CACHE: dict[str, tuple[bytes, str, str]] = {}


def group_qr_png(payload: str = "https://weixin.qq.com/g/测试群") -> bytes:
    image = qrcode.make(payload, box_size=6, border=4)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def checked_qr(payload: str = "https://weixin.qq.com/g/AbCdEf"):
    if payload not in _QR_CACHE:
        stored, text, digest = check_group_qr(group_qr_png(payload))
        _QR_CACHE[payload] = (stored, digest, text)
    return _QR_CACHE[payload]


def make_campaign(**overrides):
    fields = {"slug": f"c-{secrets.token_hex(3)}", "title": "门店会员群", "promise": "进群领券"}
    fields.update(overrides)
    return livecode.create_campaign(**fields)


def make_channel(campaign, code="counter", label="门店前台"):
    return livecode.add_channel(campaign, code, label)


def make_group(
    campaign, name="宝妈交流群", cutoff=200, qr_age=timedelta(days=1), now=None, **overrides
):
    """A group with a working QR unless qr_age is None (no QR) or 7+ days (expired): its QR
    was generated qr_age before `now` (the clock's time unless given, for exact boundaries)."""
    group = livecode.add_group(campaign, name, cutoff=cutoff)
    if qr_age is not None:
        stored, digest, payload = checked_qr()
        Group.update(
            qr_image=stored,
            qr_digest=digest,
            qr_payload=payload,
            qr_generated_at=(now or utcnow()) - qr_age,
        ).where(Group.id == group.id).execute()
    sent = overrides.pop("sent", None)
    if overrides:
        Group.update(**overrides).where(Group.id == group.id).execute()
    if sent is not None:
        places.lay_out(group.id, sent)
    return stored_group(group.id)


def stored_group(group_id=None):
    """The group as stored (the only one when no id is given), with its count as .sent."""
    query = places.with_sent(Group.select())
    return query.get() if group_id is None else query.where(Group.id == group_id).get()


def stored_groups(query=None):
    """Groups (all, or those of a Group query) with their counts as .sent."""
    return places.with_sent(Group.select() if query is None else query)


def fill(group, sent=None):
    """Set the group's count (its cut-off unless given), as staff's correction does."""
    places.lay_out(group.id, group.cutoff if sent is None else sent)


# ---------------------------------------------------------------- staff

STAFF_PASSWORD = "正确的马电池订书钉-2026"


def make_staff(username="chen", role="operator", password=STAFF_PASSWORD, **overrides):
    from miniapp_api.accounts import rules as staff

    return staff.create_staff(username, password, role, overrides.get("display_name", "陈店长"))


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(response, action: str | None = None) -> str:
    """The page's (first) form token, or that of the form posting to `action`."""
    page = response.get_data(as_text=True)
    if action is not None:
        page = page[page.index(f'action="{action}"') :]
    match = CSRF_FIELD.search(page)
    assert match, "the page has no CSRF token"
    return match[1]


class StaffActions:
    """flaskr's AuthActions, for the console: log in and out through the real forms."""

    def __init__(self, client):
        self.client = client

    def login(self, username="chen", password=STAFF_PASSWORD, next_url=""):
        # The login form's own token: a logged-in page also holds the logout form's.
        token = csrf_from(self.client.get("/console/login"), action="/console/login")
        return self.client.post(
            "/console/login",
            data={
                "username": username,
                "password": password,
                "csrf_token": token,
                "next": next_url,
            },
        )

    def logout(self):
        token = csrf_from(self.client.get("/console/"))
        return self.client.post("/console/logout", data={"csrf_token": token})

    def post(self, url, data=None, **kw):
        """POST a console form with the CSRF token of the page it lives on."""
        token = csrf_from(self.client.get(kw.pop("page", url)))
        return self.client.post(url, data={**(data or {}), "csrf_token": token}, **kw)


# ---------------------------------------------------------------- check-ins

# A fixed clock for the challenge tests: 2026-12-01 10:00 in Shanghai (02:00 UTC).
CHALLENGE_START = date(2026, 12, 1)


def shanghai(day: int, hour: int = 10, minute: int = 0, second: int = 0) -> datetime:
    """Naive UTC of the challenge's day `day` (1 = its start) at hour:minute Shanghai time."""
    local = datetime.combine(CHALLENGE_START + timedelta(days=day - 1), time(hour, minute, second))
    return local - timedelta(hours=8)


def make_challenge(campaign=None, **overrides):
    from miniapp_api.checkins import rules as checkins

    campaign = campaign or make_campaign(slug=f"dk-{secrets.token_hex(3)}", title="28 天早起打卡")
    settings = {
        "days": 28,
        "starts_on": CHALLENGE_START,
        "timezone": "Asia/Shanghai",
        "task": "早上 7 点前起床，拍一张窗外的天空。",
        "finish_days": 21,
        "reward": "结营礼盒",
        "makeup_cards": 2,
        "makeup_window": 3,
    }
    settings.update(overrides)
    settings["finish_days"] = min(settings["finish_days"], settings["days"])
    return checkins.set_up_challenge(campaign, **settings)


def make_member(campaign_id, visitor=None, nickname="小红", **overrides):
    from miniapp_api.referrals import rules as referrals

    return referrals.join_without_referrals(
        campaign_id, nickname=nickname, visitor=visitor or secrets.token_hex(8), **overrides
    )


def make_participant(challenge, visitor=None, nickname="小红", now=None, group_id=None):
    from miniapp_api.checkins import rules as checkins

    member = make_member(challenge.campaign_id, visitor, nickname)
    checkins.join(challenge, member, group_id=group_id, now=now or shanghai(1, 8))
    return member


def make_event(
    campaign=None, title="门店见面会", starts_at=None, place="杭州湖滨店二楼", capacity=None
):
    """An event a week from the clock's now (the join page shows events that are not over),
    or at starts_at (naive UTC)."""
    from miniapp_api.checkins import events

    campaign = campaign or make_campaign(slug=f"hd-{secrets.token_hex(3)}", title="线下见面会")
    if starts_at is None:
        starts_at = (utcnow() + timedelta(days=7)).replace(second=0, microsecond=0)
    return events.create_event(
        campaign, title=title, starts_at=starts_at, place=place, capacity=capacity
    )


def make_invitation(campaign, name="王丽", expires_in=timedelta(days=14)):
    """A VIP invitation to a customer of that name, not yet opened."""
    from miniapp_api.models import Customer, Invitation

    customer = Customer.create(
        external_id=f"V{secrets.token_hex(4)}", name=name, region="杭州", purchase_total=1_280_000
    )
    return Invitation.create(
        campaign=campaign.id,
        customer=customer.id,
        token=secrets.token_urlsafe(24),
        expires_at=utcnow() + expires_in,
    )


def sent_to_group(campaign_id, visitor, now=None):
    """Record that the live code sent `visitor` to a group, as a scan of the poster does
    first: a referred friend counts only after that."""
    now = now or utcnow()
    Visit.insert(
        campaign=campaign_id,
        visitor=visitor,
        agent="wechat",
        ip_hash="",
        outcome="sent",
        counted_day=now.date(),
        created_at=now,
    ).on_conflict_ignore().execute()  # counted once a day, like the live code


def post_multipart(client, url, fields: dict, files: dict, **kw):
    """POST a multipart form whose files may be large. Built by hand: the test client would
    spool a large body to a temporary file it never closes (a ResourceWarning, an error here).
    files: {name: (bytes, filename)}."""
    boundary = "qunbook-test-boundary"
    parts = []
    for name, value in fields.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        parts.append(f"{head}{value}\r\n".encode())
    for name, (data, filename) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        parts.append(head.encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return client.post(
        url, data=body, content_type=f"multipart/form-data; boundary={boundary}", **kw
    )


# ---------------------------------------------------------------- browsers


@contextmanager
def chromium():
    """Debian's Chromium driven by Playwright, for a module's browser fixture; without it the
    test is skipped (it fails where QUNBOOK_TEST_REQUIRE_ALL=1, as in CI)."""
    if not os.path.exists(CHROMIUM):
        if REQUIRE_ALL:
            pytest.fail(f"Chromium is required here but not found at {CHROMIUM}")
        pytest.skip("Chromium not installed: apt-get install chromium (CI does this)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
            ],
        )  # fmt: skip
        yield browser
        browser.close()


@contextmanager
def handbook_kit(tmp, built, with_demo=False):
    """The kit under gunicorn, on a SQLite file in tmp, serving the handbook the session built
    (the `built` fixture), with the demo's data if asked; yields its base URL."""
    from liveserver import LiveServer

    from miniapp_api import create_app, demo
    from miniapp_api.migrations import migrate

    handbook, result = built
    assert result.returncode == 0, result.stderr[-2000:]
    config = make_config(f"sqlite:///{tmp / 'kit.sqlite3'}", tmp, HANDBOOK_DIR=str(handbook))
    create_app(config)
    with db.connection_context():
        migrate()
        if with_demo:
            demo.load()
    db.close_all()
    with LiveServer({k: v for k, v in config.items() if k != "TESTING"}) as base_url:
        yield base_url


def console_pages(app) -> list[str]:
    """Every console page a person opens: each GET route, with the demo's slugs and event ids
    filled in; downloads (CSV, PNG, photos) left out."""
    from miniapp_api.db import db
    from miniapp_api.models import Activity, Campaign

    with db.connection_context():
        slugs = [c.slug for c in Campaign.select().order_by(Campaign.id)]
        events = Activity.select(Activity, Campaign).join(Campaign)
        event_ids = [(e.campaign.slug, e.id) for e in events.where(Activity.kind == "event")]
    urls = app.url_map.bind("localhost")
    pages = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/console") or "GET" not in rule.methods:
            continue
        if (
            rule.rule.endswith((".csv", ".xlsx", ".png", ".jpg"))
            or rule.endpoint == "accounts.login"
        ):
            continue
        if not rule.arguments:
            pages.append(urls.build(rule.endpoint))
        elif rule.arguments == {"slug"}:
            pages += [urls.build(rule.endpoint, {"slug": slug}) for slug in slugs]
        elif rule.arguments == {"slug", "event_id"}:
            pages += [
                urls.build(rule.endpoint, {"slug": slug, "event_id": event_id})
                for slug, event_id in event_ids
            ]
        else:
            raise AssertionError(f"a console page this walk does not know how to fill: {rule}")
    return [*pages, "/console/campaigns/new?template=store-live-code"]


def handbook_hook(name: str):
    """One of the handbook's build hooks (handbook/hooks/<name>.py), loaded from its file as
    MkDocs loads it."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "handbook" / "hooks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"handbook_hook_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- people's rights


class Family:
    """A referral chain Z → A → B → C in one campaign (B counts for A at level 1 and for Z at
    level 2; C for B and for A), B with everything a person can leave:
    a phone, a reward of their own, a challenge check-in, an event ticket, a scan, and a
    customer record (same phone) with a VIP invitation and its ticket."""

    PHONE = "139 1234 5678"
    PERSONAL: ClassVar[dict[str, str]] = {  # what the database holds of B, in plain text
        "nickname": "小李子",
        "customer name": "李雷雷",
        "customer id": "VIP-0042",
        "note": "晨跑五公里，天边有朝霞",
    }

    def __init__(self, hash_key="test-hash-key"):
        from miniapp_api.checkins import events
        from miniapp_api.checkins import rules as checkins
        from miniapp_api.models import Customer, Invitation, VisitPerson
        from miniapp_api.referrals import rules as referrals
        from miniapp_api.visitors import normalise_phone, phone_hash

        self.campaign = make_campaign(slug="laodaixin", title="老带新裂变")
        referrals.set_up_program(
            self.campaign,
            tiers=[(1, "9 折券")],
            friend_reward="新人券",
            max_per_hour=100,
            max_per_day=100,
        )
        self.keys = {name: secrets.token_urlsafe(16) for name in "zabc"}
        self.phone_hash = phone_hash(hash_key, normalise_phone(self.PHONE))

        def join(name, nickname, code=None, **kw):
            key = self.keys[name]
            sent_to_group(self.campaign.id, key)
            return referrals.sign_up(
                self.campaign.id,
                nickname=nickname,
                visitor=key,
                agent="wechat",
                ip_hash=f"ip-{key}",
                device_hash=f"device-{key}",
                referrer_code=code,
                **kw,
            ).member

        self.z = join("z", "老周")
        self.a = join("a", "阿花", self.z.code)
        self.b = join("b", self.PERSONAL["nickname"], self.a.code, phone_hash=self.phone_hash)
        self.c = join("c", "大熊", self.b.code)
        VisitPerson.create(campaign=self.campaign.id, visitor=self.keys["b"])
        challenge = make_challenge(self.campaign)
        checkins.join(challenge, self.b, now=shanghai(1, 8))
        checkins.check_in(challenge, self.b, note=self.PERSONAL["note"], now=shanghai(1, 9))
        self.event = make_event(self.campaign, capacity=10)
        events.issue_ticket(
            self.event, holder=self.b.nickname, member=self.b, visitor=self.keys["b"]
        )
        self.customer = Customer.create(
            external_id=self.PERSONAL["customer id"],
            name=self.PERSONAL["customer name"],
            region="杭州",
            purchase_total=1_280_000,
            phone_hash=self.phone_hash,
        )
        self.invitation = Invitation.create(
            campaign=self.campaign.id,
            customer=self.customer.id,
            token=secrets.token_urlsafe(24),
            expires_at=utcnow() + timedelta(days=14),
        )
        events.issue_ticket(
            self.event,
            holder=self.customer.name,
            invitation=self.invitation,
            visitor=self.keys["b"],
        )

    def b_values(self) -> list[str]:
        """Every personal value of B's the database held: none may be left after erasing."""
        from miniapp_api.models import Member, Reward, Ticket

        b = Member.get_by_id(self.b.id)
        tickets = Ticket.select().where(
            (Ticket.member == b.id) | (Ticket.invitation == self.invitation.id)
        )
        return [
            *self.PERSONAL.values(),
            b.code,
            b.visitor,
            b.phone_hash,
            b.ip_hash,
            b.device_hash,
            self.invitation.token,
            *[r.code for r in Reward.select().where(Reward.member == b.id)],
            *[t.token for t in tickets],
        ]

    def others(self) -> dict:
        """Every other member's counts and rewards."""
        from miniapp_api.models import Member

        return {
            m.id: (
                m.referrals,
                m.second_level,
                sorted((r.key, r.name, r.code, r.redeemed_at) for r in m.rewards),
            )
            for m in Member.select().where(Member.id != self.b.id).order_by(Member.id)
        }


def database_dump() -> str:
    """The whole database as text: SQLite's iterdump(), or on PostgreSQL every row of every
    table of the test's schema as text."""
    from miniapp_api.db import is_sqlite

    if is_sqlite():
        return "\n".join(db.connection().iterdump())
    tables = db.execute_sql(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
    )
    lines = []
    for (table,) in list(tables):
        lines += [row[0] for row in db.execute_sql(f'SELECT t::text FROM "{table}" t')]  # noqa: S608
    assert len(lines) > 10, "the dump found no rows: wrong schema?"
    return "\n".join(lines)
