"""Alerts pushed to staff: what needs_attention finds, sent once per cause to a webhook.

`send_due_alerts(now)` is run every minute by `qunbook send-alerts` (cron). It records each
alertable item as an Alert row (the unique cause makes a second notice of the same problem a
no-op), then sends the rows that are due. Before sending, a process claims a row with a
conditional UPDATE; only the one whose UPDATE changed the row sends, so two processes running
at once never send the same alert twice. A failed send (not 2xx, errcode ≠ 0, timeout) is
tried again after a back-off that doubles up to an hour.

The message is a WeCom group robot's text message ({"msgtype": "text", "text": {"content":
…}}), which other webhooks take as plain JSON. Webhook URLs carry a key: they are never
logged or stored in an error, only their host.
"""

import json
import logging
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from peewee import fn

from miniapp_api.console.attention import all_full_cause, needs_attention
from miniapp_api.i18n import _
from miniapp_api.models import Alert, Campaign

log = logging.getLogger(__name__)

# Problems staff must act on; the rest stay on 需要处理 only. Check-ins need staff too: an
# event about to start with tickets out (the door), rewards waiting to be handed over.
ALERT_KINDS = (
    "qr-expiring",
    "qr-expired",
    "no-qr",
    "no-open-group",
    "event-full",
    "event-soon",
    "rewards-waiting",
)
TIMEOUT = 10  # seconds, for one POST
# A claimed alert is someone's for this long; a process that died mid-send frees it after.
CLAIM = timedelta(minutes=5)
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)
# A WeCom robot takes 20 messages a minute; the rest wait for the next run.
PER_WEBHOOK_PER_RUN = 15
CONTENT_BYTES = 2048  # WeCom's limit for a text message


class SendFailed(Exception):
    """The webhook did not take the message; the text says why, without the URL's key."""


def webhook_host(url: str) -> str:
    """What may be shown or logged of a webhook URL: its host, never its path or key."""
    return urlsplit(url).hostname or "?"


def check_webhook(url: str) -> str | None:
    """None when `url` can be a webhook; otherwise what is wrong, for staff."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return _("提醒地址要以 https:// 开头，例如企业微信群机器人的 Webhook 地址")
    if len(url) > 500:
        return _("提醒地址太长（最多 500 个字符）")
    return None


def post_json(url: str, payload: dict, timeout: float = TIMEOUT) -> None:
    """POST payload as JSON; raise SendFailed unless a 2xx answer came (with errcode 0 when
    the answer is WeCom's JSON)."""
    if check_webhook(url):  # never file: or another scheme urllib would open
        raise SendFailed(_("提醒地址不对：%(host)s", host=webhook_host(url)))
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json; charset=utf-8"}
    request = urllib.request.Request(url, data=body, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            text = answer.read(4096)
    except urllib.error.HTTPError as e:
        raise SendFailed(f"HTTP {e.code}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise SendFailed(
            _("无法连接 %(host)s：%(reason)s", host=webhook_host(url), reason=reason)
        ) from None
    try:
        answer_json = json.loads(text)
    except ValueError:
        return  # not WeCom: a 2xx is enough
    if isinstance(answer_json, dict) and answer_json.get("errcode", 0) != 0:
        raise SendFailed(f"errcode {answer_json['errcode']}: {answer_json.get('errmsg', '')}")


def wecom_text(campaign: Campaign, item_message: str, group: str) -> dict:
    if group:
        content = _(
            "【群书提醒】「%(campaign)s」·%(group)s：%(text)s",
            campaign=campaign.title,
            group=group,
            text=item_message,
        )
    else:
        content = _(
            "【群书提醒】「%(campaign)s」：%(text)s",
            campaign=campaign.title,
            text=item_message,
        )
    content = content.encode()[:CONTENT_BYTES].decode(errors="ignore")
    return {"msgtype": "text", "text": {"content": content}}


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4, … minutes after the 1st, 2nd, 3rd failure, at most an hour."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


def record_alerts(now: datetime, default_webhook: str = "", tz: str = "Asia/Shanghai") -> None:
    """An Alert row for each alertable item of a campaign that has somewhere to send it. A
    cause already recorded is left as it is (the unique index says so, not a lookup)."""
    columns = (Campaign.id, Campaign.slug, Campaign.title, Campaign.alert_webhook)
    campaigns = {c.slug: c for c in Campaign.select(*columns)}
    for item in needs_attention(now=now, tz=tz):
        campaign = campaigns.get(item["campaign"])
        if item["kind"] not in ALERT_KINDS or campaign is None:
            continue
        if not (campaign.alert_webhook or default_webhook):
            continue
        if item["cause"].startswith("no-open-group:"):
            continue  # no group yet, or every QR gone: the group alerts already say so
        payload = wecom_text(campaign, item["message"], item["group"])
        Alert.insert(
            campaign=campaign.id,
            cause=item["cause"],
            kind=item["kind"],
            message=payload["text"]["content"],
            created_at=now,
            next_attempt_at=now,
        ).on_conflict_ignore().execute()


def _claim(alert_id: int, now: datetime) -> bool:
    """Take the alert for this process; False when another took it or it is done."""
    taken = (
        Alert.update(claimed_until=now + CLAIM, attempts=Alert.attempts + 1)
        .where(
            (Alert.id == alert_id)
            & Alert.sent_at.is_null()
            & (Alert.next_attempt_at <= now)
            & (Alert.claimed_until.is_null() | (Alert.claimed_until <= now))
        )
        .execute()
    )
    return taken == 1


def send_due_alerts(
    now: datetime, default_webhook: str = "", tz: str = "Asia/Shanghai", post=post_json
) -> dict:
    """Record new alerts and send the due ones; returns counts of sent and failed."""
    record_alerts(now, default_webhook, tz)
    due = (
        Alert.select(Alert, Campaign.alert_webhook)
        .join(Campaign)
        .where(
            Alert.sent_at.is_null()
            & (Alert.next_attempt_at <= now)
            & (Alert.claimed_until.is_null() | (Alert.claimed_until <= now))
        )
        .order_by(Alert.next_attempt_at, Alert.id)
        .objects()
    )
    counts = {"sent": 0, "failed": 0}
    per_webhook: dict[str, int] = {}
    for alert in list(due):
        url = alert.alert_webhook or default_webhook
        if not url or per_webhook.get(url, 0) >= PER_WEBHOOK_PER_RUN:
            continue
        if not _claim(alert.id, now):
            continue
        per_webhook[url] = per_webhook.get(url, 0) + 1
        try:
            post(url, {"msgtype": "text", "text": {"content": alert.message}})
        except SendFailed as e:
            attempts = alert.attempts + 1
            Alert.update(
                claimed_until=None,
                last_error=str(e)[:300],
                next_attempt_at=now + retry_delay(attempts),
            ).where(Alert.id == alert.id).execute()
            log.warning("alert %s to %s failed: %s", alert.cause, webhook_host(url), e)
            counts["failed"] += 1
        else:
            Alert.update(sent_at=now, claimed_until=None, last_error="").where(
                Alert.id == alert.id
            ).execute()
            counts["sent"] += 1
    return counts


def recent_alerts(campaign_id: int | None = None, limit: int = 30) -> list[Alert]:
    """The latest alerts, unsent first, for the console (one query)."""
    query = Alert.select(Alert, Campaign.slug, Campaign.title).join(Campaign)
    if campaign_id is not None:
        query = query.where(Alert.campaign == campaign_id)
    unsent_first = fn.COALESCE(Alert.sent_at, Alert.next_attempt_at)
    return list(query.order_by(Alert.sent_at.is_null(False), unsent_first.desc()).limit(limit))


def all_full_notified(campaign_id: int) -> bool:
    """Whether staff were sent the alert for this campaign's current all-full episode: the
    all-full page may say so only then (two queries, on that page only)."""
    campaign = (
        Campaign.select(Campaign.id, Campaign.all_full_since)
        .where(Campaign.id == campaign_id)
        .get_or_none()
    )
    if campaign is None or campaign.all_full_since is None:
        return False
    cause = all_full_cause(campaign)
    return Alert.select().where((Alert.cause == cause) & Alert.sent_at.is_null(False)).exists()
