"""The demo campaign the handbook links to, modelled on its mother-and-baby store case."""

import io
from datetime import timedelta

import qrcode

from . import livecode
from .db import db
from .groupqr import check_group_qr
from .models import Campaign, Group, utcnow

SLUG = "demo"
CAMPAIGN = {
    "title": "宝妈会员群（演示）",
    "promise": "进群领新人券，每周四会员专享价",
    "description": "门店会员的交流群：育儿经验、新品试用和每周一次的会员活动。",
    "rules": "1. 只聊育儿和好物，不发广告和链接。\n"
    "2. 每周四晚 8 点群内会员活动，周三发预告。\n"
    "3. 有问题 @群助手，24 小时内回复。",
    "staff_contact": "门店前台 · 陈店长",
}
CHANNELS = [("counter", "门店前台"), ("moments", "朋友圈"), ("live", "直播间")]
# (name, cut-off, people already sent, age of its QR): the first is nearly full and the
# second's QR is about to expire, so a class sees the switch and the expiry warning.
GROUPS = [
    ("宝妈交流1群", 200, 196, timedelta(days=2)),
    ("宝妈交流2群", 200, 0, timedelta(days=6, hours=2)),
    ("宝妈交流3群", 500, 0, timedelta(days=1)),
]


def demo_qr(number: int) -> bytes:
    """A stand-in for the group QR WeChat would give staff."""
    image = qrcode.make(f"https://weixin.qq.com/g/qunbook-demo-{number}", box_size=8, border=4)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def load(reset: bool = False) -> str:
    """Create the demo campaign if missing; otherwise renew any demo QR that has expired."""
    with db.atomic():
        existing = Campaign.get_or_none(Campaign.slug == SLUG)
        if existing and reset:
            existing.delete_instance(recursive=True)
            existing = None
        if existing:
            return renew(existing)
        campaign = livecode.create_campaign(SLUG, **CAMPAIGN)
        for code, label in CHANNELS:
            livecode.add_channel(campaign, code, label)
        now = utcnow()
        for number, (name, cutoff, sent, age) in enumerate(GROUPS, start=1):
            group = livecode.add_group(campaign, name, cutoff=cutoff)
            Group.update(sent=sent).where(Group.id == group.id).execute()
            livecode.set_group_qr(group, *_checked(number), generated_at=now - age)
    return "Loaded the demo campaign: /j/demo?c=counter"


def renew(campaign: Campaign) -> str:
    now = utcnow()
    renewed = 0
    for number, group in enumerate(campaign.groups.order_by(Group.position), start=1):
        expires = livecode.qr_expires_at(group)
        if expires is None or expires <= now + timedelta(hours=12):
            livecode.set_group_qr(group, *_checked(number), generated_at=now - timedelta(hours=1))
            renewed += 1
    return f"Demo campaign present; renewed {renewed} expiring QR code(s)."


def _checked(number: int):
    stored, payload, digest = check_group_qr(demo_qr(number))
    return stored, digest, payload
