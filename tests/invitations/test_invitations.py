"""VIP invitations: customer import (bad rows reported row by row), selection by rule,
personal links, answers by POST only, tracking, and one page for every dead link."""

import csv
import io
import re
import secrets
from datetime import date, datetime, timedelta

import pytest
from helpers import make_campaign, make_group, stored_groups

from miniapp_api.accounts.rules import issue_api_token
from miniapp_api.invitations import customers
from miniapp_api.invitations import rules as invitations
from miniapp_api.models import (
    AuditEntry,
    Campaign,
    Customer,
    Invitation,
    Staff,
    Visit,
    utcnow,
)
from miniapp_api.visitors import classify_agent, phone_hash

HEADER = "客户编号,姓名,地区,累计消费,最近活跃,手机"
GOOD = [
    "V001,王丽,杭州,12800.50,2026-11-01,13800138000",
    "V002,陈静,上海,5200,2026/10/20,",
    "V003,李娜,杭州,800,,",
]
# (row text, what the report must say about it): 24 kinds of bad rows.
BAD = [
    (",无编号,杭州,100,2026-11-01,", "客户编号是空的"),
    ("V 01,空格编号,杭州,100,2026-11-01,", "只能用字母"),
    ("V010,,杭州,100,2026-11-01,", "姓名是空的"),
    ("V011," + "长" * 41 + ",杭州,100,2026-11-01,", "超过 40 个字"),
    ("V012,没地区,,100,2026-11-01,", "地区是空的"),
    ("V013,没金额,杭州,,2026-11-01,", "累计消费是空的"),
    ("V014,负金额,杭州,-50,2026-11-01,", "是负数"),
    ("V015,文字金额,杭州,很多,2026-11-01,", "不是金额"),
    ("V016,三位小数,杭州,10.005,2026-11-01,", "两位小数"),
    ("V017,天价,杭州,99999999999,2026-11-01,", "大得不真实"),
    ("V018,未来日期,杭州,100,2099-01-01,", "在未来"),
    ("V019,坏日期,杭州,100,2026-13-45,", "不是日期"),
    ("V020,太早,杭州,100,1899-01-01,", "太早了"),
    ("V021,坏手机,杭州,100,2026-11-01,12345", "不是 11 位"),
    ('V022,"=HYPERLINK(""http://x"",""点我"")",杭州,100,2026-11-01,', "像表格公式"),
    ("V023,+1+1,杭州,100,2026-11-01,", "像表格公式"),
    ("V024,@SUM(A1),杭州,100,2026-11-01,", "像表格公式"),
    ("V025,王五,＝1+1,100,2026-11-01,", "像表格公式"),
    ("V026,公式金额,杭州,=1+1,2026-11-01,", "像表格公式"),
    ("V027,少一列,杭州,100", "有 4 列"),
    ("V028,多一列,杭州,100,2026-11-01,,多余", "有 7 列"),
    ("V001,重复编号,杭州,100,2026-11-01,", "和第 2 行重复"),
    ("V029,NaN金额,杭州,NaN,2026-11-01,", "不是金额"),
    ("V030,无穷金额,杭州,Infinity,2026-11-01,", "不是金额"),
    ("V031,指数金额,杭州,1e3,2026-11-01,", "不是金额"),  # Decimal() reads it as 1000
    ("V032,阿拉伯数字,杭州,٣٠٠,2026-11-01,", "不是金额"),  # Decimal() reads it as 300
    ("V033,科学计数,杭州,1E26,2026-11-01,", "科学计数法"),  # how Excel writes a huge number
    ("V034,超大指数,杭州,1e400,2026-11-01,", "科学计数法"),
    ("V035,无穷小写,杭州,inf,2026-11-01,", "不是金额"),
    ("V036,非数小写,杭州,nan,2026-11-01,", "不是金额"),
    # 29 digits, past Decimal's precision: a 500 that lost the whole file before.
    ("V037,二十九位,杭州," + "9" * 29 + ",2026-11-01,", "大得不真实"),
    ("V038,负小数,杭州,-0.01,2026-11-01,", "是负数"),
    ("V039,公式手机,杭州,100,2026-11-01,=1+1", "不是 11 位"),
]


def csv_bytes(rows, encoding="utf-8-sig", header=HEADER) -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode(encoding)


def hash_phone(phone):
    # The app's keyed hash: a fake that kept the number in clear would put it in the database.
    return phone_hash("test-hash-key", phone)


def load(rows=GOOD, **kw):
    return customers.import_customers(csv_bytes(rows, **kw), hash_phone)


# ---------------------------------------------------------------- import


def test_bad_rows_are_reported_one_by_one_and_good_rows_still_import(app):
    rows = [*GOOD, *(row for row, _ in BAD)]
    report = load(rows)
    assert (report.rows, report.created) == (len(rows), 3)
    assert len(report.errors) == len(BAD) >= 20
    for (number, reason), (_, expected) in zip(report.errors, BAD, strict=True):
        assert expected in reason, (number, reason)
    assert [n for n, _ in report.errors] == list(range(5, 5 + len(BAD)))  # spreadsheet rows
    stored = {c.external_id: c for c in Customer.select()}
    assert set(stored) == {"V001", "V002", "V003"}
    assert stored["V001"].purchase_total == 1_280_050 and stored["V001"].name == "王丽"
    assert stored["V001"].phone_hash == hash_phone("13800138000")
    assert stored["V002"].last_active.isoformat() == "2026-10-20"


def test_importing_the_same_file_again_adds_nothing(app):
    rows = [*GOOD, *(row for row, _ in BAD)]
    load(rows)
    again = load(rows)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert Customer.select().count() == 3
    changed = load(["V002,陈静,苏州,6000,2026-11-02,"])
    assert (changed.created, changed.updated) == (0, 1)
    assert Customer.get(Customer.external_id == "V002").region == "苏州"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_utf8_with_or_without_bom_and_gbk_are_read(app, encoding):
    report = load(encoding=encoding)
    assert (report.created, report.errors) == (3, [])
    assert Customer.get(Customer.external_id == "V002").name == "陈静"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "空的"),
        ("客户编号,姓名\r\nV1,王".encode(), "缺少这些列"),
        (b"\xff\xfe\x00\x00garbage\x00", "编码看不懂"),
        (HEADER.encode("utf-16"), "编码看不懂"),
    ],
)
def test_unreadable_files_are_refused_whole_with_what_to_do(app, data, message):
    with pytest.raises(customers.CustomerFileError, match=message):
        customers.import_customers(data, hash_phone)
    assert Customer.select().count() == 0


def test_cli_import_reports_rows_and_exits_1_when_some_were_refused(app, runner, tmp_path):
    path = tmp_path / "客户.csv"
    path.write_bytes(csv_bytes([*GOOD, BAD[3][0]], encoding="gbk"))
    result = runner.invoke(args=["import-customers", str(path)])
    assert result.exit_code == 1
    # The command line speaks its locale's language (English in the tests' C locale).
    assert "4 rows: 3 new" in result.output
    assert "row 5: Name is longer than 40 characters" in result.output
    assert "Traceback" not in result.output
    assert runner.invoke(args=["import-customers", str(tmp_path / "nope.csv")]).exit_code != 0


def test_cli_import_ends_with_a_full_progress_bar(app, runner, tmp_path, monkeypatch):
    import click

    bars = []
    real = click.progressbar

    def watched(*args, **kw):
        bars.append(real(*args, **kw))
        return bars[-1]

    monkeypatch.setattr(click, "progressbar", watched)
    path = tmp_path / "客户.csv"
    path.write_bytes(csv_bytes(GOOD))  # a header line, then the rows
    assert runner.invoke(args=["import-customers", str(path)]).exit_code == 0
    [bar] = bars
    assert bar.pos == bar.length  # 100 %, not stuck one row short


# ---------------------------------------------------------------- selection and invitations


def seed_vip(valid_days=14):
    campaign = make_campaign(slug="vip", title="VIP 周末专享")
    make_group(campaign, "VIP 1群")
    invitations.set_up_program(
        campaign, rights="- 专享 8 折\n- 免费包邮", offer_url="https://shop.example.cn/vip",
        offer_label="进专属商城", valid_days=valid_days,
    )  # fmt: skip
    load(
        [
            "A1,王丽,杭州,12800,2026-11-01,",
            "A2,陈静,上海,5200,2026-10-20,",
            "A3,李娜,杭州,800,2026-11-10,",
            "A4,赵敏,宁波,30000,2025-01-01,",
        ]
    )
    return campaign


def test_rules_preview_then_invite_once(app):
    campaign = seed_vip()
    today = date(2026, 11, 20)
    rule = invitations.Selection(
        min_purchase_fen=100_000, active_within_days=60, regions_out=("上海",)
    )
    assert invitations.preview(campaign.id, rule, today) == {"selected": 1, "new": 1}
    assert Invitation.select().count() == 0  # a preview creates nothing
    assert invitations.invite(campaign.id, rule, today) == 1
    assert invitations.invite(campaign.id, rule, today) == 0
    everyone = invitations.Selection()
    assert invitations.preview(campaign.id, everyone, today) == {"selected": 4, "new": 3}
    assert invitations.invite(campaign.id, everyone, today) == 3
    tokens = [i.token for i in Invitation.select()]
    assert len(set(tokens)) == 4 and all(len(t) >= 32 for t in tokens)  # 192 bits each


def invitation_of(name):
    return Invitation.select().join(Customer).where(Customer.name == name).get()


def test_open_accept_and_reopen_show_the_settled_state(app, client):
    campaign = seed_vip()
    invitations.invite(campaign.id, invitations.Selection(), utcnow().date())
    invitation = invitation_of("王丽")
    page = client.get(
        f"/vip/{invitation.token}", headers={"User-Agent": "Mozilla/5.0 (iPhone) Mobile"}
    )
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "王丽，您好" in text and "专享 8 折" in text
    assert Invitation.get_by_id(invitation.id).status == "opened"
    token = re.search(r'name="csrf_token" value="([^"]+)"', text)[1]
    answer = client.post(
        f"/vip/{invitation.token}/answer", data={"csrf_token": token, "decision": "accept"}
    )
    assert answer.status_code == 303
    stored = Invitation.get_by_id(invitation.id)
    assert stored.status == "accepted" and stored.accepted_at
    again = client.get(f"/vip/{invitation.token}").get_data(as_text=True)
    assert (
        'data-state="accepted"' in again and "VIP 1群" in again and "shop.example.cn/vip" in again
    )
    # A later "decline" (another tab) changes nothing.
    client.post(
        f"/vip/{invitation.token}/answer", data={"csrf_token": token, "decision": "decline"}
    )
    assert Invitation.get_by_id(invitation.id).status == "accepted"


def test_reloading_an_accepted_invitation_without_a_cookie_adds_nobody(app):
    campaign = seed_vip()
    invitations.invite(campaign.id, invitations.Selection(), utcnow().date())
    invitation = invitation_of("王丽")
    invitations.answer(invitation, True, utcnow())
    phone = {"User-Agent": "Mozilla/5.0 (iPhone) MicroMessenger/8.0.50"}
    for _ in range(50):
        # A new browser each time (a cleared cookie), following the cookie check as one does.
        page = app.test_client().get(
            f"/vip/{invitation.token}", headers=phone, follow_redirects=True
        )
        assert "VIP 1群" in page.get_data(as_text=True)
    assert [g.sent for g in stored_groups()] == [1]
    counted = Visit.select().where(Visit.counted_day.is_null(False))
    assert [v.visitor for v in counted] == [invitations.visit_key(invitation)]


def test_link_previews_and_bots_never_mark_an_invitation_opened(app, client):
    campaign = seed_vip()
    invitations.invite(campaign.id, invitations.Selection(), utcnow().date())
    invitation = invitation_of("陈静")
    for agent in ("WhatsApp/2.23", "Mozilla/5.0 (compatible; Googlebot/2.1)", "", "curl/8.0"):
        assert (
            client.get(f"/vip/{invitation.token}", headers={"User-Agent": agent}).status_code == 200
        )
    assert Invitation.get_by_id(invitation.id).status == "created"


# Fetchers that open a link before (or instead of) the person, as they introduce themselves.
FETCHERS = [
    # Outlook on Windows checks a link before handing it to the browser.
    "Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.1; Trident/7.0; SLCC2; .NET CLR 2.0.50727; "
    ".NET4.0C; .NET4.0E; Microsoft Outlook 16.0.9029; ms-office; MSOffice 16)",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17531; Pro)",
    "Microsoft Office Excel 2014 (16.0.10730) Windows NT 10.0",
    "Microsoft Office Existence Discovery",
    # Teams, Outlook and OneDrive link previews.
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; MicrosoftPreview/2.0; "
    "+https://aka.ms/MicrosoftPreview) Chrome/116.0.1938.76 Safari/537.36",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5 "
    "skype-url-preview@microsoft.com",
    "Mozilla/5.0 (compatible; Google-Apps-Script; beanserver; +https://script.google.com; "
    "id: UAEmdDd89HRwe5QuGhRVjz8E2pn_H-2y-cw)",
    "http.rb/5.1.1 (Mastodon/4.2.0; +https://mastodon.social/)",
    "Mozilla/5.0 (compatible; Bluesky Cardyb/1.1; +mailto:support@bsky.app)",
]


@pytest.mark.parametrize("agent", FETCHERS)
def test_office_mail_and_fediverse_fetchers_are_not_people(agent):
    assert classify_agent(agent) in ("preview", "bot")


def test_office_and_mail_fetchers_never_mark_an_invitation_opened(app, client):
    campaign = seed_vip()
    invitations.invite(campaign.id, invitations.Selection(), utcnow().date())
    invitation = invitation_of("陈静")
    for agent in FETCHERS:
        response = client.get(f"/vip/{invitation.token}", headers={"User-Agent": agent})
        assert response.status_code == 200
    assert Invitation.get_by_id(invitation.id).status == "created"


def test_a_head_request_changes_nothing(app, client):
    campaign = seed_vip()
    invitations.invite(campaign.id, invitations.Selection(), utcnow().date())
    phone = {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile"}
    created = invitation_of("陈静")
    assert client.head(f"/vip/{created.token}", headers=phone).status_code == 200
    assert Invitation.get_by_id(created.id).status == "created"
    # Nor does it take a place in the VIP group for an accepted invitation.
    accepted = invitation_of("王丽")
    Invitation.update(status="accepted", accepted_at=utcnow()).where(
        Invitation.id == accepted.id
    ).execute()
    before = Visit.select().count()
    response = client.head(f"/vip/{accepted.token}", headers=phone)
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
    assert Visit.select().count() == before
    assert client.get(f"/vip/{accepted.token}", headers=phone).status_code == 200
    assert Visit.select().count() == before + 1  # the same page by GET does


def test_answers_need_a_post_with_a_csrf_token(app, client):
    campaign = seed_vip()
    invitations.invite(campaign.id, invitations.Selection(), utcnow().date())
    invitation = invitation_of("陈静")
    assert client.get(f"/vip/{invitation.token}/answer?decision=accept").status_code == 405
    assert (
        client.post(f"/vip/{invitation.token}/answer", data={"decision": "accept"}).status_code
        == 400
    )
    assert Invitation.get_by_id(invitation.id).status == "created"


def test_a_thousand_random_tokens_get_the_same_page_and_change_nothing(app, client):
    app.config["WTF_CSRF_ENABLED"] = False  # so an answer reaches the view, not the CSRF check
    campaign = seed_vip()
    invitations.invite(campaign.id, invitations.Selection(), utcnow().date())
    before = list(Invitation.select().order_by(Invitation.id).tuples())
    pages = set()
    for n in range(1000):
        token = secrets.token_urlsafe(24) if n % 4 else secrets.token_hex(n % 40 + 1)
        response = client.get(f"/vip/{token}")
        assert response.status_code == 404
        pages.add(response.get_data(as_text=True))
        if n % 100 == 0:
            answer = client.post(f"/vip/{token}/answer", data={"decision": "accept"})
            assert answer.status_code == 404
            pages.add(answer.get_data(as_text=True))
    assert len(pages) == 1
    assert list(Invitation.select().order_by(Invitation.id).tuples()) == before


def test_expired_and_revoked_links_look_exactly_like_unknown_ones(app, client):
    campaign = seed_vip()
    invitations.invite(campaign.id, invitations.Selection(), utcnow().date())
    expired, revoked = invitation_of("王丽"), invitation_of("陈静")
    Invitation.update(expires_at=utcnow() - timedelta(seconds=1)).where(
        Invitation.id == expired.id
    ).execute()
    invitations.revoke(revoked.id, campaign.id, utcnow())
    unknown = client.get("/vip/" + secrets.token_urlsafe(24))
    for invitation in (expired, revoked):
        response = client.get(f"/vip/{invitation.token}")
        assert response.status_code == 404
        assert response.get_data() == unknown.get_data()


def test_an_accepted_invitation_stays_reachable_after_its_expiry(app, client):
    campaign = seed_vip()
    invitations.invite(campaign.id, invitations.Selection(), utcnow().date())
    invitation = invitation_of("李娜")
    invitations.answer(invitation, True, utcnow())
    Invitation.update(expires_at=utcnow() - timedelta(days=1)).where(
        Invitation.id == invitation.id
    ).execute()
    assert 'data-state="accepted"' in client.get(f"/vip/{invitation.token}").get_data(as_text=True)


def test_the_page_shows_the_expiry_in_local_time_with_the_year(app, client):
    """Stored in UTC; the customer reads Beijing time, and a link can outlive the year."""
    campaign = seed_vip()
    invitations.invite(campaign.id, invitations.Selection(), utcnow().date())
    invitation = invitation_of("王丽")
    Invitation.update(expires_at=datetime(2099, 12, 31, 16, 30)).where(
        Invitation.id == invitation.id
    ).execute()
    page = client.get(f"/vip/{invitation.token}").get_data(as_text=True)
    assert "邀请有效期到 2100年01月01日 00:30。" in page


# ---------------------------------------------------------------- console


def test_console_import_preview_invite_export_and_figures(client, login_as):
    staff = login_as("operator")
    make_group(make_campaign(slug="vip", title="VIP 周末专享"), "VIP 1群")
    upload = {"file": (io.BytesIO(csv_bytes([*GOOD, BAD[14][0]])), "客户.csv")}
    page = staff.post("/console/customers", upload, content_type="multipart/form-data")
    text = page.get_data(as_text=True)
    assert 'data-figure="created">3<' in text and 'data-figure="refused">1<' in text
    assert AuditEntry.get(AuditEntry.action == "customers.import")
    staff.post(
        "/console/campaigns/vip/vip/settings",
        {"rights": "专享 8 折", "offer_url": "https://shop.example.cn/vip", "valid_days": "7"},
        page="/console/campaigns/vip/vip",
    )
    preview = client.get("/console/campaigns/vip/vip?preview=1&min_purchase=1000&regions_in=杭州")
    assert 'data-figure="selected">1<' in preview.get_data(as_text=True)
    staff.post(
        "/console/campaigns/vip/vip/invite",
        {"min_purchase": "1000", "regions_in": "杭州"},
        page="/console/campaigns/vip/vip",
    )
    assert [i.customer.name for i in Invitation.select()] == ["王丽"]
    invitations.answer(Invitation.get(), True, utcnow())
    figures = client.get("/console/campaigns/vip/vip").get_data(as_text=True)
    assert 'data-state-count="accepted">已接受 1<' in figures
    assert re.search(
        r'data-region="杭州"><td>杭州</td><td class="num">1</td><td class="num">1</td>', figures
    )
    export = client.get("/console/campaigns/vip/vip.csv")
    rows = list(csv.reader(io.StringIO(export.data.decode("utf-8-sig"))))
    assert rows[0][:5] == ["客户编号", "姓名", "地区", "状态", "专属链接"]
    assert rows[1][4] == "https://qun.example.cn/vip/" + Invitation.get().token
    sheet = client.get("/console/campaigns/vip/vip/sheet").get_data(as_text=True)
    assert "王丽" not in sheet  # she has answered: her link needs no sending


def test_exported_links_neutralise_formula_cells(client, login_as):
    login_as("operator")
    campaign = make_campaign(slug="vip")
    invitations.set_up_program(campaign, rights="", offer_url="", offer_label="", valid_days=7)
    # A name that reached the database another way (not through the import's check).
    Customer.create(external_id="X1", name='=HYPERLINK("x")', region="-杭州", purchase_total=1)
    invitations.invite(campaign.id, invitations.Selection(), utcnow().date())
    rows = list(
        csv.reader(
            io.StringIO(client.get("/console/campaigns/vip/vip.csv").data.decode("utf-8-sig"))
        )
    )
    assert rows[1][1].startswith("'=") and rows[1][2].startswith("'-")


def test_trainers_see_but_cannot_import_invite_or_revoke(client, login_as):
    staff = login_as("trainer")
    campaign = seed_vip()
    invitations.invite(campaign.id, invitations.Selection(), utcnow().date())
    invitation = Invitation.get()
    page = "/console/campaigns/vip/vip"
    assert client.get(page).status_code == 200
    upload = {"file": (io.BytesIO(csv_bytes(GOOD)), "c.csv")}
    assert (
        staff.post("/console/customers", upload, content_type="multipart/form-data").status_code
        == 403
    )
    assert staff.post("/console/campaigns/vip/vip/invite", {}, page=page).status_code == 403
    assert (
        staff.post(f"/console/campaigns/vip/vip/{invitation.id}/revoke", page=page).status_code
        == 403
    )
    assert Invitation.get_by_id(invitation.id).status == "created"


def test_trainers_see_invitations_without_their_personal_links(app, client, login_as):
    """A personal link lets whoever holds it answer for the customer: trainers (read-only)
    get none, on any surface that lists invitations."""
    login_as("trainer")
    campaign = seed_vip()
    invitations.invite(campaign.id, invitations.Selection(), utcnow().date())
    tokens = [i.token for i in Invitation.select()]
    invitation = invitation_of("王丽")
    page = client.get("/console/campaigns/vip/vip").get_data(as_text=True)
    assert "王丽" in page and "/vip/sheet" not in page and "不含专属链接" in page
    export = client.get("/console/campaigns/vip/vip.csv")
    rows = list(csv.reader(io.StringIO(export.data.decode("utf-8-sig"))))
    assert rows[0] == ["客户编号", "姓名", "地区", "状态", "有效期至"]
    assert len(rows) == 1 + len(tokens) and "王丽" in {r[1] for r in rows}
    assert client.get("/console/campaigns/vip/vip/sheet").status_code == 403
    assert client.get(f"/console/campaigns/vip/vip/{invitation.id}/qr.png").status_code == 403
    # The API: every GET a trainer's token can make, for this campaign.
    token = issue_api_token(Staff.get(Staff.username == "trainer-1"), "只读")
    seen = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and "GET" in rule.methods:
            url = re.sub(
                r"<(?:(\w+):)?(\w+)>", lambda m: "1" if m[1] == "int" else "vip", rule.rule
            )
            seen.append(client.get(url, headers={"Authorization": f"Bearer {token}"}))
    assert any(r.status_code == 200 and "vip" in r.get_data(as_text=True) for r in seen)
    for body in [page, export.data.decode("utf-8-sig"), *(r.get_data(as_text=True) for r in seen)]:
        assert not any(t in body for t in tokens)


def test_operators_export_the_personal_links(client, login_as):
    login_as("operator")
    campaign = seed_vip()
    invitations.invite(campaign.id, invitations.Selection(), utcnow().date())
    export = client.get("/console/campaigns/vip/vip.csv").data.decode("utf-8-sig")
    assert f"https://qun.example.cn/vip/{invitation_of('王丽').token}" in export
    assert client.get("/console/campaigns/vip/vip/sheet").status_code == 200


def test_the_printable_sheet_qr_decodes_to_the_personal_link(client, login_as):
    import zxingcpp
    from PIL import Image

    login_as("operator")
    campaign = seed_vip()
    invitations.invite(campaign.id, invitations.Selection(), utcnow().date())
    invitation = invitation_of("王丽")
    image = client.get(f"/console/campaigns/vip/vip/{invitation.id}/qr.png")
    decoded = [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(image.data)))]
    assert decoded == [f"https://qun.example.cn/vip/{invitation.token}"]
    other = make_campaign(slug="other")
    assert client.get(f"/console/campaigns/other/vip/{invitation.id}/qr.png").status_code == 404
    assert other.id != campaign.id


def test_the_printable_sheet_lists_only_links_still_waiting_for_an_answer(client, login_as):
    login_as("operator")
    campaign = seed_vip()
    invitations.invite(campaign.id, invitations.Selection(), utcnow().date())
    invitations.answer(invitation_of("王丽"), True, utcnow())
    invitations.answer(invitation_of("陈静"), False, utcnow())
    invitations.mark_opened(invitation_of("李娜"), utcnow())
    sheet = client.get(f"/console/campaigns/{campaign.slug}/vip/sheet").get_data(as_text=True)
    assert "王丽" not in sheet and "陈静" not in sheet
    assert "李娜" in sheet and "赵敏" in sheet  # opened, and not yet opened


def test_the_vip_page_costs_the_same_queries_however_many_invitations(client, login_as):
    from playhouse.test_utils import count_queries

    login_as("operator")
    campaign = seed_vip()
    invitations.invite(campaign.id, invitations.Selection(min_purchase_fen=10**9), utcnow().date())
    with count_queries(only_select=True) as small:
        assert client.get("/console/campaigns/vip/vip").status_code == 200
    load([f"B{n},客户{n},{'杭州' if n % 2 else '温州'},{n * 100},2026-11-01," for n in range(40)])
    invitations.invite(campaign.id, invitations.Selection(), utcnow().date())
    with count_queries(only_select=True) as large:
        assert client.get("/console/campaigns/vip/vip").status_code == 200
    assert large.count == small.count


@pytest.mark.parametrize("typed", ["²", "٣", "-1", "1e9", "9" * 300])
def test_a_selection_number_that_is_not_one_is_shown_on_the_page_with_a_400(
    client, login_as, typed
):
    login_as("operator")
    make_campaign(slug="vip")
    response = client.get(f"/console/campaigns/vip/vip?preview=1&min_purchase={typed}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "「累计消费至少（元）」要填 0 到 100000000 之间的整数" in page
    assert 'id="preview"' not in page and "按规则选人" in page  # the page itself, not a dead end
    days = client.get(f"/console/campaigns/vip/vip?preview=1&active_days={typed}")
    assert days.status_code == 400
    assert "「最近多少天内活跃」要填 1 到 3650 之间的整数" in days.get_data(as_text=True)


@pytest.mark.parametrize("typed", ["0", "366", "²", "٣", "9" * 300])
def test_a_validity_that_is_not_1_to_365_days_is_a_400_page_and_nothing_is_saved(login_as, typed):
    staff = login_as("operator")
    make_campaign(slug="vip")
    response = staff.post(
        "/console/campaigns/vip/vip/settings",
        {"rights": "专享 8 折", "offer_url": "https://shop.example.cn/vip", "valid_days": typed},
        page="/console/campaigns/vip/vip",
    )
    assert response.status_code == 400
    assert "「链接有效天数」要填 1 到 365 之间的整数" in response.get_data(as_text=True)
    assert invitations.program_of(Campaign.get().id) is None
