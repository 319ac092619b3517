"""What needs staff attention now: the list behind the console view and `qunbook attention`."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from .livecode import QR_LIFETIME, open_condition
from .models import Campaign, Group, utcnow

EXPIRY_WARNING = timedelta(hours=48)
NEAR_CUTOFF = 0.9


@dataclass(frozen=True)
class Attention:
    kind: str  # qr-expiring, qr-expired, no-qr, no-open-group, near-cutoff
    campaign: str
    group: str
    message: str


def needs_attention(now: datetime | None = None) -> list[Attention]:
    """Expiring or missing group QR codes, campaigns with no open group, groups near their
    cut-off. Two queries, whatever the number of campaigns and groups."""
    now = now or utcnow()
    found: list[Attention] = []
    groups = (
        Group.select(Group, Campaign.slug)
        .join(Campaign)
        .where(Group.active)
        .order_by(Campaign.slug, Group.position, Group.id)
        .objects()
    )
    for g in groups:
        expires = g.qr_generated_at + QR_LIFETIME if g.qr_generated_at else None
        if expires is None:
            found.append(Attention("no-qr", g.slug, g.name, "还没有上传群二维码"))
        elif expires <= now:
            found.append(
                Attention("qr-expired", g.slug, g.name, "群二维码已过期，活码正在跳过这个群")
            )
        elif expires - now <= EXPIRY_WARNING:
            hours = int((expires - now).total_seconds() // 3600)
            found.append(
                Attention("qr-expiring", g.slug, g.name, f"群二维码 {hours} 小时内过期，请重新上传")
            )
        if g.sent >= g.cutoff * NEAR_CUTOFF:
            found.append(
                Attention("near-cutoff", g.slug, g.name, f"已送 {g.sent}/{g.cutoff} 人，快满了")
            )
    open_campaigns = {
        row.campaign_id
        for row in Group.select(Group.campaign).where(open_condition(now)).distinct()
    }
    for campaign in Campaign.select(Campaign.id, Campaign.slug).order_by(Campaign.slug):
        if campaign.id not in open_campaigns:
            found.append(
                Attention(
                    "no-open-group", campaign.slug, "", "没有开着的群：扫码的人只能看到“群已满员”"
                )
            )
    return found
