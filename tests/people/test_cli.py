"""`qunbook person export|erase`: a person found by member code, customer id or phone; the
export as JSON, the erase only with --yes; an audit entry by non-personal reference; bad input
gets a message and a non-zero exit, never a traceback."""

import json
import stat

import pytest
from helpers import Family, database_dump

from miniapp_api.models import AuditEntry, Customer, Member


def test_export_to_stdout_and_to_a_file_with_an_audit_entry(app, runner, tmp_path):
    family = Family()
    done = runner.invoke(args=["person", "export", "--member", family.b.code])
    assert done.exit_code == 0, done.output
    exported = json.loads(done.stdout)
    assert [m["nickname"] for m in exported["tables"]["member"]] == ["小李子"]
    assert [c["name"] for c in exported["tables"]["customer"]] == ["李雷雷"]

    out = tmp_path / "导出" / "李.json"
    out.parent.mkdir()
    done = runner.invoke(args=["person", "export", "--phone", Family.PHONE, "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert f"to {out}" in done.output
    assert json.loads(out.read_text(encoding="utf-8"))["tables"] == exported["tables"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # personal data: this account alone

    entries = list(AuditEntry.select().where(AuditEntry.action == "person.export"))
    reference = f"person:m{family.b.id}.c{family.customer.id}"
    assert [(e.staff_id, e.target) for e in entries] == [(None, reference)] * 2
    for entry in entries:  # who, when, which person: never the phone, name or code
        text = entry.target + entry.detail
        assert not any(v in text for v in [*family.b_values(), "13912345678", family.PHONE])
    assert json.loads(entries[0].detail)["via"] == "cli"


def test_erase_without_yes_shows_what_would_go_and_changes_nothing(app, runner):
    family = Family()
    before = database_dump()
    shown = runner.invoke(args=["person", "erase", "--customer", "VIP-0042"])
    assert shown.exit_code == 1
    assert "Memberships: 1 row erased" in shown.output
    assert "Referrals: 2 rows kept anonymously" in shown.output
    assert "--yes" in shown.output
    assert database_dump() == before
    assert Member.get_by_id(family.b.id)


def test_erase_with_yes_by_a_phone_typed_on_a_chinese_keyboard(app, runner):
    family = Family()
    before = family.others()
    done = runner.invoke(args=["person", "erase", "--phone", "１３９－１２３４－５６７８", "--yes"])
    assert done.exit_code == 0, done.output
    assert "Erased the data of person:" in done.output
    assert Member.get_or_none(Member.id == family.b.id) is None
    assert not Customer.select().exists()
    assert family.others() == before
    entry = AuditEntry.get(AuditEntry.action == "person.erase")
    assert entry.target == f"person:m{family.b.id}.c{family.customer.id}"
    assert json.loads(entry.detail)["removed"]["member"] == 1
    # Again: nobody left to erase, and it says so.
    again = runner.invoke(args=["person", "erase", "--phone", Family.PHONE, "--yes"])
    assert again.exit_code == 1
    assert "Nobody found" in again.output
    assert AuditEntry.select().where(AuditEntry.action == "person.erase").count() == 1


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["export"], 2, "Give one of --member, --customer, --phone"),
        (["export", "--member", "abcdefgh", "--phone", "13800138000"], 2, "Give one of"),
        (["export", "--member", "小李子"], 1, "8-character referral code"),
        (["export", "--phone", "一三九"], 1, "11-digit mainland China mobile number"),
        (["erase", "--customer", "客户 一", "--yes"], 1, "as in the imported sheet"),
        (["export", "--member", "zzzzzzzz"], 1, "Nobody found"),
        (["erase", "--phone", "13800000000", "--yes"], 1, "Nobody found"),
    ],
)
def test_bad_input_gets_a_message_and_a_non_zero_exit(app, runner, args, code, message):
    Family()
    done = runner.invoke(args=["person", *args])
    assert done.exit_code == code, done.output
    assert message in done.output
    assert isinstance(done.exception, SystemExit)  # a message, not a traceback


def test_an_unwritable_out_file_is_a_message(app, runner, tmp_path):
    family = Family()
    out = tmp_path / "没有这个文件夹" / "x.json"
    done = runner.invoke(args=["person", "export", "--member", family.b.code, "--out", str(out)])
    assert done.exit_code == 1
    assert "Cannot write" in done.output
    assert not AuditEntry.select().where(AuditEntry.action == "person.export").exists()


def test_the_command_line_speaks_chinese_under_a_chinese_locale(app, runner, monkeypatch):
    family = Family()
    monkeypatch.setenv("LANGUAGE", "zh_CN.UTF-8")
    shown = runner.invoke(args=["person", "erase", "--member", family.b.code])
    assert shown.exit_code == 1
    assert "会员资格：删除 1 行" in shown.output
    assert "加上 --yes 再运行一次" in shown.output
