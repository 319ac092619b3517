"""The demo campaigns the handbook links to: a store live code modelled on its
mother-and-baby store case, and a friend-referral campaign with a few members."""

import io
from datetime import timedelta

import qrcode

from miniapp_api import demo_checkins, playbooks
from miniapp_api.checkins import rules as checkins
from miniapp_api.db import db
from miniapp_api.i18n import _
from miniapp_api.invitations import rules as invitations
from miniapp_api.livecode import places
from miniapp_api.livecode import rules as livecode
from miniapp_api.livecode.groupqr import check_group_qr
from miniapp_api.models import Campaign, Customer, Group, Invitation, utcnow
from miniapp_api.referrals import rules as referrals

SLUG = "demo"
FISSION_SLUG = "demo-fission"
FISSION = {"title": "好友同享群（演示）", "promise": "邀请 3 位朋友得 9 折券，朋友也有新人券"}
# (nickname, index of the member whose poster brought them): a small two-level tree, so the
# leaderboard, the progress page and the console's referral list have something to show.
FISSION_MEMBERS = [
    ("陈店长", None),
    ("快乐的小红", 0),
    ("王小明", 0),
    ("阿花", 1),
    ("李大姐", 1),
    ("周周", 3),
]
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

VIP_SLUG = "demo-vip"
VIP = {
    "rights": "- 周四专享价：精选商品 **8 折**\n- 群内优先答疑，新品先试\n- 生日月再送一份小礼",
    "offer_url": "https://shop.example.cn/vip-thursday",
    "offer_label": "去看本周专享",
}
# Demo invitations have fixed tokens so the handbook can link to them. They are public on
# purpose and only ever exist in the demo; real invitations get 192 random bits each.
VIP_CUSTOMERS = [
    ("demo-c1", "王丽", "杭州", 1_280_000, "demo-invitation-wangli"),
    ("demo-c2", "陈静", "杭州", 560_000, "demo-invitation-chenjing"),
    ("demo-c3", "李娜", "宁波", 86_000, "demo-invitation-lina"),
]


def demo_qr(number: int) -> bytes:
    """A stand-in for the group QR WeChat would give staff."""
    image = qrcode.make(f"https://weixin.qq.com/g/qunbook-demo-{number}", box_size=8, border=4)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def load(reset: bool = False, tz: str = "Asia/Shanghai") -> str:
    """Create the demo campaign if missing; otherwise renew any demo QR that has expired."""
    with db.atomic():
        existing = Campaign.get_or_none(Campaign.slug == SLUG)
        if existing and reset:
            existing.delete_instance(recursive=True)
            existing = None
        if existing:
            return renew(existing, tz)
        campaign = livecode.create_campaign(SLUG, **CAMPAIGN)
        for code, label in CHANNELS:
            livecode.add_channel(campaign, code, label)
        now = utcnow()
        for number, (name, cutoff, sent, age) in enumerate(GROUPS, start=1):
            group = livecode.add_group(campaign, name, cutoff=cutoff)
            places.lay_out(group.id, sent)
            livecode.set_group_qr(group, *_checked(number), generated_at=now - age)
        _load_fission(reset)
        _load_vip(reset)
        _load_checkins(reset, tz)
    return _(
        "已载入演示活动：/j/demo?c=counter, /j/demo-fission, "
        "/vip/demo-invitation-wangli, /c/demo-challenge, /j/demo-meetup"
    )


def _load_checkins(reset: bool, tz: str) -> None:
    """The 28-day challenge in progress and the meet-up with tickets (demo_checkins.py). A
    challenge that has run to its end is loaded afresh, so a class always finds one going."""
    now = utcnow()
    for slug in (demo_checkins.CHALLENGE_SLUG, demo_checkins.MEETUP_SLUG):
        existing = Campaign.get_or_none(Campaign.slug == slug)
        stale = existing and slug == demo_checkins.CHALLENGE_SLUG and _challenge_over(existing, now)
        if existing and (reset or stale):
            existing.delete_instance(recursive=True)
            existing = None
        if existing:
            continue
        if slug == demo_checkins.CHALLENGE_SLUG:
            demo_checkins.load_challenge(_set_qr, tz, now)
        else:
            demo_checkins.load_meetup(_set_qr, tz, now)


def _challenge_over(campaign: Campaign, now) -> bool:
    challenge = checkins.challenge_of(campaign.id)
    return challenge is None or checkins.ended(challenge, now)


def _set_qr(group: Group, number: int) -> None:
    livecode.set_group_qr(group, *_checked(number), generated_at=utcnow())


def _load_vip(reset: bool) -> None:
    existing = Campaign.get_or_none(Campaign.slug == VIP_SLUG)
    if existing and reset:
        Customer.delete().where(Customer.external_id.startswith("demo-")).execute()
        existing.delete_instance(recursive=True)
        existing = None
    if existing:
        return
    campaign = playbooks.create_from_template("vip-weekly-sale", VIP_SLUG)
    for number, group in enumerate(campaign.groups.order_by(Group.position), start=21):
        livecode.set_group_qr(group, *_checked(number), generated_at=utcnow())
    program = invitations.set_up_program(campaign, valid_days=365, **VIP)
    now = utcnow()
    for external_id, name, region, fen, token in VIP_CUSTOMERS:
        customer, _created = Customer.get_or_create(
            external_id=external_id,
            defaults={"name": name, "region": region, "purchase_total": fen},
        )
        Invitation.create(
            campaign=campaign,
            customer=customer,
            token=token,
            created_at=now,
            expires_at=now + timedelta(days=program.valid_days),
        )


def _load_fission(reset: bool) -> None:
    existing = Campaign.get_or_none(Campaign.slug == FISSION_SLUG)
    if existing and reset:
        existing.delete_instance(recursive=True)
        existing = None
    if existing:
        return
    campaign = playbooks.create_from_template("friend-referral", FISSION_SLUG, **FISSION)
    for number, group in enumerate(campaign.groups.order_by(Group.position), start=1):
        livecode.set_group_qr(group, *_checked(10 + number), generated_at=utcnow())
    members = []
    for number, (nickname, brought_by) in enumerate(FISSION_MEMBERS):
        code = members[brought_by].code if brought_by is not None else None
        visitor, ip_hash = f"demo-member-{number}", f"demo-{number}"
        # As on a phone: the poster's live code sends them to a group, then they sign up
        # (a friend counts only once the live code has sent them).
        livecode.record_scan(campaign.id, None, visitor, "wechat", ip_hash)
        joined = referrals.sign_up(
            campaign.id,
            nickname=nickname,
            visitor=visitor,
            agent="wechat",
            ip_hash=ip_hash,
            referrer_code=code,
        )
        members.append(joined.member)


def renew(campaign: Campaign, tz: str = "Asia/Shanghai") -> str:
    renewed = _renew_groups(campaign, first_number=1)
    fission_campaign = Campaign.get_or_none(Campaign.slug == FISSION_SLUG)
    if fission_campaign is None:
        _load_fission(reset=False)
    else:
        renewed += _renew_groups(fission_campaign, first_number=11)
    vip_campaign = Campaign.get_or_none(Campaign.slug == VIP_SLUG)
    if vip_campaign is None:
        _load_vip(reset=False)
    else:
        renewed += _renew_groups(vip_campaign, first_number=21)
    _load_checkins(reset=False, tz=tz)
    for slug, first in ((demo_checkins.CHALLENGE_SLUG, 31), (demo_checkins.MEETUP_SLUG, 41)):
        renewed += _renew_groups(Campaign.get(Campaign.slug == slug), first_number=first)
    return _("演示活动已在；更新了 %(renewed)s 个快过期的二维码。", renewed=renewed)


def _renew_groups(campaign: Campaign, first_number: int) -> int:
    now = utcnow()
    renewed = 0
    groups = campaign.groups.order_by(Group.position)
    for number, group in enumerate(groups, start=first_number):
        expires = livecode.qr_expires_at(group)
        if expires is None or expires <= now + timedelta(hours=12):
            livecode.set_group_qr(group, *_checked(number), generated_at=now - timedelta(hours=1))
            renewed += 1
    return renewed


def _checked(number: int):
    stored, payload, digest = check_group_qr(demo_qr(number))
    return stored, digest, payload
