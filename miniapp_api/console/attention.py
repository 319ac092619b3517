"""What needs staff attention now: the list behind the console view and `qunbook attention`."""

from collections import Counter
from datetime import datetime, timedelta

from peewee import fn

from miniapp_api.checkins.rules import REWARD_KEY
from miniapp_api.i18n import _
from miniapp_api.livecode.places import sent_column
from miniapp_api.livecode.rules import QR_LIFETIME, open_condition
from miniapp_api.localtime import to_local
from miniapp_api.models import Activity, AddressQuota, Campaign, Group, Reward, utcnow

EXPIRY_WARNING = timedelta(hours=48)
NEAR_CUTOFF = 0.9
KINDS = (
    "qr-expired",
    "qr-expiring",
    "no-qr",
    "no-open-group",
    "near-cutoff",
    "address-limit",
    "event-full",
    "event-soon",
    "rewards-waiting",
)
# Scans held back by the per-address limit are shown for a day.
HELD_BACK_SHOWN = timedelta(hours=24)
# An event with tickets out is listed this long before it starts: staff for the door.
EVENT_SOON = timedelta(hours=24)


def _item(kind: str, campaign: str, group: str, message: str, cause: str) -> dict:
    # cause names this occurrence of the problem (a new QR, a new all-full episode is a new
    # one): alerts are sent once per cause.
    return {"kind": kind, "campaign": campaign, "group": group, "message": message, "cause": cause}


def needs_attention(now: datetime | None = None, tz: str = "Asia/Shanghai") -> list[dict]:
    """Expired, expiring or missing group QR codes, campaigns with no open group, groups near
    their cut-off, scans held back by the per-address limit, in campaigns that are not
    archived (staff put those away on purpose), events whose tickets ran out or that start
    within a day with tickets out (someone must check people in at the door), and challenge
    rewards waiting to be handed over; each a dict of kind, campaign (slug), group (name, ""
    for the campaign), message and cause. Six queries, whatever the number of campaigns,
    groups, events and rewards."""
    now = now or utcnow()
    found: list[dict] = []
    groups = (
        # Not the QR images: the list needs only the numbers and dates.
        Group.select(
            Group.id,
            Group.name,
            Group.cutoff,
            sent_column().alias("sent"),
            Group.active,
            Group.qr_digest,
            Group.qr_generated_at,
            Campaign.slug,
        )
        .join(Campaign)
        .where(Group.active & Campaign.archived_at.is_null())
        .order_by(Campaign.slug, Group.position, Group.id)
        .objects()
    )
    for g in groups:
        found.extend(_group_items(g, g.slug, now))
    found.extend(_campaign_items(now, tz))
    found.extend(_address_items(now))
    found.extend(_event_items(now, tz))
    found.extend(_reward_items())
    # Stable sort: each campaign's groups in their order, then the campaign's own item.
    found.sort(key=lambda item: item["campaign"])
    return found


def _group_items(group: Group, slug: str, now: datetime) -> list[dict]:
    items = []
    expires = group.qr_generated_at + QR_LIFETIME if group.qr_generated_at else None
    qr = f"{group.id}:{group.qr_digest}"
    if expires is None:
        message = _("还没有上传群二维码，活码不会把人送进这个群")
        items.append(_item("no-qr", slug, group.name, message, f"no-qr:{group.id}"))
    elif expires <= now:
        message = _("群二维码已过期，活码正在跳过这个群")
        items.append(_item("qr-expired", slug, group.name, message, f"qr-expired:{qr}"))
    elif expires - now <= EXPIRY_WARNING:
        hours = int((expires - now).total_seconds() // 3600)
        message = _("群二维码 %(hours)s 小时内过期，请在微信里重新生成并上传", hours=hours)
        items.append(_item("qr-expiring", slug, group.name, message, f"qr-expiring:{qr}"))
    if group.sent >= group.cutoff * NEAR_CUTOFF:
        if group.sent >= group.cutoff:
            message = _(
                "已送 %(sent)s/%(cutoff)s 人，已满：请准备下一个群",
                sent=group.sent,
                cutoff=group.cutoff,
            )
        else:
            message = _(
                "已送 %(sent)s/%(cutoff)s 人，快满了：请准备下一个群",
                sent=group.sent,
                cutoff=group.cutoff,
            )
        cause = f"near-cutoff:{group.id}:{group.cutoff}"
        items.append(_item("near-cutoff", slug, group.name, message, cause))
    return items


def _campaign_items(now: datetime, tz: str) -> list[dict]:
    open_campaigns = {
        row.campaign_id
        for row in Group.select(Group.campaign).where(open_condition(now)).distinct()
    }
    items = []
    campaigns = Campaign.select(Campaign.id, Campaign.slug, Campaign.all_full_since).where(
        Campaign.archived_at.is_null()
    )
    for campaign in campaigns.order_by(Campaign.slug):
        if campaign.id not in open_campaigns:
            message = _("没有开着的群：扫码的人只能看到“群已满员”，请添加群或上传新的二维码")
        elif campaign.all_full_since is not None:
            since = to_local(campaign.all_full_since, tz)
            message = _(
                "%(since)s 起有人扫码碰上所有群都满员：请确认新群已补上",
                since=since.strftime("%m-%d %H:%M"),
            )
        else:
            continue
        items.append(_item("no-open-group", campaign.slug, "", message, all_full_cause(campaign)))
    return items


def _address_items(now: datetime) -> list[dict]:
    rows = (
        AddressQuota.select(
            Campaign.slug,
            fn.SUM(AddressQuota.refused).alias("refused"),
            fn.COUNT(AddressQuota.id).alias("addresses"),
        )
        .join(Campaign)
        .where(
            (AddressQuota.window_start > now - HELD_BACK_SHOWN)
            & (AddressQuota.refused > 0)
            & Campaign.archived_at.is_null()
        )
        .group_by(Campaign.slug)
        .order_by(Campaign.slug)
        .dicts()
    )
    return [
        _item(
            "address-limit",
            row["slug"],
            "",
            _(
                "过去 24 小时有 %(refused)s 次扫码因同一网络超过每小时上限没有分到群"
                "（%(addresses)s 个网络·小时）：可能有人在刷群位；如果是门店 Wi-Fi 下的真实顾客，"
                "请调高 QUNBOOK_PLACES_PER_ADDRESS",
                refused=row["refused"],
                addresses=row["addresses"],
            ),
            f"address-limit:{row['slug']}",
        )
        for row in rows
    ]


def all_full_cause(campaign: Campaign) -> str:
    """The cause of a campaign's "no open group" item: a scan that met every group full (one
    episode per all_full_since), or no open group before anyone scanned."""
    if campaign.all_full_since is None:
        return f"no-open-group:{campaign.id}"
    return f"all-full:{campaign.id}:{campaign.all_full_since:%Y%m%dT%H%M%S}"


def _event_items(now: datetime, tz: str) -> list[dict]:
    """Events still to come whose tickets ran out (staff decide whether to add places), and
    events starting within EVENT_SOON that people hold tickets for (someone must be at the
    door to check them in): one query."""
    soon = now + EVENT_SOON
    full = Activity.capacity.is_null(False) & (Activity.tickets >= Activity.capacity)
    events = (
        Activity.select(
            Activity.id,
            Activity.title,
            Activity.capacity,
            Activity.tickets,
            Activity.starts_at,
            Campaign.slug,
        )
        .join(Campaign)
        .where(
            (Activity.kind == "event")
            & (Activity.starts_at > now)
            & (full | ((Activity.starts_at <= soon) & (Activity.tickets > 0)))
            & Campaign.archived_at.is_null()
        )
        .order_by(Campaign.slug, Activity.starts_at)
        .objects()
    )
    items = []
    for e in events:
        if e.capacity is not None and e.tickets >= e.capacity:
            message = _(
                "活动「%(title)s」的 %(capacity)s 个名额已经领完：需要的话在控制台加名额，"
                "或在群里说明已满",
                title=e.title,
                capacity=e.capacity,
            )
            cause = f"event-full:{e.id}:{e.capacity}"
            items.append(_item("event-full", e.slug, "", message, cause))
        if e.starts_at <= soon and e.tickets > 0:
            starts = to_local(e.starts_at, tz)
            message = _(
                "活动「%(title)s」%(time)s 开始，已发出 %(tickets)s 张票：请安排工作人员在门口"
                "签到（控制台活动页的“门口签到”）",
                title=e.title,
                time=starts.strftime("%m-%d %H:%M"),
                tickets=e.tickets,
            )
            cause = f"event-soon:{e.id}:{e.starts_at:%Y%m%dT%H%M%S}"
            items.append(_item("event-soon", e.slug, "", message, cause))
    return items


def _reward_items() -> list[dict]:
    """Challenges whose finishers hold rewards staff have not handed over yet (one query). The
    cause is the oldest reward waiting: once staff hand it over, what still waits is told
    again."""
    rows = (
        Reward.select(
            Campaign.id.alias("campaign_id"),
            Campaign.slug,
            fn.COUNT(Reward.id).alias("waiting"),
            fn.MIN(Reward.id).alias("oldest"),
        )
        .join(Campaign)
        .where(
            (Reward.key == REWARD_KEY)
            & Reward.redeemed_at.is_null()
            & Campaign.archived_at.is_null()
        )
        .group_by(Campaign.id, Campaign.slug)
        .order_by(Campaign.slug)
        .dicts()
    )
    return [
        _item(
            "rewards-waiting",
            row["slug"],
            "",
            _(
                "%(n)s 位完成打卡挑战的会员还没领到奖励：请在控制台的打卡页核对兑换码并发放",
                n=row["waiting"],
            ),
            f"rewards-waiting:{row['campaign_id']}:{row['oldest']}",
        )
        for row in rows
    ]


def count_by_campaign(items: list[dict]) -> dict[str, Counter]:
    """{campaign slug: Counter of kinds}, for flags on a list of campaigns."""
    counts: dict[str, Counter] = {}
    for item in items:
        counts.setdefault(item["campaign"], Counter())[item["kind"]] += 1
    return counts


def group_state(group: Group, now: datetime) -> str:
    """What the live code does with this group now, in the console's words."""
    if not group.active:
        return _("停用")
    if group.qr_generated_at is None:
        return _("没有二维码")
    if group.qr_generated_at + QR_LIFETIME <= now:
        return _("二维码已过期")
    if group.sent >= group.cutoff:
        return _("已满")
    return _("开着")


# ---------------------------------------------------------------- the site itself


def untrusted_proxy_warning(forwarded: bool, trusted_proxies: int) -> str | None:
    """What to tell staff when requests carry X-Forwarded-For but no proxy is trusted."""
    if not forwarded or trusted_proxies:
        return None
    return _(
        "请求经过了代理（带有 X-Forwarded-For），但没有设置 QUNBOOK_TRUSTED_PROXIES：所有人"
        "看起来都来自代理的地址，登录限流和同一网络的扫码上限会把大家当成一个人。"
        "一层代理（如 nginx）请设 QUNBOOK_TRUSTED_PROXIES=1，再重启 qunbook serve。"
    )


def https_without_proxy_warning(public_url: str, trusted_proxies: int) -> str | None:
    """`qunbook serve` speaks plain HTTP: an https public URL means a proxy in front."""
    if not public_url.startswith("https://") or trusted_proxies:
        return None
    return _(
        "警告：公开地址 %(url)s 是 https，说明前面有代理（如 nginx），但没有设置 "
        "QUNBOOK_TRUSTED_PROXIES：所有人看起来都来自代理的地址，登录限流会把大家当成一个人。"
        "一层代理请设 QUNBOOK_TRUSTED_PROXIES=1。",
        url=public_url,
    )
