"""The `qunbook` command line: every command in one place, behind one error handler.

Set up campaigns, channels and groups; render posters; import customers; create staff; run the
kit. A command runs in the app's context with a database connection, and the domain's errors
(a missing campaign, an unreadable QR, a bad password ...) become a message and exit code 1,
never a traceback.

It speaks the locale's language (Chinese under zh_*, English otherwise): every message is a
Chinese msgid with its English in the catalogue. Click's own words (--help, "Usage:",
"Error:") stay English.

`qunbook --help` must answer at once, so this module imports only click at the top (and
miniapp_api.i18n, which loads no Babel until a message is translated): a command
builds the app (Flask and every blueprint) when it runs, and imports the rules it uses (peewee,
Pillow, qrcode, zxing-cpp, argon2). Importing all that up front made `--help` take 0.6 s; even
the rules that need only peewee would add 0.1 s to the 0.1 s it takes now.
"""

import functools
import os
import unicodedata
from datetime import datetime
from pathlib import Path

import click

from miniapp_api import i18n
from miniapp_api.accounts.roles import ROLES
from miniapp_api.i18n import _, ngettext
from miniapp_api.localtime import to_local, to_utc
from miniapp_api.numbers import MAX_INT, whole_number
from miniapp_api.text import normal, unwanted_character


def cli_locale() -> str:
    """The language the command line speaks: the locale's (LANGUAGE, LC_ALL, LC_MESSAGES,
    LANG), Chinese for zh_*, English otherwise."""
    return i18n.locale_from_environment(os.environ)


class WholeNumber(click.ParamType):
    """A whole number in ASCII digits within bounds: click's own INT takes "٣" and "1_000"."""

    name = "integer"

    def __init__(self, low: int, high: int):
        self.low, self.high = low, high

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        number = whole_number(value, self.low, self.high)
        if number is None:
            with i18n.speaking(cli_locale()):
                message = _(
                    "%(value)s 不是 %(low)s 到 %(high)s 之间的整数。",
                    value=repr(value),
                    low=self.low,
                    high=self.high,
                )
            self.fail(message, param, ctx)
        return number


NUMBER = WholeNumber(-MAX_INT, MAX_INT)  # the rules say which range each setting takes


class Text(click.ParamType):
    """Text as the web's gate takes it (web/inputs.py): no control characters, in NFC. A
    terminal pastes escape sequences, and bytes that are not UTF-8 arrive as lone surrogates,
    which no database stores."""

    name = "text"

    def convert(self, value, param, ctx):
        char = unwanted_character(value)
        if char is not None:
            with i18n.speaking(cli_locale()):
                message = _(
                    "%(value)s 里有控制字符（%(char)s）：请去掉它重新输入。",
                    value=repr(value),
                    char=char,
                )
            self.fail(message, param, ctx)
        return normal(value)


TEXT = Text()


def in_app_context(fn):
    """Runs the command in the app's context, as flask.cli.with_appcontext does, but imports
    Flask and builds the app only now. A test's runner (or `flask --app miniapp_api`) hands
    over its app; `qunbook` builds one, and a missing setting becomes a message. The command
    speaks the locale's language (cli_locale), its rules' messages included."""

    @click.pass_context
    @functools.wraps(fn)
    def wrapper(ctx, /, *args, **kwargs):
        with i18n.speaking(cli_locale()):
            return _in_app(ctx, fn, *args, **kwargs)

    return wrapper


def _in_app(ctx, fn, *args, **kwargs):
    from flask import current_app
    from flask.cli import ScriptInfo

    from miniapp_api import create_app
    from miniapp_api.db import ImproperlyConfigured

    if current_app:
        return fn(*args, **kwargs)
    info = ctx.find_object(ScriptInfo) or ScriptInfo(create_app=create_app)
    try:
        app = info.load_app()
    except ImproperlyConfigured as error:
        raise click.ClickException(str(error)) from None
    with app.app_context():
        return fn(*args, **kwargs)


def fail_clearly(fn=None, *, any_schema=False):
    """Runs in the app's context with a database connection; set-up errors become a message
    and exit code 1, never a traceback. Unless `any_schema` (init-db, which upgrades it), the
    database must be at this code's schema version, as every web request requires
    (web/schema.py): a table a newer step adds would otherwise be missing mid-command."""
    if fn is None:
        return functools.partial(fail_clearly, any_schema=any_schema)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from miniapp_api.db import db
        from miniapp_api.i18n import locale_from_environment, speaking

        try:
            # The rules' messages are made in the command line's language (its locale).
            with db.connection_context(), speaking(locale_from_environment(os.environ)):
                if not any_schema:
                    _require_current_schema()
                return fn(*args, **kwargs)
        except set_up_errors() as error:
            raise click.ClickException(str(error)) from None

    return in_app_context(wrapper)


def _require_current_schema():
    from miniapp_api.migrations import LATEST, current_version

    version = current_version()
    if version < LATEST:
        raise click.ClickException(
            _(
                "数据库的结构版本是 %(version)s，这个程序需要 %(latest)s："
                "先运行 qunbook init-db 升级。",
                version=version,
                latest=LATEST,
            )
        )
    if version > LATEST:
        raise click.ClickException(
            _(
                "数据库的结构版本是 %(version)s，比这个程序（%(latest)s）新：请部署新版程序，"
                "或恢复为这个版本做的备份。",
                version=version,
                latest=LATEST,
            )
        )


def set_up_errors() -> tuple[type[Exception], ...]:
    """The domain's errors whose message tells the user what to do (imported on a failure)."""
    from miniapp_api.accounts.rules import StaffError
    from miniapp_api.backup import BackupError
    from miniapp_api.invitations.customers import CustomerFileError
    from miniapp_api.livecode.groupqr import InvalidGroupQr
    from miniapp_api.livecode.rules import SetupError
    from miniapp_api.migrations import SchemaMismatch
    from miniapp_api.people.rules import PersonError
    from miniapp_api.referrals.rules import ReferralError

    return (
        SetupError,
        InvalidGroupQr,
        StaffError,
        CustomerFileError,
        ReferralError,
        SchemaMismatch,
        BackupError,
        PersonError,
    )


@click.command("init-db")
@fail_clearly(any_schema=True)
def init_db():
    """Create the schema, or bring an existing database up to date."""
    from miniapp_api.migrations import migrate

    before, after = migrate()
    click.echo(_("数据库已就绪（结构版本 %(before)s → %(after)s）。", before=before, after=after))
    if 0 < before < ROLLUP_STEP <= after:
        # Visits stored before the dashboards' rollup existed are counted now, once, rather
        # than by the first dashboard view after the upgrade (seconds per million visits).
        _roll_up_all()


ROLLUP_STEP = 11  # the schema step that brought the dashboards' rollup


@click.command("backup")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@fail_clearly(any_schema=True)
def backup_command(path):
    """Write a consistent copy of the database while the kit serves (default: a new
    timestamped file in the instance folder's backups/); never overwrites a file."""
    _say_backed_up(_backup(path))


def _backup(path: Path | None) -> Path:
    """A new backup at `path` (or the default place), checked; returns where it went."""
    from flask import current_app

    from miniapp_api import backup
    from miniapp_api.db import db, is_sqlite
    from miniapp_api.models import utcnow

    sqlite = is_sqlite()
    if path is None:
        path = backup.default_path(current_app.instance_path, sqlite, local(utcnow()))
    if sqlite:
        backup.backup_sqlite(db.connection(), path)
    else:
        backup.backup_postgres(setting("DATABASE_URL"), path)
    return path


def _say_backed_up(path: Path) -> None:
    from miniapp_api.backup import size_text

    click.echo(_("已备份到 %(path)s（%(size)s）。", path=path, size=size_text(path)))


@click.command("restore-backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that holds data.")
@fail_clearly(any_schema=True)
def restore_backup(path, force):
    """Replace the database with the backup at PATH, once it is checked. Stop the server
    first (qunbook serve, gunicorn): it would go on with the database it had open."""
    from miniapp_api import backup
    from miniapp_api.db import db, is_sqlite
    from miniapp_api.migrations import LATEST

    sqlite = is_sqlite()
    if sqlite:
        version = backup.check_sqlite_backup(path)
    else:
        version = backup.check_postgres_backup(path, setting("DATABASE_URL"))
    if backup.holds_data() and not force:
        raise click.ClickException(
            _(
                "数据库里已经有数据：恢复会把它全部换成备份里的。确定要这样做，请先用 "
                "qunbook backup 备份现在的数据，再加 --force 运行。"
            )
        )
    if sqlite:
        backup.restore_sqlite(path, db.connection())
    else:
        backup.restore_postgres(setting("DATABASE_URL"), path)
    click.echo(_("已从 %(path)s 恢复（结构版本 %(version)s）。", path=path, version=version))
    if version < LATEST:
        click.echo(_("这份备份来自旧版本：请运行 qunbook upgrade 升级数据库结构。"))


@click.command("upgrade")
@fail_clearly(any_schema=True)
def upgrade():
    """Back the database up, then bring its schema up to this version's."""
    from miniapp_api.migrations import (
        LATEST,
        SchemaMismatch,
        check_version,
        current_version,
        migrate,
    )

    before = current_version()
    if before > LATEST:
        raise SchemaMismatch(check_version())
    if before == LATEST:
        click.echo(_("数据库已是最新的结构版本 %(version)s：不用升级。", version=before))
        return
    if before > 0:
        _say_backed_up(_backup(None))
    before, after = migrate()
    click.echo(_("数据库已升级（结构版本 %(before)s → %(after)s）。", before=before, after=after))
    if 0 < before < ROLLUP_STEP <= after:
        _roll_up_all()


@click.command("demo")
@click.option("--reset", is_flag=True, help="Delete the demo campaign and load it afresh.")
@click.option(
    "--trainer",
    is_flag=True,
    help="Also make the class's read-only login (demo-trainer) and print its new password.",
)
@fail_clearly
def demo_command(reset, trainer):
    """Load the demo campaign the handbook links to (keeps it fresh on every run)."""
    from flask import current_app

    from miniapp_api import demo
    from miniapp_api.accounts.rules import DEMO_TRAINER, demo_trainer

    click.echo(demo.load(reset=reset, tz=current_app.config["TIMEZONE"]))
    if trainer:
        password = demo_trainer()
        if current_app.config["DEMO_TRAINER_ANYWHERE"]:
            login = _(
                "培训师只读登录：%(user)s / %(password)s  "
                "（任何地址都能登录：已设置 QUNBOOK_DEMO_TRAINER_ANYWHERE）",
                user=DEMO_TRAINER,
                password=password,
            )
        else:
            login = _(
                "培训师只读登录：%(user)s / %(password)s  （只能在这台电脑上登录；"
                "要让学员用手机登录，请设置 QUNBOOK_DEMO_TRAINER_ANYWHERE=1）",
                user=DEMO_TRAINER,
                password=password,
            )
        click.echo(login)
        click.echo(_("控制台：%(url)s/console/login", url=public()))


@click.command("create-campaign")
@click.argument("slug", type=TEXT)
@click.argument("title", type=TEXT)
@click.option("--promise", default="", type=TEXT, help="What members get, shown under the title.")
@click.option("--rules", default="", type=TEXT, help="The group's rules, shown on the join page.")
@click.option("--contact", default="", type=TEXT, help="Who to contact when every group is full.")
@fail_clearly
def create_campaign(slug, title, promise, rules, contact):
    """Create a campaign; its live code is /j/SLUG."""
    from miniapp_api.livecode import rules as livecode

    campaign = livecode.create_campaign(
        slug, title, promise=promise, rules=rules, staff_contact=contact
    )
    url = livecode.join_url(public(), campaign.slug)
    click.echo(_("已创建活动 %(slug)s：%(url)s", slug=campaign.slug, url=url))


@click.command("add-channel")
@click.argument("campaign", type=TEXT)
@click.argument("code", type=TEXT)
@click.argument("label", type=TEXT)
@fail_clearly
def add_channel(campaign, code, label):
    """Add a channel (where a poster is shown), e.g. counter 门店前台."""
    from miniapp_api.livecode import rules as livecode
    from miniapp_api.livecode.rules import find_campaign

    channel = livecode.add_channel(find_campaign(campaign), code, label)
    url = livecode.join_url(public(), campaign, code)
    click.echo(_("已添加渠道 %(code)s：%(url)s", code=channel.code, url=url))


@click.command("add-group")
@click.argument("campaign", type=TEXT)
@click.argument("name", type=TEXT)
@click.option(
    "--cutoff", type=NUMBER, default=200, show_default=True, help="People sent before switching."
)
@fail_clearly
def add_group(campaign, name, cutoff):
    """Add a WeChat group to a campaign's live code (upload its QR next)."""
    from miniapp_api.livecode import rules as livecode
    from miniapp_api.livecode.rules import find_campaign

    group = livecode.add_group(find_campaign(campaign), name, cutoff=cutoff)
    click.echo(
        _(
            "已添加群 #%(id)s %(name)s（上限 %(cutoff)s）。",
            id=group.id,
            name=group.name,
            cutoff=group.cutoff,
        )
    )
    click.echo(
        _(
            "下一步：qunbook upload-qr %(campaign)s %(id)s path/to/qr.png",
            campaign=campaign,
            id=group.id,
        )
    )


@click.command("upload-qr")
@click.argument("campaign", type=TEXT)
@click.argument("group", type=TEXT)
@click.argument("image", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--generated",
    help="When WeChat generated this QR, local time: 2026-11-20 or '2026-11-20 14:30'. "
    "Default: now. A date alone counts from its start, so the warning comes early, never late.",
)
@fail_clearly
def upload_qr(campaign, group, image, generated):
    """Store GROUP's QR image (GROUP is its id or exact name); it works for 7 days."""
    from miniapp_api.livecode import rules as livecode
    from miniapp_api.livecode.groupqr import check_group_qr
    from miniapp_api.livecode.rules import SetupError, find_campaign
    from miniapp_api.models import utcnow

    target = find_group(find_campaign(campaign), group)
    if not image.is_file():
        raise SetupError(_("%(path)s 处没有文件：请给出群二维码图片的路径。", path=image))
    stored, payload, digest = check_group_qr(image.read_bytes())
    generated_at = parse_local_time(generated) if generated else utcnow()
    livecode.set_group_qr(target, stored, digest, payload, generated_at)
    expires = local(generated_at + livecode.QR_LIFETIME).strftime("%Y-%m-%d %H:%M")
    click.echo(
        _("已保存 %(name)s 的二维码；它在 %(expires)s 失效。", name=target.name, expires=expires)
    )


@click.command("list-groups")
@click.argument("campaign", required=False, type=TEXT)
@fail_clearly
def list_groups(campaign):
    """List groups with their counts and QR expiry (all campaigns, or one)."""
    from miniapp_api.livecode.places import with_sent
    from miniapp_api.livecode.rules import find_campaign, qr_expires_at
    from miniapp_api.models import Campaign, Group, utcnow

    campaigns = [find_campaign(campaign)] if campaign else Campaign.select().order_by(Campaign.slug)
    now = utcnow()
    for found in campaigns:
        click.echo(f"{found.slug}  {found.title}")
        if found.all_full_since:
            since = f"{local(found.all_full_since):%m-%d %H:%M}"
            full = _(
                "%(since)s 起全部满员：成员看到的是全满页面。请加一个群或上传新的二维码。",
                since=since,
            )
            click.echo(f"    {full}")
        groups = with_sent(found.groups).order_by(Group.position, Group.id)
        if not groups.count():
            click.echo("    " + _("（还没有群：用 qunbook add-group 添加）"))
        for g in groups:
            expires = qr_expires_at(g)
            if expires is None:
                state = _("未上传二维码")
            elif expires <= now:
                state = _("二维码已于 %(at)s 过期", at=local(expires).strftime("%m-%d %H:%M"))
            else:
                state = _("二维码 %(at)s 过期", at=local(expires).strftime("%m-%d %H:%M"))
            status = "" if g.active else "  " + _("[已停用]")
            click.echo(f"  #{g.id:<4} {g.name}  {g.sent}/{g.cutoff}  {state}{status}")


@click.command("update-group")
@click.argument("campaign", type=TEXT)
@click.argument("group", type=TEXT)
@click.option("--cutoff", type=NUMBER, help="People to send before switching to the next group.")
@click.option("--count", "sent", type=NUMBER, help="Correct the count of people sent.")
@click.option("--active/--inactive", default=None, help="Switch the group on or off.")
@click.option("--position", type=NUMBER, help="Order among the campaign's groups (lower first).")
@fail_clearly
def update_group(campaign, group, cutoff, sent, active, position):
    """Change GROUP's cut-off, count, on/off state or order (GROUP: its id or exact name)."""
    from miniapp_api.livecode import rules as livecode
    from miniapp_api.livecode.rules import find_campaign

    target = find_group(find_campaign(campaign), group)
    updated = livecode.update_group(
        target, cutoff=cutoff, sent=sent, active=active, position=position
    )
    figures = {
        "id": updated.id,
        "name": updated.name,
        "sent": updated.sent,
        "cutoff": updated.cutoff,
    }
    if updated.active:
        click.echo(_("#%(id)s %(name)s：%(sent)s/%(cutoff)s，开启。", **figures))
    else:
        click.echo(_("#%(id)s %(name)s：%(sent)s/%(cutoff)s，关闭。", **figures))


@click.command("stats")
@click.argument("campaign", type=TEXT)
@fail_clearly
def stats(campaign):
    """Scans and people sent per channel, and people sent per group."""
    from miniapp_api.console.stats import channel_stats
    from miniapp_api.livecode.places import with_sent
    from miniapp_api.livecode.rules import find_campaign
    from miniapp_api.models import Group

    found = find_campaign(campaign)
    click.echo(f"{found.slug}  {found.title}")
    # One msgid for the whole header, its columns aligned by hand (a Chinese character is two
    # columns wide).
    click.echo("  " + _("渠道                    扫码    进群    满员  机器人"))
    for row in channel_stats(found):
        name = pad(f"{row['code']} {row['label']}".strip(), 20)
        click.echo(f"  {name} {row['scans']:>7} {row['sent']:>7} {row['full']:>7} {row['bots']:>7}")
    click.echo("  " + _("扫码：人的访问；进群：计入某个群（每人每天一次）；"))
    click.echo("  " + _("满员：遇到所有群都满了；机器人：机器人和链接预览，从不计入。"))
    for g in with_sent(found.groups).order_by(Group.position, Group.id):
        click.echo(f"  #{g.id:<4} {g.name}  {g.sent}/{g.cutoff}")


def pad(text: str, width: int) -> str:
    """`text` left-aligned in `width` terminal columns: a Chinese character takes two, which
    str.ljust does not know, so columns after a Chinese label slid right."""
    used = sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)
    return text + " " * max(width - used, 0)


@click.command("attention")
@fail_clearly
def attention():
    """List what needs staff attention; exit 1 when anything does (for cron)."""
    from miniapp_api.console.attention import needs_attention

    items = needs_attention(tz=setting("TIMEZONE"))
    for item in items:
        where = f"{item['campaign']} {item['group']}".strip()
        click.echo(f"[{item['kind']}] {where}: {item['message']}")
    if items:
        raise SystemExit(1)
    click.echo(_("没有需要处理的事。"))


@click.command("send-alerts")
@fail_clearly
def send_alerts():
    """Send due alerts to the campaigns' webhooks, each cause once (for cron, every minute)."""
    from miniapp_api.console.alerts import send_due_alerts
    from miniapp_api.models import utcnow

    counts = send_due_alerts(
        utcnow(), default_webhook=setting("ALERT_WEBHOOK") or "", tz=setting("TIMEZONE")
    )
    click.echo(
        _(
            "已发送提醒：%(sent)s，失败（稍后重试）：%(failed)s。",
            sent=counts["sent"],
            failed=counts["failed"],
        )
    )
    if counts["failed"]:
        raise SystemExit(1)


@click.command("roll-up")
@fail_clearly
def roll_up():
    """Count the visits of complete hours into the dashboards' rollup (for cron, hourly): the
    first dashboard view after a busy hour then has nothing left to count."""
    _roll_up_all()


def _roll_up_all():
    from miniapp_api.console.rollup import roll_up_all

    counted = roll_up_all()
    click.echo(
        ngettext(
            "已汇总到最近一个整点：%(num)s 个活动。",
            "已汇总到最近一个整点：%(num)s 个活动。",
            counted,
        )
    )


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Only count what would go; change nothing.")
@fail_clearly
def purge(dry_run):
    """Delete personal data older than its retention period (QUNBOOK_RETAIN_*_DAYS): raw
    visits already counted into the dashboards, login attempts, expired staff sessions,
    refused referrals, unanswered VIP invitations, per-address scan counters. For cron,
    daily; one line per kind."""
    from flask import current_app
    from peewee import DatabaseError

    from miniapp_api import retention
    from miniapp_api.config import retention_periods

    periods = retention_periods(current_app.config)
    try:
        outcomes = retention.purge(periods, retention.utcnow(), dry_run=dry_run)
    except DatabaseError as error:
        raise click.ClickException(
            _(
                "清理没有做完（%(error)s）：已删除的不会恢复，其余的没有改动；"
                "问题解决后再运行一次 qunbook purge，会从中断处接着清理。",
                error=error,
            )
        ) from None
    for outcome in outcomes:
        click.echo(retention.summary(outcome, dry_run, local))
    if dry_run:
        click.echo(_("只是试算（--dry-run）：什么都没有删除。"))


def _lifecycle_target(campaign: str, channel: str | None):
    """The campaign, and the channel when --channel names one (a SetupError otherwise)."""
    from miniapp_api.livecode.rules import SetupError, find_campaign
    from miniapp_api.models import Channel

    found = find_campaign(campaign)
    if channel is None:
        return found, None
    row = Channel.get_or_none((Channel.campaign == found) & (Channel.code == channel))
    if row is None:
        raise SetupError(
            _(
                "%(campaign)s 里没有渠道 %(channel)s：请看活动页。",
                campaign=repr(campaign),
                channel=repr(channel),
            )
        )
    return found, row


CHANNEL_OPTION = click.option("--channel", type=TEXT, help="A channel's code: act on it alone.")


@click.command("archive")
@click.argument("campaign", type=TEXT)
@CHANNEL_OPTION
@fail_clearly
def archive(campaign, channel):
    """Archive a campaign (its public pages close, it leaves `attention`) or one channel."""
    from miniapp_api.accounts.rules import audit
    from miniapp_api.livecode import lifecycle

    found, row = _lifecycle_target(campaign, channel)
    if row is None:
        changed = lifecycle.archive_campaign(found.id)
        done = _(
            "已归档 %(campaign)s：它的页面现在显示活动已结束；`qunbook restore` 可以撤销。",
            campaign=campaign,
        )
    else:
        changed = lifecycle.archive_channel(row.id)
        done = _(
            "已归档渠道 %(channel)s：它的海报仍然通向 %(campaign)s。",
            channel=channel,
            campaign=campaign,
        )
    if not changed:
        click.echo(_("本来就已归档：没有改动。"))
        return
    audit(
        None,
        f"{'channel' if row else 'campaign'}.archive",
        f"campaign:{campaign}",
        **({"code": channel} if row else {}),
        via="cli",
    )
    click.echo(done)


@click.command("restore")
@click.argument("campaign", type=TEXT)
@CHANNEL_OPTION
@fail_clearly
def restore(campaign, channel):
    """Put an archived campaign, or one archived channel, back to work."""
    from miniapp_api.accounts.rules import audit
    from miniapp_api.livecode import lifecycle

    found, row = _lifecycle_target(campaign, channel)
    changed = (
        lifecycle.restore_campaign(found.id) if row is None else lifecycle.restore_channel(row.id)
    )
    if not changed:
        click.echo(_("没有归档：没有改动。"))
        return
    audit(
        None,
        f"{'channel' if row else 'campaign'}.restore",
        f"campaign:{campaign}",
        **({"code": channel} if row else {}),
        via="cli",
    )
    click.echo(_("已恢复 %(name)s。", name=channel or campaign))


@click.command("delete")
@click.argument("campaign", type=TEXT)
@CHANNEL_OPTION
@fail_clearly
def delete(campaign, channel):
    """Delete a campaign without member data, or a channel nobody scanned; archive otherwise."""
    from miniapp_api.accounts.rules import audit
    from miniapp_api.livecode import lifecycle

    found, row = _lifecycle_target(campaign, channel)
    if row is None:
        lifecycle.delete_campaign(found)
        audit(None, "campaign.delete", f"campaign:{campaign}", title=found.title, via="cli")
    else:
        lifecycle.delete_channel(row)
        audit(None, "channel.delete", f"campaign:{campaign}", code=channel, via="cli")
    click.echo(_("已删除 %(name)s。", name=channel or campaign))


@click.command("create-staff")
@click.argument("username", type=TEXT)
@click.option("--role", type=click.Choice(ROLES), default="operator", show_default=True)
@click.option(
    "--name",
    "display_name",
    default="",
    type=TEXT,
    help="Shown in the console, e.g. 陈店长.",  # i18n: content
)
@click.password_option(help="Asked for when not given (at least 10 characters).")
@fail_clearly
def create_staff(username, role, display_name, password):
    """Create a staff account: admin, operator, or trainer (sees, never changes)."""
    from miniapp_api.accounts import rules as accounts

    staff = accounts.create_staff(username, password, role, display_name)
    accounts.audit(None, "staff.create", f"staff:{staff.username}", role=role, by="cli")
    click.echo(
        _(
            "已创建 %(role)s %(username)s：在 %(url)s/console/login 登录",
            role=staff.role,
            username=staff.username,
            url=public(),
        )
    )


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=WholeNumber(1, 65535), help="Default: QUNBOOK_PORT or 8000.")
@click.option("--workers", default=2, show_default=True, help="Worker processes.")
@click.option("--threads", default=4, show_default=True, help="Threads per worker.")
@in_app_context
def serve(host, port, workers, threads):
    """Serve the handbook and the mini-app with a production WSGI server (gunicorn)."""
    from flask import current_app
    from gunicorn.app.base import BaseApplication

    from miniapp_api.config import record_public_url, served_at, use_public_url

    app = current_app._get_current_object()
    port = port or app.config["PORT"]
    # Unless QUNBOOK_PUBLIC_URL says otherwise, QR codes point where this server listens, and
    # the commands run later from this folder (render-posters ...) read it from the instance.
    if app.config["PUBLIC_URL_FROM"] != "QUNBOOK_PUBLIC_URL":
        use_public_url(app, served_at(host, port), "qunbook serve")
    record_public_url(app)

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            # gunicorn's threaded worker, answering its own 414/431 as the app would.
            self.cfg.set("worker_class", "miniapp_api.web.worker.Worker")
            self.cfg.set("accesslog", "-")
            # The access log: the keyed hash of each client's address, URLs without tokens.
            self.cfg.set("logger_class", "miniapp_api.web.worker.AccessLogger")

        def load(self):
            return app

    click.echo(
        _(
            "Qunbook：手册在 http://%(host)s:%(port)s/handbook/ · 演示在 /j/demo?c=counter",
            host=host,
            port=port,
        )
    )
    click.echo(_("二维码和链接指向 %(url)s", url=public()))
    warn_if_only_this_computer(posters=False)
    from miniapp_api.console.attention import https_without_proxy_warning

    proxy_warning = https_without_proxy_warning(public(), app.config["TRUSTED_PROXIES"])
    if proxy_warning:
        click.echo(proxy_warning, err=True)
    # The command line's language is for its own messages: each page the server answers picks
    # its reader's, and what answers before any request exists speaks the kit's first language.
    with i18n.speaking(i18n.SOURCE):
        Server().run()


def setting(name: str):
    from flask import current_app

    return current_app.config[name]


def public() -> str:
    return setting("PUBLIC_URL")


def warn_if_only_this_computer(posters: bool):
    """Loudly, on stderr: a printed poster that leads nowhere is the worst failure. `posters`:
    about the posters just written, else about QR codes printed from now on."""
    from miniapp_api.config import only_this_computer

    if not only_this_computer(public()):
        return
    if posters:
        warning = _(
            "警告：这些海报的二维码指向 %(url)s，只有这台电脑打得开：用手机扫码什么也得不到。"
            "请把 QUNBOOK_PUBLIC_URL 设成手机能访问的地址（如 https://qun.example.cn），"
            "再重新生成海报。",
            url=public(),
        )
    else:
        warning = _(
            "警告：现在打印的二维码指向 %(url)s，只有这台电脑打得开：用手机扫码什么也得不到。"
            "请把 QUNBOOK_PUBLIC_URL 设成手机能访问的地址（如 https://qun.example.cn），"
            "再重新生成海报。",
            url=public(),
        )
    click.echo(warning, err=True)


def find_group(campaign, ref: str):
    from miniapp_api.livecode.rules import SetupError
    from miniapp_api.models import Group

    query = Group.select().where(Group.campaign == campaign)
    group_id = whole_number(ref, 1, MAX_INT)
    group = (
        query.where(Group.id == group_id).first()
        if group_id
        else query.where(Group.name == ref).first()
    )
    if group is None:
        raise SetupError(
            _(
                "%(campaign)s 里没有群 %(ref)s：请看 `qunbook list-groups`。",
                campaign=campaign.slug,
                ref=repr(ref),
            )
        )
    return group


def parse_local_time(text: str) -> datetime:
    from miniapp_api.livecode.rules import SetupError

    for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            moment = datetime.strptime(text.strip(), pattern)
        except ValueError:
            continue
        return to_utc(moment, setting("TIMEZONE"))
    raise SetupError(
        _(
            "无法把 %(text)s 读成时间：请写 2026-11-20 或 '2026-11-20 14:30'。",
            text=repr(text),
        )
    )


def local(moment: datetime) -> datetime:
    return to_local(moment, setting("TIMEZONE"))


@click.command("import-customers")
@click.argument("sheet_file", type=click.Path(dir_okay=False, path_type=Path))
@fail_clearly
def import_customers_command(sheet_file):
    """Import customers for VIP selection from an .xlsx or a CSV (UTF-8 or GBK), keyed by
    customer id.

    Columns: 客户编号,姓名,地区,累计消费[,最近活跃][,手机]. Bad rows are listed by row
    number and skipped; the rest are imported. Exits 1 when any row was refused.
    """
    from miniapp_api.invitations import customers
    from miniapp_api.invitations.customers import CustomerFileError
    from miniapp_api.visitors import phone_hash

    if not sheet_file.is_file():
        raise CustomerFileError(
            _("%(path)s 处没有文件：请给出保存好的 .xlsx 或导出的 CSV 的路径。", path=sheet_file)
        )
    data = sheet_file.read_bytes()
    key = setting("HASH_KEY")
    length = customers.rows_in(data)
    with click.progressbar(length=length, label=_("正在导入客户")) as bar:
        report = customers.import_customers(
            data, lambda phone: phone_hash(key, phone), progress=bar.update
        )
        # The row count was an estimate (a header line, a last line without a line break):
        # a finished import shows a full bar, not one stuck at 99 %.
        bar.update(max(bar.length - bar.pos, 0))
    click.echo(
        _(
            "%(rows)s 行：新增 %(created)s，更新 %(updated)s，未变 %(unchanged)s，"
            "拒绝 %(refused)s。",
            rows=report.rows,
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
            refused=len(report.errors),
        )
    )
    for number, reason in report.errors:
        click.echo("  " + _("第 %(number)s 行：%(reason)s", number=number, reason=reason))
    if report.errors:
        raise click.exceptions.Exit(1)


@click.command("render-posters")
@click.argument("campaign", type=TEXT)
@click.option("--out", "out_dir", default="posters", show_default=True, help="Folder to write.")
@click.option(
    "--format",
    "formats",
    type=click.Choice(["png", "jpeg"]),
    multiple=True,
    help="Repeat for both; default: png and jpeg.",
)
@fail_clearly
def render_posters(campaign, out_dir, formats):
    """Write one poster per channel (and one without a channel) of CAMPAIGN."""
    from miniapp_api.livecode.rules import find_campaign
    from miniapp_api.models import Channel
    from miniapp_api.posters import rules as posters

    found = find_campaign(campaign)
    formats = formats or ("png", "jpeg")
    channels = [None, *found.channels.order_by(Channel.id)]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(channel, fmt) for channel in channels for fmt in formats]
    cache = setting("POSTER_CACHE_DIR")
    with click.progressbar(jobs, label=_("正在生成海报")) as bar:
        for channel, fmt in bar:
            data = posters.campaign_poster(cache, found, channel, public(), fmt).data
            suffix = "jpg" if fmt == "jpeg" else fmt
            name = f"{found.slug}-{channel.code if channel else 'all'}.{suffix}"
            (out / name).write_bytes(data)
    click.echo(_("已把 %(count)s 张海报写到 %(out)s/", count=len(jobs), out=out))
    warn_if_only_this_computer(posters=True)


@click.command("member-posters")
@click.argument("campaign", type=TEXT)
@click.option("--out", "out_path", help="Zip file to write (default: <campaign>-posters.zip).")
@click.option(
    "--format", "fmt", type=click.Choice(["jpeg", "png"]), default="jpeg", show_default=True
)
@fail_clearly
def member_posters(campaign, out_path, fmt):
    """Render every member's personal poster of CAMPAIGN into one zip file."""
    from miniapp_api.livecode.rules import SetupError, find_campaign
    from miniapp_api.models import Member
    from miniapp_api.posters import rules as posters
    from miniapp_api.referrals import rules as referrals

    found = find_campaign(campaign)
    if referrals.program_of(found.id) is None:
        raise SetupError(
            _("%(slug)s 还没有邀请计划：请先在控制台（推荐）里设置。", slug=found.slug)
        )
    members = list(Member.select().where(Member.campaign == found).order_by(Member.id))
    if not members:
        raise SetupError(_("%(slug)s 还没有会员：没有可生成的海报。", slug=found.slug))
    out = Path(out_path or f"{found.slug}-posters.zip")

    def progress(items):
        with click.progressbar(items, label=_("正在生成会员海报")) as bar:
            yield from bar

    count = posters.write_member_posters(found, members, out, fmt, public(), progress)
    click.echo(_("已把 %(count)s 张海报写到 %(out)s", count=count, out=out))
    warn_if_only_this_computer(posters=True)


# ---------------------------------------------------------------- people's rights


def _lookup_options(fn):
    for option in reversed(
        [
            click.option("--member", type=TEXT, help="The member code on their poster."),
            click.option("--customer", type=TEXT, help="The customer id from the import."),
            click.option("--phone", type=TEXT, help="Their mobile number (11 digits)."),
        ]
    ):
        fn = option(fn)
    return fn


def _find_person(member, customer, phone):
    """The person one of --member, --customer, --phone names (a PersonError otherwise)."""
    from miniapp_api.people import rules as people
    from miniapp_api.visitors import phone_hash

    given = [
        (by, value)
        for by, value in (("member", member), ("customer", customer), ("phone", phone))
        if value is not None
    ]
    if len(given) != 1:
        raise click.UsageError(
            _("请给出 --member、--customer、--phone 中的一个：按会员码、客户编号或手机号找人。")
        )
    key = setting("HASH_KEY")
    person = people.find(*given[0], lambda number: phone_hash(key, number))
    click.echo(
        _(
            "找到 person:%(reference)s：会员资格 %(members)s 个，客户记录 %(customers)s 条。",
            reference=person.reference,
            members=len(person.member_ids),
            customers=len(person.customer_ids),
        ),
        err=True,
    )
    return person


@click.group("person")
def person_group():
    """Answer a person's request: export what is held about them, or erase it."""


@person_group.command("export")
@_lookup_options
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (default: stdout).",
)
@fail_clearly
def person_export(member, customer, phone, out):
    """Everything held about one person, as JSON."""
    import json

    from miniapp_api.people import rules as people

    person = _find_person(member, customer, phone)
    data = people.export(person)
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    rows = sum(len(table) for table in data["tables"].values())
    if out is None:
        click.echo(text, nl=False)
    else:
        try:
            # Personal data: readable by this account alone.
            descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.fchmod(descriptor, 0o600)  # a file that was there keeps no wider mode
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(text)
        except OSError as error:
            raise click.ClickException(
                _(
                    "写不了 %(path)s（%(error)s）：换一个可写的位置。",
                    path=out,
                    error=error.strerror,
                )
            ) from None
    people.record(None, "person.export", person, rows=rows, via="cli")
    if out is not None:
        click.echo(_("已把 %(rows)s 行写到 %(path)s。", rows=rows, path=out))


@person_group.command("erase")
@_lookup_options
@click.option("--yes", is_flag=True, help="Erase for real; without it, show what would go.")
@fail_clearly
def person_erase(member, customer, phone, yes):
    """Erase one person: their own rows go, the counts others earned stay."""
    from miniapp_api.people import rules as people

    person = _find_person(member, customer, phone)
    plan = people.plan(person)
    for name, label in people.TABLE_LABELS.items():
        removed, kept = plan.removed.get(name, 0), plan.anonymised.get(name, 0)
        if removed:
            click.echo(
                ngettext(
                    "%(label)s：删除 %(num)s 行", "%(label)s：删除 %(num)s 行", removed, label=label
                )
            )
        if kept:
            click.echo(
                ngettext(
                    "%(label)s：%(num)s 行匿名保留（别人的计数不变）",
                    "%(label)s：%(num)s 行匿名保留（别人的计数不变）",
                    kept,
                    label=label,
                )
            )
    if not yes:
        raise click.ClickException(
            _("还没有删除任何东西：核对上面的清单，确认后加上 --yes 再运行一次。")
        )
    people.erase(
        person, None, poster_cache=setting("POSTER_CACHE_DIR"), public_url=public(), via="cli"
    )
    click.echo(_("已删除 person:%(reference)s 的数据。删除不可恢复。", reference=person.reference))


ALL = [
    import_customers_command,
    init_db,
    upgrade,
    backup_command,
    restore_backup,
    demo_command,
    create_campaign,
    add_channel,
    add_group,
    upload_qr,
    update_group,
    list_groups,
    stats,
    attention,
    send_alerts,
    roll_up,
    purge,
    archive,
    restore,
    delete,
    create_staff,
    serve,
    render_posters,
    member_posters,
    person_group,
]


# A plain click group: Flask's FlaskGroup builds the whole app just to list its commands.
# (Flask's own `run`, `shell` and `routes` stay at hand: `flask --app miniapp_api shell`.)
cli = click.Group("qunbook", commands=ALL, help="Qunbook: live codes, posters and the handbook.")
cli = click.version_option(package_name="qunbook")(cli)


def main():
    """Entry point of the `qunbook` console script."""
    cli.main(prog_name="qunbook")
