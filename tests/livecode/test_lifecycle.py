"""Campaign lifecycle (issue 13): archive and restore, delete only what holds no member data;
channels likewise. Through the console, the API and the command line, on both databases."""

import json
import secrets
from datetime import date, timedelta

import pytest
from helpers import (
    make_campaign,
    make_channel,
    make_event,
    make_group,
    make_invitation,
    make_member,
    make_staff,
)

from miniapp_api.accounts.rules import issue_api_token
from miniapp_api.console.attention import needs_attention
from miniapp_api.livecode import lifecycle
from miniapp_api.models import (
    AuditEntry,
    Campaign,
    Channel,
    Group,
    Invitation,
    Response,
    Ticket,
    Visit,
    utcnow,
)

CONTACT = "微信：小陈（店长）"


def trial(slug="shiyong-1"):
    """A trial campaign as staff leave them: a group without a QR (一条“需要处理”), a channel,
    a ticket to an event and a VIP invitation."""
    campaign = make_campaign(slug=slug, title="试用活动·门店群", staff_contact=CONTACT)
    make_channel(campaign, "counter", "门店前台")
    make_group(campaign, "试用群①", qr_age=None)
    return Campaign.get_by_id(campaign.id)


def kinds_for(slug):
    return [item["kind"] for item in needs_attention() if item["campaign"] == slug]


def audit_actions():
    """Audit entries of campaigns and channels (logins left out), oldest first."""
    entries = AuditEntry.select().where(~AuditEntry.action.startswith("staff."))
    return [(e.action, e.target, json.loads(e.detail)) for e in entries.order_by(AuditEntry.id)]


# ---------------------------------------------------------------- console


def test_archive_takes_it_off_the_attention_list_and_restore_brings_it_back(app, login_as):
    actions = login_as("operator")
    campaign = trial()
    running = make_campaign(slug="zhengshi", title="正式活动")
    make_group(running, "正式群", qr_age=None)
    with app.app_context():
        before = len(needs_attention())
        assert kinds_for("shiyong-1") == ["no-qr", "no-open-group"]

    response = actions.post(
        "/console/campaigns/shiyong-1/archive", page="/console/campaigns/shiyong-1"
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/campaigns/shiyong-1"
    with app.app_context():
        assert kinds_for("shiyong-1") == []
        assert len(needs_attention()) == before - 2
        assert kinds_for("zhengshi")  # the real warnings stay
    assert Campaign.get_by_id(campaign.id).archived_at is not None
    assert ("campaign.archive", "campaign:shiyong-1", {}) in audit_actions()

    # Listed apart; its page and dashboard stay readable.
    client = actions.client
    page = client.get("/console/campaigns/shiyong-1").get_data(as_text=True)  # shows the flash
    assert "已归档" in page and "恢复这个活动" in page
    listed = client.get("/console/campaigns").get_data(as_text=True)
    assert "试用活动·门店群" not in listed and "正式活动" in listed
    apart = client.get("/console/campaigns/archived").get_data(as_text=True)
    assert "已归档的活动" in apart and "试用活动·门店群" in apart and "正式活动" not in apart
    assert client.get("/console/campaigns/shiyong-1/dashboard").status_code == 200
    home = client.get("/console/").get_data(as_text=True)
    assert "试用群①" not in home

    # Archiving twice changes nothing and writes no second entry.
    actions.post("/console/campaigns/shiyong-1/archive", page="/console/campaigns/shiyong-1")
    assert [a for a, _, _ in audit_actions()].count("campaign.archive") == 1

    actions.post("/console/campaigns/shiyong-1/restore", page="/console/campaigns/shiyong-1")
    assert Campaign.get_by_id(campaign.id).archived_at is None
    with app.app_context():
        assert kinds_for("shiyong-1") == ["no-qr", "no-open-group"]
    assert ("campaign.restore", "campaign:shiyong-1", {}) in audit_actions()


def test_archive_needs_the_csrf_token_and_an_editor(app, client, login_as):
    campaign = trial()
    actions = login_as("trainer")
    refused = actions.post(
        "/console/campaigns/shiyong-1/archive", page="/console/campaigns/shiyong-1"
    )
    assert refused.status_code == 403
    assert client.post("/console/campaigns/shiyong-1/archive").status_code == 400  # no token
    assert Campaign.get_by_id(campaign.id).archived_at is None
    assert audit_actions() == []


# ---------------------------------------------------------------- public pages


def public_urls(campaign):
    """One URL of each public surface of the campaign."""
    event = make_event(campaign, title="试用见面会")
    ticket = Ticket.create(
        activity=event.id, token=secrets.token_urlsafe(24), code="A1B2", holder="王丽"
    )
    invitation = make_invitation(campaign)
    group = Group.get(Group.campaign == campaign.id)
    from helpers import checked_qr

    stored, digest, _ = checked_qr()
    Group.update(qr_image=stored, qr_digest=digest, qr_generated_at=utcnow()).where(
        Group.id == group.id
    ).execute()
    slug = campaign.slug
    return [
        f"/j/{slug}",
        f"/j/{slug}?c=counter",
        f"/j/qr/{group.id}-{digest}.png",
        f"/posters/{slug}.png",
        f"/r/{slug}/join",
        f"/r/{slug}/top",
        f"/c/{slug}",
        f"/c/{slug}/join",
        f"/c/{slug}/events/{event.id}/signup",
        f"/vip/{invitation.token}",
        f"/t/{ticket.token}",
    ]


def test_an_archived_campaigns_public_pages_say_it_is_over_and_count_nothing(app, client):
    campaign = trial()
    urls = public_urls(campaign)
    lifecycle.archive_campaign(campaign.id)
    visits = Visit.select().count()
    for url in urls:
        response = client.get(url)
        assert response.status_code == 410, url
        text = response.get_data(as_text=True)
        assert "「试用活动·门店群」已经结束" in text, url
        assert CONTACT in text, url
        assert response.headers["Cache-Control"] == "no-store"
    # A form posted from a page opened before the archive is closed too.
    signup = client.post(f"/r/{campaign.slug}/join", data={"nickname": "小红"})
    assert signup.status_code in (400, 410)  # 400: the CSRF check comes first
    assert Visit.select().count() == visits
    assert Invitation.get(Invitation.campaign == campaign.id).status == "created"

    lifecycle.restore_campaign(campaign.id)
    assert client.get(f"/j/{campaign.slug}").status_code == 200
    assert Visit.select().count() == visits + 1


def test_an_unknown_campaign_is_still_a_404_not_the_closed_page(client):
    assert client.get("/j/meiyou").status_code == 404
    assert client.get("/c/meiyou").status_code == 404


# ---------------------------------------------------------------- delete


def with_member(campaign):
    make_member(campaign.id, nickname="小雨妈妈")


def with_counted_visit(campaign):
    Visit.create(
        campaign=campaign.id,
        visitor="v" * 22,
        agent="wechat",
        ip_hash="i" * 64,
        outcome="sent",
        counted_day=date(2026, 11, 20),
    )


def with_answered_invitation(campaign):
    invitation = make_invitation(campaign)
    Invitation.update(status="declined", declined_at=utcnow()).where(
        Invitation.id == invitation.id
    ).execute()


def with_check_in(campaign):
    event = make_event(campaign)
    Response.create(campaign=campaign.id, activity=event.id, how="walkin", note="到场")


MEMBER_DATA = {
    "报名的成员": with_member,
    "计入人数的扫码": with_counted_visit,
    "已答复的 VIP 邀请": with_answered_invitation,
    "打卡或签到": with_check_in,
}


@pytest.mark.parametrize("what", list(MEMBER_DATA))
def test_delete_is_refused_with_member_data_and_says_to_archive(app, login_as, what):
    actions = login_as("operator")
    campaign = trial()
    MEMBER_DATA[what](campaign)
    response = actions.post(
        "/console/campaigns/shiyong-1/delete",
        page="/console/campaigns/shiyong-1",
        follow_redirects=True,
    )
    text = response.get_data(as_text=True)
    assert f"已有{what}，不能删除" in text and "请改为归档" in text
    assert Campaign.get_or_none(Campaign.id == campaign.id) is not None
    assert Channel.select().where(Channel.campaign == campaign.id).count() == 1
    assert not [a for a, _, _ in audit_actions() if a == "campaign.delete"]


def test_delete_takes_a_campaign_without_member_data_and_its_uncounted_rows(app, login_as):
    actions = login_as("operator")
    campaign = trial()
    make_invitation(campaign)  # never answered
    Visit.create(
        campaign=campaign.id, visitor="b" * 22, agent="bot", ip_hash="i" * 64, outcome="bot"
    )
    response = actions.post(
        "/console/campaigns/shiyong-1/delete", page="/console/campaigns/shiyong-1"
    )
    assert response.headers["Location"] == "/console/campaigns"
    assert Campaign.get_or_none(Campaign.id == campaign.id) is None
    for model in (Channel, Group, Visit, Invitation):
        assert model.select().where(model.campaign == campaign.id).count() == 0, model
    assert ("campaign.delete", "campaign:shiyong-1", {"title": "试用活动·门店群"}) in (
        audit_actions()
    )


# ---------------------------------------------------------------- channels


def test_an_archived_channels_poster_still_reaches_the_join_page_without_the_channel(
    app, client, login_as
):
    actions = login_as("operator")
    campaign = make_campaign(slug="mendian", title="门店会员群")
    channel = make_channel(campaign, "counter", "门店前台")
    make_group(campaign, "宝妈群")
    url = f"/console/campaigns/mendian/channels/{channel.id}/archive"
    actions.post(url, page="/console/campaigns/mendian")
    assert Channel.get_by_id(channel.id).archived_at is not None
    page = actions.client.get("/console/campaigns/mendian").get_data(as_text=True)
    assert "门店前台（<code>counter</code>） · <strong>已归档</strong>" in page

    scan = client.get("/j/mendian?c=counter")
    assert scan.status_code == 200
    assert "宝妈群" in scan.get_data(as_text=True)
    visit = Visit.get(Visit.campaign == campaign.id)
    assert visit.outcome == "sent" and visit.channel_id is None
    # A code that never existed still gets the "link incomplete" page.
    assert client.get("/j/mendian?c=nosuch").status_code == 404
    assert ("channel.archive", "campaign:mendian", {"code": "counter", "label": "门店前台"}) in (
        audit_actions()
    )


def test_a_channel_is_deleted_only_while_nobody_has_scanned_it(app, client, login_as):
    actions = login_as("operator")
    campaign = make_campaign(slug="mendian", title="门店会员群")
    make_group(campaign, "宝妈群")
    scanned = make_channel(campaign, "counter", "门店前台")
    unused = make_channel(campaign, "window", "橱窗")
    client.get("/j/mendian?c=counter")

    refused = actions.post(
        f"/console/campaigns/mendian/channels/{scanned.id}/delete",
        page="/console/campaigns/mendian",
        follow_redirects=True,
    )
    assert "渠道「门店前台」已有扫码记录，不能删除，请改为归档" in refused.get_data(as_text=True)
    assert Channel.get_or_none(Channel.id == scanned.id) is not None
    assert Visit.get(Visit.campaign == campaign.id).channel_id == scanned.id

    actions.post(
        f"/console/campaigns/mendian/channels/{unused.id}/delete",
        page="/console/campaigns/mendian",
    )
    assert Channel.get_or_none(Channel.id == unused.id) is None
    assert [a for a, _, _ in audit_actions() if a.startswith("channel.")] == ["channel.delete"]


# ---------------------------------------------------------------- API and CLI


def test_the_api_archives_restores_and_deletes(app):
    client = app.test_client()
    staff = make_staff("api-op", "operator")
    headers = {"Authorization": "Bearer " + issue_api_token(staff, "脚本")}
    campaign = trial()
    make_channel(campaign, "window", "橱窗")

    archived = client.post("/api/v1/campaigns/shiyong-1/archive", headers=headers)
    assert archived.status_code == 200 and archived.get_json()["archived_at"]
    again = client.post("/api/v1/campaigns/shiyong-1/archive", headers=headers)
    assert again.get_json()["archived_at"] == archived.get_json()["archived_at"]
    restored = client.post("/api/v1/campaigns/shiyong-1/restore", headers=headers)
    assert restored.get_json()["archived_at"] is None
    assert [a for a, _, d in audit_actions()] == ["campaign.archive", "campaign.restore"]
    assert all(d == {"via": "api"} for _, _, d in audit_actions())

    channel = client.post("/api/v1/campaigns/shiyong-1/channels/window/archive", headers=headers)
    assert channel.status_code == 200 and channel.get_json()["archived_at"]
    gone = client.delete("/api/v1/campaigns/shiyong-1/channels/window", headers=headers)
    assert gone.status_code == 204

    with_member(campaign)
    refused = client.delete("/api/v1/campaigns/shiyong-1", headers=headers)
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "keep_instead" and "Archive it instead" in error["message"]
    assert "members" in error["message"]

    trainer = {
        "Authorization": "Bearer " + issue_api_token(make_staff("api-trainer", "trainer"), "看")
    }
    assert client.post("/api/v1/campaigns/shiyong-1/archive", headers=trainer).status_code == 403

    empty = make_campaign(slug="kong")
    assert client.delete("/api/v1/campaigns/kong", headers=headers).status_code == 204
    assert Campaign.get_or_none(Campaign.id == empty.id) is None
    assert client.get("/api/v1/campaigns/kong", headers=headers).status_code == 404


def test_the_command_line_archives_restores_and_refuses_a_delete_plainly(app, runner):
    campaign = trial()
    with_member(campaign)

    result = runner.invoke(args=["archive", "shiyong-1"])
    assert result.exit_code == 0, result.output
    assert "Archived shiyong-1" in result.output
    assert Campaign.get_by_id(campaign.id).archived_at is not None
    assert runner.invoke(args=["archive", "shiyong-1"]).output.startswith("Archived already")

    result = runner.invoke(args=["delete", "shiyong-1"])
    assert result.exit_code == 1
    assert "holds members: it cannot be deleted. Archive it instead" in result.output
    assert "Traceback" not in result.output
    assert Campaign.get_or_none(Campaign.id == campaign.id) is not None

    result = runner.invoke(args=["restore", "shiyong-1"])
    assert result.exit_code == 0 and "Restored shiyong-1" in result.output
    result = runner.invoke(args=["archive", "shiyong-1", "--channel", "counter"])
    assert "Archived channel counter" in result.output
    result = runner.invoke(args=["delete", "shiyong-1", "--channel", "nosuch"])
    assert result.exit_code == 1 and "No channel 'nosuch'" in result.output
    result = runner.invoke(args=["delete", "shiyong-1", "--channel", "counter"])
    assert result.exit_code == 0 and "Deleted counter" in result.output
    assert [a for a, _, d in audit_actions() if d.get("via") == "cli"] == [
        "campaign.archive",
        "campaign.restore",
        "channel.archive",
        "channel.delete",
    ]


def test_archive_is_one_change_when_two_staff_press_it_at_once(app):
    """The conditional UPDATE decides: the second archive finds it archived already."""
    campaign = trial()
    with app.app_context():
        assert lifecycle.archive_campaign(campaign.id, now=utcnow()) is True
        assert lifecycle.archive_campaign(campaign.id, now=utcnow() + timedelta(1)) is False
        assert lifecycle.restore_campaign(campaign.id) is True
        assert lifecycle.restore_campaign(campaign.id) is False


# ---------------------------------------------------------------- the refusal page


def test_a_trainer_following_the_handbooks_link_gets_a_console_page_with_a_way_on(client, login_as):
    make_staff("boss", "admin", display_name="王经理")
    actions = login_as("trainer")
    response = actions.client.get("/console/campaigns/new?template=live-code")
    assert response.status_code == 403
    text = response.get_data(as_text=True)
    assert "Forbidden" not in text
    assert "Qunbook 控制台" in text and 'href="/console/campaigns"' in text  # the navigation
    assert "培训师：可以查看所有活动、数据、名单和手册，但不能新建或修改任何东西" in text
    assert "请找管理员 <strong>王经理</strong>" in text
    assert 'href="/handbook/"' in text
