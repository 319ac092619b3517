"""What needs staff attention now: the list behind the console view and `qunbook attention`."""

from collections import Counter
from datetime import datetime, timedelta

from peewee import fn

from miniapp_api.livecode.rules import QR_LIFETIME, open_condition
from miniapp_api.localtime import to_local
from miniapp_api.models import Activity, AddressQuota, Campaign, Group, utcnow

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
)
# Scans held back by the per-address limit are shown for a day.
HELD_BACK_SHOWN = timedelta(hours=24)


def _item(kind: str, campaign: str, group: str, message: str, cause: str) -> dict:
    # cause names this occurrence of the problem (a new QR, a new all-full episode is a new
    # one): alerts are sent once per cause.
    return {"kind": kind, "campaign": campaign, "group": group, "message": message, "cause": cause}


def needs_attention(now: datetime | None = None, tz: str = "Asia/Shanghai") -> list[dict]:
    """Expired, expiring or missing group QR codes, campaigns with no open group, groups near
    their cut-off, scans held back by the per-address limit, in campaigns that are not
    archived (staff put those away on purpose), and events whose tickets ran out; each a dict
    of kind, campaign (slug), group (name, "" for the campaign), message and cause. Five
    queries, whatever the number of campaigns and groups."""
    now = now or utcnow()
    found: list[dict] = []
    groups = (
        # Not the QR images: the list needs only the numbers and dates.
        Group.select(
            Group.id,
            Group.name,
            Group.cutoff,
            Group.sent,
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
    found.extend(_event_items(now))
    # Stable sort: each campaign's groups in their order, then the campaign's own item.
    found.sort(key=lambda item: item["campaign"])
    return found


def _group_items(group: Group, slug: str, now: datetime) -> list[dict]:
    items = []
    expires = group.qr_generated_at + QR_LIFETIME if group.qr_generated_at else None
    qr = f"{group.id}:{group.qr_digest}"
    if expires is None:
        message = "还没有上传群二维码，活码不会把人送进这个群"
        items.append(_item("no-qr", slug, group.name, message, f"no-qr:{group.id}"))
    elif expires <= now:
        message = "群二维码已过期，活码正在跳过这个群"
        items.append(_item("qr-expired", slug, group.name, message, f"qr-expired:{qr}"))
    elif expires - now <= EXPIRY_WARNING:
        hours = int((expires - now).total_seconds() // 3600)
        message = f"群二维码 {hours} 小时内过期，请在微信里重新生成并上传"
        items.append(_item("qr-expiring", slug, group.name, message, f"qr-expiring:{qr}"))
    if group.sent >= group.cutoff * NEAR_CUTOFF:
        state = "已满" if group.sent >= group.cutoff else "快满了"
        message = f"已送 {group.sent}/{group.cutoff} 人，{state}：请准备下一个群"
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
            message = "没有开着的群：扫码的人只能看到“群已满员”，请添加群或上传新的二维码"
        elif campaign.all_full_since is not None:
            since = to_local(campaign.all_full_since, tz)
            message = f"{since:%m-%d %H:%M} 起有人扫码碰上所有群都满员：请确认新群已补上"
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
            f"过去 24 小时有 {row['refused']} 次扫码因同一网络超过每小时上限没有分到群"
            f"（{row['addresses']} 个网络·小时）：可能有人在刷群位；如果是门店 Wi-Fi 下的真实顾客，"
            "请调高 QUNBOOK_PLACES_PER_ADDRESS",
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


def _event_items(now: datetime) -> list[dict]:
    """Events still to come whose tickets ran out: staff decide whether to add places."""
    events = (
        Activity.select(
            Activity.id, Activity.title, Activity.capacity, Activity.tickets, Campaign.slug
        )
        .join(Campaign)
        .where(
            (Activity.kind == "event")
            & Activity.capacity.is_null(False)
            & (Activity.tickets >= Activity.capacity)
            & (Activity.starts_at > now)
            & Campaign.archived_at.is_null()
        )
        .order_by(Campaign.slug, Activity.starts_at)
        .objects()
    )
    return [
        _item(
            "event-full",
            e.slug,
            "",
            f"活动「{e.title}」的 {e.capacity} 个名额已经领完：需要的话在控制台加名额，"
            "或在群里说明已满",
            f"event-full:{e.id}:{e.capacity}",
        )
        for e in events
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
        return "停用"
    if group.qr_generated_at is None:
        return "没有二维码"
    if group.qr_generated_at + QR_LIFETIME <= now:
        return "二维码已过期"
    if group.sent >= group.cutoff:
        return "已满"
    return "开着"
