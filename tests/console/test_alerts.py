"""Alerts pushed to staff: a WeCom-format message once per cause, retried after a failure,
never sent twice by two processes at once (the database decides)."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from helpers import make_campaign, make_challenge, make_event, make_group, make_member, make_staff

from miniapp_api.checkins import events
from miniapp_api.checkins.rules import REWARD_KEY
from miniapp_api.console import alerts
from miniapp_api.console.attention import needs_attention
from miniapp_api.db import db
from miniapp_api.i18n import speaking
from miniapp_api.livecode.rules import QR_LIFETIME
from miniapp_api.models import Activity, Alert, AuditEntry, Campaign, Group, Reward, utcnow
from miniapp_api.referrals.rules import issue_reward, redeem

NOW = utcnow().replace(microsecond=0)


class Receiver:
    """A webhook on loopback: keeps every JSON body; fails the next `failures` posts with
    `fail_with` ("500" or a WeCom errcode answer)."""

    def __init__(self):
        self.bodies = []
        self.failures = 0
        self.fail_with = "500"
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if receiver.failures:
                    receiver.failures -= 1
                    if receiver.fail_with == "500":
                        self.send_response(500)
                        self.end_headers()
                        return
                    answer = {"errcode": 93000, "errmsg": "invalid webhook url"}
                else:
                    receiver.bodies.append(body)
                    answer = {"errcode": 0, "errmsg": "ok"}
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = (
            f"http://127.0.0.1:{self.server.server_port}/cgi-bin/webhook/send?key=secret-key-123"
        )
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def contents(self):
        return [b["text"]["content"] for b in self.bodies]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def expiring_campaign(url, slug="mendian"):
    campaign = make_campaign(slug=slug, title=f"门店会员群·双十一·{slug}")
    Campaign.update(alert_webhook=url).where(Campaign.id == campaign.id).execute()
    group = make_group(campaign, "宝妈交流群①", qr_age=QR_LIFETIME - timedelta(hours=20), now=NOW)
    make_group(campaign, "老客群", qr_age=timedelta(days=1), now=NOW)  # fine: no alert
    return campaign, group


def test_one_wecom_alert_per_cause_and_a_new_qr_is_a_new_cause(app, receiver):
    _, group = expiring_campaign(receiver.url)

    assert alerts.send_due_alerts(NOW) == {"sent": 1, "failed": 0}
    assert alerts.send_due_alerts(NOW + timedelta(minutes=1)) == {"sent": 0, "failed": 0}
    assert alerts.send_due_alerts(NOW + timedelta(hours=2)) == {"sent": 0, "failed": 0}
    assert len(receiver.bodies) == 1
    body = receiver.bodies[0]
    assert body["msgtype"] == "text" and set(body) == {"msgtype", "text"}
    assert "门店会员群·双十一" in body["text"]["content"]
    assert "宝妈交流群①" in body["text"]["content"] and "过期" in body["text"]["content"]

    # Staff upload a new QR; it too comes near its end: that is a new cause.
    Group.update(qr_digest="e" * 64).where(Group.id == group.id).execute()
    alerts.send_due_alerts(NOW + timedelta(hours=3))
    assert len(receiver.bodies) == 2
    causes = {a.cause for a in Alert.select()}
    assert causes == {
        f"qr-expiring:{group.id}:{group.qr_digest}",
        f"qr-expiring:{group.id}:" + "e" * 64,
    }


@pytest.mark.parametrize("fail_with", ["500", "errcode"])
def test_a_failed_send_is_retried_after_its_back_off_then_delivered_once(app, receiver, fail_with):
    expiring_campaign(receiver.url)
    receiver.failures, receiver.fail_with = 1, fail_with

    assert alerts.send_due_alerts(NOW) == {"sent": 0, "failed": 1}
    alert = Alert.get()
    assert alert.sent_at is None and alert.attempts == 1
    assert alert.next_attempt_at == NOW + alerts.FIRST_RETRY
    assert alert.last_error == (
        "HTTP 500" if fail_with == "500" else "errcode 93000: invalid webhook url"
    )
    assert "secret-key-123" not in alert.last_error

    # Before the back-off is over nothing is tried; after it, delivered once.
    assert alerts.send_due_alerts(NOW + timedelta(seconds=59)) == {"sent": 0, "failed": 0}
    assert alerts.send_due_alerts(NOW + timedelta(minutes=1)) == {"sent": 1, "failed": 0}
    assert alerts.send_due_alerts(NOW + timedelta(minutes=5)) == {"sent": 0, "failed": 0}
    assert len(receiver.bodies) == 1
    assert Alert.get().sent_at == NOW + timedelta(minutes=1)


def test_back_off_doubles_up_to_an_hour():
    assert [alerts.retry_delay(n) for n in (1, 2, 3, 7, 20)] == [
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
        timedelta(hours=1),
        timedelta(hours=1),
    ]


def test_an_unreachable_webhook_fails_without_logging_its_key(app, caplog):
    expiring_campaign("http://127.0.0.1:9/cgi-bin/webhook/send?key=secret-key-123")
    assert alerts.send_due_alerts(NOW) == {"sent": 0, "failed": 1}
    assert "127.0.0.1" in Alert.get().last_error
    # Our own log lines (peewee's debug log of SQL parameters is a developer's switch, and
    # another test may have left it on: it is not what a deployment logs).
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("miniapp_api"))
    assert ours and "secret-key-123" not in Alert.get().last_error + ours


def test_two_processes_at_the_same_moment_send_nothing_twice(app, receiver):
    for n in range(6):
        expiring_campaign(receiver.url, slug=f"store-{n}")
    start = threading.Barrier(4)
    errors = []

    def run():
        try:
            start.wait()
            with db.connection_context():  # each its own connection, like another process
                alerts.send_due_alerts(NOW)
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    contents = receiver.contents()
    assert len(contents) == len(set(contents)) == 6
    assert Alert.select().where(Alert.sent_at.is_null(False)).count() == 6


def test_all_full_event_and_nothing_without_a_webhook(app, receiver):
    quiet = make_campaign(slug="quiet")
    make_group(quiet, "过期群", qr_age=timedelta(days=8), now=NOW)
    full = make_campaign(slug="full", title="老客回归群")
    make_group(full, "满群", sent=200, now=NOW)
    Campaign.update(all_full_since=NOW).where(Campaign.id == full.id).execute()

    alerts.send_due_alerts(NOW)
    assert receiver.bodies == [] and Alert.select().count() == 0  # nowhere to send

    alerts.send_due_alerts(NOW, default_webhook=receiver.url)
    kinds = sorted(a.kind for a in Alert.select())
    assert kinds == ["no-open-group", "qr-expired"]
    assert len(receiver.bodies) == 2
    assert alerts.all_full_notified(full.id)
    assert not alerts.all_full_notified(quiet.id)


def test_the_all_full_page_says_staff_were_told_only_once_they_were(app, client, receiver):
    campaign = make_campaign(slug="store", title="门店会员群")
    Campaign.update(alert_webhook=receiver.url).where(Campaign.id == campaign.id).execute()
    make_group(campaign, "满群", cutoff=1, sent=1)
    agent = {"User-Agent": "Mozilla/5.0 MicroMessenger/8.0"}

    first = client.get("/j/store", headers=agent).get_data(as_text=True)
    assert "群已满员" in first and "工作人员已经收到提醒" not in first
    assert "需要处理" in first

    receiver.failures = 1  # the alert has not reached anyone yet: the page must not say so
    alerts.send_due_alerts(utcnow())
    assert "工作人员已经收到提醒" not in client.get("/j/store", headers=agent).get_data(
        as_text=True
    )

    alerts.send_due_alerts(utcnow() + timedelta(minutes=2))
    assert next(b["text"]["content"] for b in receiver.bodies).startswith(
        "【群书提醒】「门店会员群」"
    )
    assert "工作人员已经收到提醒" in client.get("/j/store", headers=agent).get_data(as_text=True)


def test_send_alerts_command_uses_the_global_webhook(app, runner, receiver):
    app.config["ALERT_WEBHOOK"] = receiver.url
    campaign = make_campaign(slug="store")
    make_group(campaign, "过期群", qr_age=timedelta(days=8))
    result = runner.invoke(args=["send-alerts"])
    assert result.exit_code == 0, result.output
    assert result.output == "Alerts sent: 1, failed (tried again later): 0.\n"
    assert len(receiver.bodies) == 1
    receiver.server.shutdown()
    receiver.server.server_close()
    Group.update(qr_digest="f" * 64).where(Group.campaign == campaign.id).execute()  # new cause
    result = runner.invoke(args=["send-alerts"])
    assert result.exit_code == 1 and "failed (tried again later): 1" in result.output
    assert "secret-key-123" not in result.output


def test_staff_set_the_webhook_and_see_alerts_without_its_key(app, client, login_as, receiver):
    campaign = make_campaign(slug="store")
    make_group(campaign, "过期群", qr_age=timedelta(days=8))
    actions = login_as("operator")
    page = "/console/campaigns/store"

    refused = actions.post(
        f"{page}/alert-webhook", {"alert_webhook": "file:///etc/passwd"}, page=page
    )
    assert refused.status_code == 400 and "https://" in refused.get_data(as_text=True)
    assert Campaign.get().alert_webhook == ""

    saved = actions.post(f"{page}/alert-webhook", {"alert_webhook": receiver.url}, page=page)
    assert saved.status_code == 302
    assert Campaign.get().alert_webhook == receiver.url
    receiver.failures = 1
    alerts.send_due_alerts(utcnow())

    for url in (page, "/console/attention"):
        text = client.get(url).get_data(as_text=True)
        assert "发送失败（第 1 次）：HTTP 500" in text and "过期群" in text, url
        assert "secret-key-123" not in text, url
    detail = AuditEntry.get(AuditEntry.action == "campaign.alert_webhook").detail
    assert "secret-key-123" not in detail and "127.0.0.1" in detail

    alerts.send_due_alerts(utcnow() + timedelta(minutes=2))
    assert "已发送" in client.get("/console/attention").get_data(as_text=True)


# ---------------------------------------------------------------- check-ins: the door, rewards


def test_an_event_about_to_start_with_tickets_out_is_one_alert_for_its_door(app, receiver):
    campaign = make_campaign(slug="meetup", title="线下见面会")
    Campaign.update(alert_webhook=receiver.url).where(Campaign.id == campaign.id).execute()
    make_group(campaign, "见面会群", now=NOW)
    starts = (NOW + timedelta(hours=30)).replace(second=0)
    event = make_event(campaign, title="门店见面会", starts_at=starts, capacity=50)
    empty = make_event(campaign, title="没人报名的场", starts_at=starts + timedelta(hours=1))
    member = make_member(campaign.id)
    events.issue_ticket(event, holder="小红", member=member, now=NOW)

    # A day and a half ahead: not yet.
    assert alerts.send_due_alerts(NOW) == {"sent": 0, "failed": 0}
    # Within a day of the start: one alert, once, for the event people hold tickets for.
    for minutes in (7 * 60, 7 * 60 + 1, 12 * 60, 29 * 60):
        alerts.send_due_alerts(NOW + timedelta(minutes=minutes))
    assert len(receiver.bodies) == 1
    body = receiver.bodies[0]
    assert body["msgtype"] == "text" and set(body) == {"msgtype", "text"}
    content = body["text"]["content"]
    assert content.startswith("【群书提醒】「线下见面会」：活动「门店见面会」")
    assert "已发出 1 张票" in content and "门口签到" in content
    alert = Alert.get()
    cause = f"event-soon:{event.id}:{starts:%Y%m%dT%H%M%S}"
    assert (alert.kind, alert.cause) == ("event-soon", cause)
    assert empty.id not in {int(a.cause.split(":")[1]) for a in Alert.select()}

    # Moved to another day: a new cause, told once more.
    later = starts + timedelta(days=2)
    Activity.update(starts_at=later).where(Activity.id == event.id).execute()
    alerts.send_due_alerts(later - timedelta(hours=2))
    alerts.send_due_alerts(later - timedelta(hours=1))
    assert len(receiver.bodies) == 2
    # Once it has started, it is no longer about to.
    assert all(i["kind"] != "event-soon" for i in needs_attention(now=later + timedelta(minutes=1)))


def test_rewards_waiting_to_be_handed_over_are_one_alert_until_handed_over(app, receiver):
    challenge = make_challenge(make_campaign(slug="daka", title="28 天早起打卡"))
    campaign = Campaign.get_by_id(challenge.campaign_id)
    make_group(campaign, "打卡群", now=NOW)
    first = make_member(campaign.id, nickname="小红")
    second = make_member(campaign.id, nickname="小明")
    issue_reward(campaign.id, first.id, REWARD_KEY, "结营礼盒")
    issue_reward(campaign.id, second.id, REWARD_KEY, "结营礼盒")
    issue_reward(campaign.id, first.id, "friend", "好友券")  # a referral reward: not this alert

    alerts.send_due_alerts(NOW, default_webhook=receiver.url)
    alerts.send_due_alerts(NOW + timedelta(minutes=1), default_webhook=receiver.url)
    assert len(receiver.bodies) == 1
    content = receiver.contents()[0]
    assert content.startswith("【群书提醒】「28 天早起打卡」：2 位完成打卡挑战的会员还没领到奖励")
    oldest = Reward.get((Reward.member == first.id) & (Reward.key == REWARD_KEY))
    assert Alert.get().cause == f"rewards-waiting:{campaign.id}:{oldest.id}"

    # Staff hand both over: nothing waits, nothing is sent; a new finisher is a new cause.
    staff = make_staff("chen")
    for reward in Reward.select().where(Reward.key == REWARD_KEY):
        assert redeem(reward.id, campaign.id, staff)
    assert all(i["kind"] != "rewards-waiting" for i in needs_attention(now=NOW))
    alerts.send_due_alerts(NOW + timedelta(minutes=2), default_webhook=receiver.url)
    assert len(receiver.bodies) == 1
    third = make_member(campaign.id, nickname="小刚")
    issue_reward(campaign.id, third.id, REWARD_KEY, "结营礼盒")
    alerts.send_due_alerts(NOW + timedelta(minutes=3), default_webhook=receiver.url)
    assert len(receiver.bodies) == 2 and "1 位完成打卡挑战的会员" in receiver.contents()[1]


def test_an_alert_is_written_in_the_language_of_whoever_sends_it(app, receiver):
    expiring_campaign(receiver.url)
    with speaking("en"):
        alerts.send_due_alerts(NOW)
    content = receiver.contents()[0]
    assert content.startswith('[Qunbook alert] "门店会员群·双十一·mendian" · 宝妈交流群①: ')
    assert "expires within" in content
