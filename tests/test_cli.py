"""The qunbook command line: set-up commands, and clear errors that store nothing."""

import io
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
import qrcode
from helpers import group_qr_png, make_campaign, make_channel, make_group, stored_group
from PIL import Image

from miniapp_api.db import db
from miniapp_api.livecode.groupqr import MAX_BYTES
from miniapp_api.migrations import LATEST, current_version
from miniapp_api.models import Campaign, Channel, Group, SchemaVersion


def test_init_db_is_idempotent(runner):
    first = runner.invoke(args=["init-db"])
    again = runner.invoke(args=["init-db"])
    assert first.exit_code == 0 and again.exit_code == 0
    assert f"→ {LATEST}" in again.output
    assert current_version() == LATEST


def test_init_db_on_a_newer_database_says_what_to_do_and_changes_nothing(runner):
    with db.connection_context():
        SchemaVersion.create(version=LATEST + 1)  # a newer release's step ran here
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 1
    assert "newer than this code" in result.output and "Traceback" not in result.output
    with db.connection_context():
        assert current_version() == LATEST + 1


@pytest.mark.parametrize("command", [["roll-up"], ["stats", "store"], ["list-groups", "store"]])
def test_a_command_on_a_database_at_another_schema_says_what_to_do(runner, command):
    """As every web request does (web/schema.py), a command waits for the schema it was
    written for: on an older one, roll-up met a missing table with a traceback."""
    with db.connection_context():
        make_campaign(slug="store")
        SchemaVersion.delete().where(SchemaVersion.version == LATEST).execute()
    older = runner.invoke(args=command)
    assert older.exit_code == 1 and "Traceback" not in older.output
    assert "run qunbook init-db first" in older.output
    with db.connection_context():
        SchemaVersion.insert_many([{"version": LATEST}, {"version": LATEST + 1}]).execute()
    newer = runner.invoke(args=command)
    assert newer.exit_code == 1 and "newer than this program" in newer.output
    with db.connection_context():
        SchemaVersion.delete().where(SchemaVersion.version == LATEST + 1).execute()
    assert runner.invoke(args=command).exit_code == 0


def test_set_up_a_campaign_from_the_command_line(runner, tmp_path):
    steps = [
        ["create-campaign", "store", "门店会员群", "--promise", "进群领券", "--contact", "陈店长"],
        ["add-channel", "store", "counter", "门店前台"],
        ["add-group", "store", "宝妈交流1群", "--cutoff", "150"],
    ]
    outputs = []
    for args in steps:
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    assert "https://qun.example.cn/j/store" in outputs[0]
    assert "https://qun.example.cn/j/store?c=counter" in outputs[1]
    assert "upload-qr store" in outputs[2]
    image = tmp_path / "qr.png"
    image.write_bytes(group_qr_png("https://weixin.qq.com/g/宝妈1群"))
    result = runner.invoke(
        args=["upload-qr", "store", "宝妈交流1群", str(image), "--generated", "2099-01-01"]
    )
    assert result.exit_code != 0 and "in the future" in result.output
    result = runner.invoke(args=["upload-qr", "store", "宝妈交流1群", str(image)])
    assert result.exit_code == 0, result.output
    assert "stops working at" in result.output

    campaign = Campaign.get(Campaign.slug == "store")
    assert (campaign.title, campaign.promise, campaign.staff_contact) == (
        "门店会员群",
        "进群领券",
        "陈店长",
    )
    assert [(c.code, c.label) for c in campaign.channels] == [("counter", "门店前台")]
    group = stored_group()
    assert (group.name, group.cutoff, group.qr_payload) == (
        "宝妈交流1群",
        150,
        "https://weixin.qq.com/g/宝妈1群",
    )

    listing = runner.invoke(args=["list-groups", "store"])
    assert listing.exit_code == 0
    assert "宝妈交流1群  0/150  QR expires" in listing.output


def test_list_groups_marks_expired_and_missing_qr(runner):
    campaign = make_campaign(slug="store")
    make_group(campaign, "旧群", qr_age=__import__("datetime").timedelta(days=9))
    make_group(campaign, "新群", qr_age=None)
    output = runner.invoke(args=["list-groups"]).output
    assert "ALL FULL" not in output
    assert "旧群  0/200  QR EXPIRED" in output
    assert "新群  0/200  no QR uploaded" in output


def _png_without_qr() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 300), "white").save(out, "PNG")
    return out.getvalue()


def _huge_png() -> bytes:
    image = qrcode.make("https://weixin.qq.com/g/x", box_size=10)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue() + b"\0" * (MAX_BYTES + 1)


def _svg() -> bytes:
    return b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"this is not an image at all", "not an image we can read"),
        (_svg(), "not an image we can read"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "not an image we can read"),
        (_png_without_qr(), "No QR code could be read"),
        (_huge_png(), "the limit is 2 MB"),
    ],
    ids=["empty", "text", "svg", "truncated-png", "no-qr", "oversize"],
)
def test_bad_qr_uploads_fail_clearly_and_store_nothing(runner, tmp_path, content, message):
    group = make_group(make_campaign(slug="store"), "宝妈群", qr_age=None)
    path = tmp_path / "upload.png"
    path.write_bytes(content)
    result = runner.invoke(args=["upload-qr", "store", str(group.id), str(path)])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    stored = Group.get_by_id(group.id)
    assert (stored.qr_image, stored.qr_digest, stored.qr_generated_at) == (None, None, None)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create-campaign", "门店", "标题"], "not usable in a link"),
        (["add-channel", "nope", "counter", "前台"], "No campaign 'nope'"),
        (["add-group", "store", "群", "--cutoff", "0"], "cut-off"),
        (["upload-qr", "store", "不存在的群", "qr.png"], "No group"),
        (["upload-qr", "store", "1", "/no/such/file.png"], "No file at"),
        (["upload-qr", "store", "1", "qr.png", "--generated", "昨天"], "Could not read"),
        (["list-groups", "nope"], "No campaign 'nope'"),
        (["upload-qr", "store", "²", "qr.png"], "No group '²'"),  # "²".isdigit() is true
        (["upload-qr", "store", "9" * 300, "qr.png"], "No group"),  # beyond SQLite's integers
        (["add-group", "store", "群", "--cutoff", "٣"], "is not a whole number"),
    ],
)
def test_bad_command_input_gets_a_message_and_nonzero_exit(runner, tmp_path, args, message):
    make_group(make_campaign(slug="store"), qr_age=None)
    (tmp_path / "qr.png").write_bytes(group_qr_png())
    args = [str(tmp_path / a) if a == "qr.png" else a for a in args]
    result = runner.invoke(args=args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert Group.get().qr_image is None


def test_demo_loads_once_and_reset_restores_it(runner):
    assert runner.invoke(args=["demo"]).exit_code == 0
    runner.invoke(args=["demo"])
    campaign = Campaign.get(Campaign.slug == "demo")
    assert campaign.channels.count() == 3 and campaign.groups.count() == 3
    Channel.delete().where(Channel.code == "live").execute()
    assert runner.invoke(args=["demo", "--reset"]).exit_code == 0
    assert Campaign.get(Campaign.slug == "demo").channels.count() == 3
    assert sorted(c.slug for c in Campaign.select()) == [
        "demo", "demo-challenge", "demo-fission", "demo-meetup", "demo-vip"
    ]  # fmt: skip
    fission_demo = Campaign.get(Campaign.slug == "demo-fission")
    assert fission_demo.members.count() == 6  # the same members again, not twice as many


def test_update_group_corrects_count_and_reopens_a_full_campaign(runner, client):
    campaign = make_campaign(slug="store")
    make_group(campaign, "宝妈群", cutoff=2, sent=2)
    client.get("/j/store", headers={"User-Agent": "Mozilla/5.0 (iPhone) Mobile"})
    assert "ALL FULL since" in runner.invoke(args=["list-groups"]).output
    result = runner.invoke(
        args=["update-group", "store", "宝妈群", "--count", "1", "--cutoff", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "1/3, on" in result.output
    group = stored_group()
    assert (group.sent, group.cutoff) == (1, 3)
    assert Campaign.get_by_id(campaign.id).all_full_since is None
    assert "ALL FULL" not in runner.invoke(args=["list-groups"]).output
    assert runner.invoke(args=["update-group", "store", str(group.id), "--inactive"]).exit_code == 0
    assert Group.get().active is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--count", "-1"], "cannot be negative"),
        (["--cutoff", "0"], "cut-off"),
        ([], "Nothing to change"),
        (["--count", "很多"], "is not a whole number"),
        (["--count", "٣"], "is not a whole number"),  # int() reads it as 3
        (["--count", "1_000"], "is not a whole number"),  # int() reads it as 1000
        (["--cutoff", "²"], "is not a whole number"),
        (["--cutoff", "9" * 300], "is not a whole number"),
        (["--position", "1e9"], "is not a whole number"),
        (["--count", str(2**63)], "is not a whole number"),  # past every 64-bit column
        (["--count", "7\x00"], "is not a whole number"),
        (["--count", "😀"], "is not a whole number"),
    ],
)
def test_update_group_refuses_bad_values_and_changes_nothing(runner, args, message):
    make_group(make_campaign(slug="store"), "宝妈群", sent=5)
    result = runner.invoke(args=["update-group", "store", "宝妈群", *args])
    assert result.exit_code != 0
    assert message in result.output
    group = stored_group()
    assert (group.sent, group.cutoff, group.active) == (5, 200, True)


def test_stats_counts_people_per_channel_apart_from_bots(runner, client):
    campaign = make_campaign(slug="store")
    make_channel(campaign, "counter", "门店前台")
    make_channel(campaign, "live", "直播间")
    make_group(campaign, cutoff=2)
    phone = {"User-Agent": "Mozilla/5.0 (iPhone) Mobile"}
    for _ in range(3):  # three people at the counter: two fit, one finds the group full
        client.get("/j/store?c=counter", headers=phone, follow_redirects=True)
        client.delete_cookie("qb_v")
    client.get("/j/store?c=live", headers={"User-Agent": "facebookexternalhit/1.1"})
    client.get("/j/store", headers=phone, follow_redirects=True)
    output = runner.invoke(args=["stats", "store"]).output
    lines = {line.split()[0]: line.split()[-4:] for line in output.splitlines()[2:5]}
    assert lines["counter"] == ["3", "2", "1", "0"]
    assert lines["live"] == ["0", "0", "0", "1"]
    # The command line speaks English here (the suite's locale); the label has a space in it.
    no_channel = next(line for line in output.splitlines() if "(no channel)" in line)
    assert no_channel.split()[-4:] == ["1", "0", "1", "0"]
    # The figures line up under their headings, Chinese labels and all (two columns each).
    table = output.splitlines()[1:5]
    ends = {tuple(m.end() for m in re.finditer(r"\S+", shown(line)))[-4:] for line in table}
    assert len(ends) == 1, table


def shown(line: str) -> str:
    """The line as a terminal shows it: each wide (Chinese) character two columns."""
    return "".join(c + " " if unicodedata.east_asian_width(c) in "WF" else c for c in line)


def test_create_staff_from_the_command_line(runner):
    result = runner.invoke(
        args=["create-staff", "Chen", "--role", "admin", "--name", "陈店长"],
        input="一个足够长的密码-2026\n一个足够长的密码-2026\n",
    )
    assert result.exit_code == 0, result.output
    from miniapp_api.models import Staff

    staff = Staff.get()
    assert (staff.username, staff.role, staff.display_name) == ("chen", "admin", "陈店长")
    assert staff.password_hash.startswith("$argon2id$")
    assert "一个足够长的密码" not in staff.password_hash


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["ab"], "一个足够长的密码-2026", "not usable"),
        (["chen"], "short", "at least 10 characters"),
        (["chen", "--role", "boss"], "一个足够长的密码-2026", "Invalid value for '--role'"),
    ],
)
def test_create_staff_refuses_bad_input(runner, args, password, message):
    result = runner.invoke(args=["create-staff", *args], input=f"{password}\n{password}\n")
    assert result.exit_code != 0
    assert message in result.output
    from miniapp_api.models import Staff

    assert Staff.select().count() == 0


def run_python(code, *args, cwd, **env):
    """Python in a fresh process on this checkout, without the caller's QUNBOOK_* settings."""
    root = str(Path(__file__).resolve().parent.parent)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("QUNBOOK_")}
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env={**clean, "PYTHONPATH": path, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_help_imports_neither_flask_nor_the_rules_and_writes_nothing(tmp_path):
    """`qunbook --help` took 0.6 s when it built the app first (and wrote instance/ then)."""
    from miniapp_api.cli import ALL

    names = [command.name for command in ALL]
    result = run_python(
        "import sys; from miniapp_api.cli import cli\n"
        f"for args in [['--help'], *[[name, '--help'] for name in {names!r}]]:\n"
        "    cli.main(args, prog_name='qunbook', standalone_mode=False)\n"
        "heavy = {'flask', 'peewee', 'PIL', 'qrcode', 'zxingcpp', 'argon2', 'markdown'}\n"
        "print('loaded:', *sorted(heavy & set(sys.modules)))",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "upload-qr" in result.stdout and "--role [admin|operator|trainer]" in result.stdout
    assert result.stdout.splitlines()[-1] == "loaded:"
    assert list(tmp_path.iterdir()) == []


def test_a_missing_setting_is_a_message_not_a_traceback(tmp_path):
    result = run_python(
        "from miniapp_api.cli import main; main()",
        "init-db",
        cwd=tmp_path,
        QUNBOOK_DATABASE_URL="postgresql://postgres@127.0.0.1:5432/test",
    )
    assert result.returncode == 1
    assert "QUNBOOK_SECRET_KEY and QUNBOOK_HASH_KEY must be set" in result.stderr
    assert "Traceback" not in result.stderr
