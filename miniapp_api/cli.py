"""The `qunbook` command line: every command in one place, behind one error handler.

Set up campaigns, channels and groups; render posters; import customers; create staff; run the
kit. A command runs in the app's context with a database connection, and the domain's errors
(a missing campaign, an unreadable QR, a bad password ...) become a message and exit code 1,
never a traceback.

`qunbook --help` must answer at once, so this module imports only click at the top: a command
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

from miniapp_api.accounts.roles import ROLES
from miniapp_api.localtime import to_local, to_utc
from miniapp_api.numbers import MAX_INT, whole_number
from miniapp_api.text import normal, unwanted_character


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
            self.fail(
                f"{value!r} is not a whole number from {self.low} to {self.high}.", param, ctx
            )
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
            self.fail(
                f"{value!r} holds a control character ({char}): type it again without it.",
                param,
                ctx,
            )
        return normal(value)


TEXT = Text()


def in_app_context(fn):
    """Runs the command in the app's context, as flask.cli.with_appcontext does, but imports
    Flask and builds the app only now. A test's runner (or `flask --app miniapp_api`) hands
    over its app; `qunbook` builds one, and a missing setting becomes a message."""

    @click.pass_context
    @functools.wraps(fn)
    def wrapper(ctx, /, *args, **kwargs):
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

    return wrapper


def fail_clearly(fn):
    """Runs in the app's context with a database connection; set-up errors become a message
    and exit code 1, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from miniapp_api.db import db
        from miniapp_api.i18n import locale_from_environment, speaking

        try:
            # The rules' messages are made in the command line's language (its locale).
            with db.connection_context(), speaking(locale_from_environment(os.environ)):
                return fn(*args, **kwargs)
        except set_up_errors() as error:
            raise click.ClickException(str(error)) from None

    return in_app_context(wrapper)


def set_up_errors() -> tuple[type[Exception], ...]:
    """The domain's errors whose message tells the user what to do (imported on a failure)."""
    from miniapp_api.accounts.rules import StaffError
    from miniapp_api.invitations.customers import CustomerFileError
    from miniapp_api.livecode.groupqr import InvalidGroupQr
    from miniapp_api.livecode.rules import SetupError
    from miniapp_api.migrations import SchemaMismatch
    from miniapp_api.referrals.rules import ReferralError

    return (
        SetupError,
        InvalidGroupQr,
        StaffError,
        CustomerFileError,
        ReferralError,
        SchemaMismatch,
    )


@click.command("init-db")
@fail_clearly
def init_db():
    """Create the schema, or bring an existing database up to date."""
    from miniapp_api.migrations import migrate

    before, after = migrate()
    click.echo(f"Database ready (schema version {before} → {after}).")


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
        where = (
            "from any address (QUNBOOK_DEMO_TRAINER_ANYWHERE is set)"
            if current_app.config["DEMO_TRAINER_ANYWHERE"]
            else "on this machine only; set QUNBOOK_DEMO_TRAINER_ANYWHERE=1 for students' phones"
        )
        click.echo(f"Read-only trainer login: {DEMO_TRAINER} / {password}  ({where})")
        click.echo(f"Console: {public()}/console/login")


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
    click.echo(f"Created campaign {campaign.slug}: {livecode.join_url(public(), campaign.slug)}")


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
    click.echo(f"Added channel {channel.code}: {livecode.join_url(public(), campaign, code)}")


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
    click.echo(f"Added group #{group.id} {group.name} (cut-off {group.cutoff}).")
    click.echo(f"Next: qunbook upload-qr {campaign} {group.id} path/to/qr.png")


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
        raise SetupError(f"No file at {image}: give the path of the group's QR image.")
    stored, payload, digest = check_group_qr(image.read_bytes())
    generated_at = parse_local_time(generated) if generated else utcnow()
    livecode.set_group_qr(target, stored, digest, payload, generated_at)
    expires = local(generated_at + livecode.QR_LIFETIME)
    click.echo(f"Stored the QR of {target.name}; it stops working at {expires:%Y-%m-%d %H:%M}.")


@click.command("list-groups")
@click.argument("campaign", required=False, type=TEXT)
@fail_clearly
def list_groups(campaign):
    """List groups with their counts and QR expiry (all campaigns, or one)."""
    from miniapp_api.livecode.rules import find_campaign, qr_expires_at
    from miniapp_api.models import Campaign, Group, utcnow

    campaigns = [find_campaign(campaign)] if campaign else Campaign.select().order_by(Campaign.slug)
    now = utcnow()
    for found in campaigns:
        click.echo(f"{found.slug}  {found.title}")
        if found.all_full_since:
            click.echo(
                f"    ALL FULL since {local(found.all_full_since):%m-%d %H:%M}: members see the "
                "all-full page. Add a group or upload a fresh QR."
            )
        groups = found.groups.order_by(Group.position, Group.id)
        if not groups.count():
            click.echo("    (no groups: add one with qunbook add-group)")
        for g in groups:
            expires = qr_expires_at(g)
            if expires is None:
                state = "no QR uploaded"
            elif expires <= now:
                state = f"QR EXPIRED {local(expires):%m-%d %H:%M}"
            else:
                state = f"QR expires {local(expires):%m-%d %H:%M}"
            status = "" if g.active else "  [inactive]"
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
    state = "on" if updated.active else "off"
    click.echo(f"#{updated.id} {updated.name}: {updated.sent}/{updated.cutoff}, {state}.")


@click.command("stats")
@click.argument("campaign", type=TEXT)
@fail_clearly
def stats(campaign):
    """Scans and people sent per channel, and people sent per group."""
    from miniapp_api.console.stats import channel_stats
    from miniapp_api.livecode.rules import find_campaign
    from miniapp_api.models import Group

    found = find_campaign(campaign)
    click.echo(f"{found.slug}  {found.title}")
    click.echo(f"  {'channel':<20} {'scans':>7} {'sent':>7} {'full':>7} {'bots':>7}")
    for row in channel_stats(found):
        name = pad(f"{row['code']} {row['label']}".strip(), 20)
        click.echo(f"  {name} {row['scans']:>7} {row['sent']:>7} {row['full']:>7} {row['bots']:>7}")
    click.echo("  scans: people's visits; sent: counted into a group (once a day each);")
    click.echo("  full: found every group full; bots: bots and link previews, never counted.")
    for g in found.groups.order_by(Group.position, Group.id):
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
    click.echo("Nothing needs attention.")


@click.command("send-alerts")
@fail_clearly
def send_alerts():
    """Send due alerts to the campaigns' webhooks, each cause once (for cron, every minute)."""
    from miniapp_api.console.alerts import send_due_alerts
    from miniapp_api.models import utcnow

    counts = send_due_alerts(
        utcnow(), default_webhook=setting("ALERT_WEBHOOK") or "", tz=setting("TIMEZONE")
    )
    click.echo(f"Alerts sent: {counts['sent']}, failed (tried again later): {counts['failed']}.")
    if counts["failed"]:
        raise SystemExit(1)


def _lifecycle_target(campaign: str, channel: str | None):
    """The campaign, and the channel when --channel names one (a SetupError otherwise)."""
    from miniapp_api.livecode.rules import SetupError, find_campaign
    from miniapp_api.models import Channel

    found = find_campaign(campaign)
    if channel is None:
        return found, None
    row = Channel.get_or_none((Channel.campaign == found) & (Channel.code == channel))
    if row is None:
        raise SetupError(f"No channel {channel!r} in {campaign!r}: see the campaign's page.")
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
        done = f"Archived {campaign}: its pages now say it is over; `qunbook restore` undoes it."
    else:
        changed = lifecycle.archive_channel(row.id)
        done = f"Archived channel {channel}: its poster still leads to {campaign}."
    if not changed:
        click.echo("Archived already: nothing changed.")
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
        click.echo("Not archived: nothing changed.")
        return
    audit(
        None,
        f"{'channel' if row else 'campaign'}.restore",
        f"campaign:{campaign}",
        **({"code": channel} if row else {}),
        via="cli",
    )
    click.echo(f"Restored {channel or campaign}.")


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
    click.echo(f"Deleted {channel or campaign}.")


@click.command("create-staff")
@click.argument("username", type=TEXT)
@click.option("--role", type=click.Choice(ROLES), default="operator", show_default=True)
@click.option(
    "--name", "display_name", default="", type=TEXT, help="Shown in the console, e.g. 陈店长."
)
@click.password_option(help="Asked for when not given (at least 10 characters).")
@fail_clearly
def create_staff(username, role, display_name, password):
    """Create a staff account: admin, operator, or trainer (sees, never changes)."""
    from miniapp_api.accounts import rules as accounts

    staff = accounts.create_staff(username, password, role, display_name)
    accounts.audit(None, "staff.create", f"staff:{staff.username}", role=role, by="cli")
    click.echo(f"Created {staff.role} {staff.username}: log in at {public()}/console/login")


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

        def load(self):
            return app

    click.echo(f"Qunbook: handbook at http://{host}:{port}/handbook/ · demo at /j/demo?c=counter")
    click.echo(f"QR codes and links point at {public()}")
    warn_if_only_this_computer("QR codes printed now")
    Server().run()


def setting(name: str):
    from flask import current_app

    return current_app.config[name]


def public() -> str:
    return setting("PUBLIC_URL")


def warn_if_only_this_computer(what: str):
    """Loudly, on stderr: a printed poster that leads nowhere is the worst failure."""
    from miniapp_api.config import only_this_computer

    if only_this_computer(public()):
        click.echo(
            f"WARNING: {what} point at {public()}, which only this computer opens: a phone "
            "that scans them gets nothing. Set QUNBOOK_PUBLIC_URL to the address phones reach "
            "(e.g. https://qun.example.cn) and render the posters again.",
            err=True,
        )


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
        raise SetupError(f"No group {ref!r} in {campaign.slug}: see `qunbook list-groups`.")
    return group


def parse_local_time(text: str) -> datetime:
    from miniapp_api.livecode.rules import SetupError

    for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            moment = datetime.strptime(text.strip(), pattern)
        except ValueError:
            continue
        return to_utc(moment, setting("TIMEZONE"))
    raise SetupError(f"Could not read {text!r} as a time: write 2026-11-20 or '2026-11-20 14:30'.")


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
            f"No file at {sheet_file}: give the path of the saved .xlsx or exported CSV."
        )
    data = sheet_file.read_bytes()
    key = setting("HASH_KEY")
    length = customers.rows_in(data)
    with click.progressbar(length=length, label="Importing customers") as bar:
        report = customers.import_customers(
            data, lambda phone: phone_hash(key, phone), progress=bar.update
        )
        # The row count was an estimate (a header line, a last line without a line break):
        # a finished import shows a full bar, not one stuck at 99 %.
        bar.update(max(bar.length - bar.pos, 0))
    click.echo(
        f"{report.rows} rows: {report.created} new, {report.updated} updated, "
        f"{report.unchanged} unchanged, {len(report.errors)} refused."
    )
    for number, reason in report.errors:
        click.echo(f"  row {number}: {reason}")
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
    with click.progressbar(jobs, label="Rendering posters") as bar:
        for channel, fmt in bar:
            data = posters.campaign_poster(cache, found, channel, public(), fmt)
            suffix = "jpg" if fmt == "jpeg" else fmt
            name = f"{found.slug}-{channel.code if channel else 'all'}.{suffix}"
            (out / name).write_bytes(data)
    click.echo(f"Wrote {len(jobs)} posters to {out}/")
    warn_if_only_this_computer("these posters' QR codes")


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
            f"{found.slug} has no referral programme: set one up in the console (推荐) first."
        )
    members = list(Member.select().where(Member.campaign == found).order_by(Member.id))
    if not members:
        raise SetupError(f"{found.slug} has no members yet: nothing to render.")
    out = Path(out_path or f"{found.slug}-posters.zip")

    def progress(items):
        with click.progressbar(items, label="Rendering member posters") as bar:
            yield from bar

    count = posters.write_member_posters(found, members, out, fmt, public(), progress)
    click.echo(f"Wrote {count} posters to {out}")
    warn_if_only_this_computer("these posters' QR codes")


ALL = [
    import_customers_command,
    init_db,
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
    archive,
    restore,
    delete,
    create_staff,
    serve,
    render_posters,
    member_posters,
]


# A plain click group: Flask's FlaskGroup builds the whole app just to list its commands.
# (Flask's own `run`, `shell` and `routes` stay at hand: `flask --app miniapp_api shell`.)
cli = click.Group("qunbook", commands=ALL, help="Qunbook: live codes, posters and the handbook.")
cli = click.version_option(package_name="qunbook")(cli)


def main():
    """Entry point of the `qunbook` console script."""
    cli.main(prog_name="qunbook")
