"""The check-in demo: a 28-day challenge in progress and a meet-up with tickets.

The challenge is a plan first (plan(): pure, seeded, no database), so the handbook's 指标 page
can print the demo's stickiness by day from the same numbers the demo loads, and a test can
check the two agree. Days are counted from the challenge's start: the demo always starts the
challenge TODAY - 1 days ago, so a class sees day TODAY, with a history behind it.
"""

import hashlib
import io
import random
from datetime import datetime, time, timedelta

from PIL import Image, ImageDraw

from miniapp_api import playbooks
from miniapp_api.checkins import events
from miniapp_api.checkins import rules as checkins
from miniapp_api.demo_plan import DAYS, FINISH, GIVEN, SEED, SURNAMES, TODAY, plan
from miniapp_api.localtime import to_local, to_utc
from miniapp_api.models import Activity, Campaign, Group, Member, Participant, Response, Ticket
from miniapp_api.referrals.rules import CODE_ALPHABET, issue_reward

CHALLENGE_SLUG = "demo-challenge"
MEETUP_SLUG = "demo-meetup"
CHALLENGE = {
    "title": "28 天早起打卡（演示）",
    "promise": "28 天每天早起打卡，坚持 21 天送结营礼盒",
}
TASK = (
    "**今天的任务**：早上 7 点前起床，拍一张窗外的天空或早餐，写一句今天想做好的一件事。\n\n"
    "打卡时间到当晚 23:59 为止；漏了可以用补卡（整期 2 次，只能补最近 3 天）。"
)
DAY_TASKS = {
    1: "**开营第一天**：起床后在群里说一声早安，写下你参加挑战的原因。",
    7: "**第一周复盘**：这一周哪天起得最顺？写一句给下周的自己。",
    14: "**过半啦**：拍一张你的早餐，分享一个让早起变容易的小办法。",
    21: "**第 21 天**：坚持到今天就能领结营礼盒，写一句感谢陪你一起早起的人。",
}
NOTES = [
    "6:40 起床，窗外有雾，今天要把报表做完。",
    "第一次比闹钟先醒 ☀️",
    "早餐：小米粥和鸡蛋，准备出门跑步。",
    "昨晚熬夜了，今天还是爬起来了！",
    "和孩子一起看了日出。",
    "坚持的第二周，感觉精神好多了。",
    "下雨天也要打卡 ☔",
    "今天想做好的一件事：按时下班陪家人吃饭。",
]

MEETUP = {"title": "宝妈线下见面会（演示）", "promise": "报名领票，到场有伴手礼"}
# Demo tickets have fixed tokens so the handbook can link to them; public on purpose, and only
# ever in the demo (real tokens are 192 random bits). Each is 32 characters, as real ones are.
DEMO_TICKETS = [
    ("王小红", "demo-ticket-wangxiaohong-0000000"),
    ("李阿花", "demo-ticket-liahua-0000000000000"),
]
MEETUP_SIGNUPS = 24
PAST_EVENT_TICKETS, PAST_EVENT_ARRIVED = 30, 22


def load_challenge(set_qr, tz: str, now: datetime) -> Campaign:
    """The challenge campaign as planned, its day TODAY falling on today's local date."""
    campaign = playbooks.create_from_template(
        "checkin-28", CHALLENGE_SLUG, timezone=tz, now=now, **CHALLENGE
    )
    groups = list(campaign.groups.order_by(Group.position))
    for number, group in enumerate(groups, start=31):
        set_qr(group, number)
    today = to_local(now, tz).date()
    challenge = checkins.set_up_challenge(
        campaign,
        days=DAYS,
        starts_on=today - timedelta(days=TODAY - 1),
        timezone=tz,
        task=TASK,
        finish_days=FINISH,
        reward="结营礼盒",
        makeup_cards=2,
        makeup_window=3,
        day_tasks=DAY_TASKS,
    )
    day_ids = dict(
        Activity.select(Activity.number, Activity.id)
        .where((Activity.campaign == campaign.id) & (Activity.kind == "day"))
        .tuples()
    )
    rng = random.Random(SEED + 1)  # noqa: S311
    photos = [_photo(n) for n in range(3)]
    responses = []
    for number, person in enumerate(plan()):
        joined_at = to_utc(
            datetime.combine(checkins.date_of(challenge, person.first_day), time(8)), tz
        )
        member = Member.create(
            campaign=campaign.id,
            code=_code(f"challenge:{number}"),
            nickname=person.nickname,
            visitor=f"demo-checkin-{number:03d}-visitor",
            ip_hash=f"demo-checkin-{number}",
            created_at=joined_at,
        )
        group_id = groups[person.group].id if len(groups) > 1 else groups[0].id
        made_up = sum(1 for how in person.done.values() if how == "makeup")
        last = max(person.done, default=None)
        Participant.create(
            campaign=campaign.id,
            member=member.id,
            group=group_id,
            first_day=person.first_day,
            done=len(person.done),
            cards_used=made_up,
            last_at=_at(challenge, last, person.hours.get(last, 8), tz) if last else None,
            joined_at=joined_at,
        )
        for day, how in person.done.items():
            at = _at(challenge, day, person.hours[day], tz)
            if how == "makeup":
                at += timedelta(days=1)  # made up the day after
            note = rng.choice(NOTES) if rng.random() < 0.12 else ""
            photo = rng.choice(photos) if note and rng.random() < 0.3 else (None, None)
            responses.append(
                {
                    "campaign": campaign.id,
                    "activity": day_ids[day],
                    "member": member.id,
                    "group": group_id,
                    "how": how,
                    "note": note,
                    "photo": photo[0],
                    "photo_digest": photo[1],
                    "created_at": at,
                }
            )
        if len(person.done) >= FINISH:
            issue_reward(campaign.id, member.id, checkins.REWARD_KEY, "结营礼盒")
    for start in range(0, len(responses), 200):
        Response.insert_many(responses[start : start + 200]).execute()
    return campaign


def _at(challenge, day: int, hour: int, tz: str) -> datetime:
    return to_utc(datetime.combine(checkins.date_of(challenge, day), time(hour, 12)), tz)


def _photo(number: int) -> tuple[bytes, str]:
    """A small picture of a morning sky, drawn here (the demo ships no photos)."""
    colours = [("#FFB88C", "#DE6262"), ("#A1C4FD", "#C2E9FB"), ("#FBD786", "#F7797D")][number]
    image = Image.new("RGB", (480, 360), colours[0])
    draw = ImageDraw.Draw(image)
    for y in range(360):
        mix = y / 359
        a, b = (Image.new("RGB", (1, 1), c).getpixel((0, 0)) for c in colours)
        draw.line(
            [(0, y), (480, y)], fill=tuple(int(a[i] * (1 - mix) + b[i] * mix) for i in range(3))
        )
    draw.ellipse([190, 200, 290, 300], fill="#FFF3B0")
    out = io.BytesIO()
    image.save(out, "PNG")
    return checkins.clean_photo(out.getvalue())


def load_meetup(set_qr, tz: str, now: datetime) -> Campaign:
    """A meet-up five days ahead with tickets (two with fixed tokens), and last month's, whose
    door check-ins give the dashboard an attendance figure."""
    campaign = playbooks.create_from_template(
        "offline-meetup", MEETUP_SLUG, timezone=tz, now=now, **MEETUP
    )
    for number, group in enumerate(campaign.groups.order_by(Group.position), start=41):
        set_qr(group, number)
    group = campaign.groups.order_by(Group.position).first()
    for event in events.events_of(campaign.id):  # the template's own placeholder event
        event.delete_instance(recursive=True)
    today = to_local(now, tz).date()
    past = events.create_event(
        campaign,
        title="第一期宝妈见面会",
        starts_at=to_utc(datetime.combine(today - timedelta(days=30), time(14)), tz),
        place="门店二楼活动室",
        capacity=40,
    )
    coming = events.create_event(
        campaign,
        title="第二期宝妈见面会",
        starts_at=to_utc(datetime.combine(today + timedelta(days=5), time(14)), tz),
        place="门店二楼活动室",
        capacity=40,
    )
    rng = random.Random(SEED + 2)  # noqa: S311
    for number in range(PAST_EVENT_TICKETS):
        member = _meetup_member(campaign, f"past-{number:02d}", SURNAMES[number % 20] + "女士")
        ticket = events.issue_ticket(
            past, holder=member.nickname, member=member, group_id=group.id, now=past.starts_at
        )
        if number < PAST_EVENT_ARRIVED:
            arrived = past.starts_at - timedelta(minutes=rng.randint(0, 25))
            events.check_in_ticket(past, ticket.token, now=arrived)
    for number in range(MEETUP_SIGNUPS):
        holder, token = DEMO_TICKETS[number] if number < len(DEMO_TICKETS) else (None, None)
        nickname = holder or SURNAMES[(number + 7) % 20] + GIVEN[number % len(GIVEN)]
        member = _meetup_member(campaign, f"coming-{number:02d}", nickname)
        ticket = events.issue_ticket(coming, holder=nickname, member=member, group_id=group.id)
        if token:
            Ticket.update(token=token).where(Ticket.id == ticket.id).execute()
    return campaign


def _meetup_member(campaign, key: str, nickname: str) -> Member:
    return Member.create(
        campaign=campaign.id,
        code=_code(f"meetup:{key}"),
        nickname=nickname,
        visitor=f"demo-meetup-{key}-visitor",
        ip_hash=f"demo-meetup-{key}",
    )


def _code(key: str) -> str:
    """A stable member code for a demo member, in the alphabet real codes use."""
    digest = hashlib.sha256(key.encode()).digest()
    return "".join(CODE_ALPHABET[b % len(CODE_ALPHABET)] for b in digest[:8])
