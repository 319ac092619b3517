"""Daily challenges (打卡), the rules: setting one up, joining it, checking in, make-up cards
(补卡), streaks, the calendar, the leaderboard, the wall and the finishing reward.

Each challenge day is an activity (kind "day", numbered from 1) and a check-in is a response
to it, so "one check-in per member per day" is the unique (activity, member) index. Days are
numbered, not dated: the date of day k is read from the challenge's start date and time zone
when it is needed, so moving the start or changing the zone never moves or doubles a stored
check-in. Plain functions over the models; the check-in blueprint, the console, the API, the
demo and the CLI call them.
"""

import calendar as monthdays
import hashlib
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from peewee import JOIN, IntegrityError, fn
from PIL import ImageOps

from miniapp_api.db import db, write_transaction
from miniapp_api.i18n import _
from miniapp_api.localtime import to_local
from miniapp_api.models import (
    Activity,
    Challenge,
    Member,
    Participant,
    Response,
    Reward,
    utcnow,
)
from miniapp_api.referrals.rules import issue_reward, mask_nickname
from miniapp_api.uploads import InvalidUpload, read_image

MAX_DAYS = 366
MAX_NOTE = 200
PHOTO_BYTES = 12 * 1024 * 1024  # as for avatars: a photo straight from the album
PHOTO_SIDE = 1280
MAX_TASK = 4000
MAX_REWARD = 60
# The reward key a finished challenge issues under: the unique (member, key) index makes it once.
REWARD_KEY = "challenge"
WALL_PAGE = 30


class CheckinError(ValueError):
    """Input a member or staff gave that cannot be used; the message says what to do."""


class CheckinConflict(CheckinError):
    """Refused by what is stored already: the day is checked in, the make-up cards are spent.
    (Pages answer 409 for these and 400 for the other refusals.)"""


@dataclass(frozen=True)
class CheckIn:
    response: Response
    number: int  # the challenge day it answered
    done: int  # days the member has now answered
    finished: bool  # this check-in reached the finishing number of days


# ---------------------------------------------------------------- days and dates


def local_today(challenge: Challenge, now: datetime) -> date:
    return to_local(now, challenge.timezone).date()


def day_number(challenge: Challenge, on: date) -> int:
    """The challenge day a local date is (below 1 before the start, above `days` after)."""
    return (on - challenge.starts_on).days + 1


def date_of(challenge: Challenge, number: int) -> date:
    return challenge.starts_on + timedelta(days=number - 1)


def today_number(challenge: Challenge, now: datetime) -> int:
    return day_number(challenge, local_today(challenge, now))


def ended(challenge: Challenge, now: datetime) -> bool:
    return today_number(challenge, now) > challenge.days


# ---------------------------------------------------------------- set-up


def challenge_of(campaign_id: int) -> Challenge | None:
    return Challenge.get_or_none(Challenge.campaign == campaign_id)


def join_offer(campaign_id: int, visitor: str | None, now: datetime | None = None) -> dict | None:
    """What the campaign's join page says about its challenge: None when there is none a
    member could join now (none, hidden, ended); else {"challenge", "joined"}, where joined
    tells whether this visitor (None: a new one) takes part already."""
    challenge = challenge_of(campaign_id)
    if challenge is None or challenge.hidden or ended(challenge, now or utcnow()):
        return None
    member = visitor and Member.get_or_none(
        (Member.campaign == campaign_id) & (Member.visitor == visitor)
    )
    joined = bool(member and participant_of(member))
    return {"challenge": challenge, "joined": joined}


def open_challenge(campaign_id: int) -> Challenge:
    """The campaign's challenge if members may see it; CheckinError otherwise."""
    challenge = challenge_of(campaign_id)
    if challenge is None or challenge.hidden:
        raise CheckinError(_("这个打卡挑战不存在或已经关闭：回到活动群里问问群主。"))
    return challenge


def check_timezone(name: str) -> str:
    name = (name or "").strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file
        raise CheckinError(
            _("不认识时区「%(name)s」：请写 IANA 时区名，例如 Asia/Shanghai。", name=name[:64])
        ) from None
    return name


def _whole(value, low: int, high: int, message: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise CheckinError(message)
    return value


def set_up_challenge(
    campaign,
    *,
    days: int,
    starts_on: date,
    timezone: str,
    task: str = "",
    finish_days: int | None = None,
    reward: str = "",
    makeup_cards: int = 2,
    makeup_window: int = 3,
    hidden: bool = False,
    day_tasks: dict[int, str] | None = None,
) -> Challenge:
    """Create or change a campaign's challenge and its day activities. Shortening it is
    refused while a day it would drop has check-ins; day_tasks {number: Markdown} replaces
    the tasks of those days ("" gives the day back the challenge's task)."""
    days = _whole(days, 1, MAX_DAYS, _("天数要是 1–%(max)s 的整数，例如 28。", max=MAX_DAYS))
    if not isinstance(starts_on, date) or isinstance(starts_on, datetime):
        raise CheckinError(_("开始日期要写成 2026-12-01 这样的日期。"))
    timezone = check_timezone(timezone)
    finish_days = days if finish_days is None else finish_days
    finish_days = _whole(
        finish_days,
        1,
        days,
        _("完成条件要是 1–%(days)s 的整数（%(days)s 天里打卡几天算完成）。", days=days),
    )
    makeup_cards = _whole(
        makeup_cards, 0, MAX_DAYS, _("补卡次数要是 0–%(max)s 的整数。", max=MAX_DAYS)
    )
    makeup_window = _whole(
        makeup_window, 0, MAX_DAYS, _("补卡期限要是 0–%(max)s 天。", max=MAX_DAYS)
    )
    task = _text(task, MAX_TASK, _("每日任务"))
    reward = _text(reward, MAX_REWARD, _("完成奖励"))
    tasks = {}
    for number, text in (day_tasks or {}).items():
        _whole(number, 1, days, _("第几天要是 1–%(days)s 的整数。", days=days))
        tasks[number] = _text(text, MAX_TASK, _("第 %(n)s 天的任务", n=number))
    settings = {
        "days": days,
        "starts_on": starts_on,
        "timezone": timezone,
        "task": task,
        "finish_days": finish_days,
        "reward": reward,
        "makeup_cards": makeup_cards,
        "makeup_window": makeup_window,
        "hidden": bool(hidden),
    }
    with write_transaction():
        challenge = challenge_of(campaign.id)
        if challenge is None:
            try:
                with db.atomic():
                    challenge = Challenge.create(campaign=campaign, **settings)
            except IntegrityError:
                # A concurrent request set it up first: change that one.
                challenge = challenge_of(campaign.id)
        dropped = Activity.select(Activity.id).where(
            (Activity.campaign == campaign.id) & (Activity.kind == "day") & (Activity.number > days)
        )
        if Response.select().where(Response.activity.in_(dropped)).exists():
            raise CheckinError(
                _(
                    "第 %(days)s 天之后已经有人打卡了：挑战不能改得比这更短。可以把天数改回去，"
                    "或者隐藏这个挑战。",
                    days=days,
                )
            )
        Activity.delete().where(Activity.id.in_(dropped)).execute()
        Challenge.update(**settings).where(Challenge.id == challenge.id).execute()
        have = {
            number
            for (number,) in Activity.select(Activity.number)
            .where((Activity.campaign == campaign.id) & (Activity.kind == "day"))
            .tuples()
        }
        missing = [
            {
                "campaign": campaign.id,
                "kind": "day",
                "number": n,
                "title": f"第 {n} 天",  # i18n: content
            }
            for n in range(1, days + 1)
            if n not in have
        ]
        for start in range(0, len(missing), 100):
            Activity.insert_many(missing[start : start + 100]).execute()
        for number, text in tasks.items():
            Activity.update(task=text).where(
                (Activity.campaign == campaign.id)
                & (Activity.kind == "day")
                & (Activity.number == number)
            ).execute()
    return Challenge.get_by_id(challenge.id)


def _text(value, limit: int, label: str) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else None
    if text is None:
        raise CheckinError(_("%(label)s要是文字。", label=label))
    if "\x00" in text:
        raise CheckinError(_("%(label)s里有无法保存的字符：请重新输入。", label=label))
    if len(text) > limit:
        raise CheckinError(
            _(
                "%(label)s最多 %(limit)s 个字，现在有 %(count)s 个。",
                label=label,
                limit=limit,
                count=len(text),
            )
        )
    return text


def day_activity(campaign_id: int, number: int) -> Activity | None:
    return Activity.get_or_none(
        (Activity.campaign == campaign_id) & (Activity.kind == "day") & (Activity.number == number)
    )


def task_of(challenge: Challenge, number: int) -> str:
    """The Markdown task of day `number`: its own, or the challenge's."""
    activity = day_activity(challenge.campaign_id, number)
    return (activity.task if activity and activity.task else "") or challenge.task


# ---------------------------------------------------------------- joining


def participant_of(member: Member) -> Participant | None:
    return Participant.get_or_none(Participant.member == member.id)


def join(
    challenge: Challenge,
    member: Member,
    *,
    group_id: int | None = None,
    now: datetime | None = None,
) -> Participant:
    """Make the member a participant (or give back their participation). Someone who joins
    after the start is called to the days from today on; the days before are not theirs."""
    now = now or utcnow()
    if challenge.hidden:
        raise CheckinError(_("这个打卡挑战已经关闭，不能再报名了。"))
    today = today_number(challenge, now)
    if today > challenge.days:
        raise CheckinError(_("这期挑战已经结束了：留在群里，等下一期开始。"))
    existing = participant_of(member)
    if existing:
        return existing
    try:
        with db.atomic():
            return Participant.create(
                campaign=challenge.campaign_id,
                member=member.id,
                group=group_id,
                first_day=max(1, today),
                joined_at=now,
            )
    except IntegrityError:
        # The same member joined in a concurrent request (a double tap): that one stands.
        return participant_of(member)


# ---------------------------------------------------------------- checking in


def clean_note(text: str | None) -> str:
    note = (text or "").strip()
    if "\x00" in note:
        raise CheckinError(_("打卡心得里有无法保存的字符：请重新输入。"))
    if len(note) > MAX_NOTE:
        raise CheckinError(
            _(
                "打卡心得最多 %(limit)s 个字，现在有 %(count)s 个：删短一点再打卡。",
                limit=MAX_NOTE,
                count=len(note),
            )
        )
    return note


def clean_photo(data: bytes | None) -> tuple[bytes, str] | tuple[None, None]:
    """A JPEG of at most 1280 px on its longer side, re-encoded so nothing hidden in the upload
    (EXIF location, trailing data) is kept; with a short digest for its URL."""
    if not data:
        return None, None
    try:
        image = read_image(data, _("打卡照片"), PHOTO_BYTES, shrink_to=PHOTO_SIDE)
    except InvalidUpload:
        raise CheckinError(_("照片要是 12 MB 以内的 JPEG 或 PNG 图片；也可以不传照片。")) from None
    image = ImageOps.exif_transpose(image).convert("RGB")
    image.thumbnail((PHOTO_SIDE, PHOTO_SIDE))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=82)
    photo = out.getvalue()
    return photo, hashlib.sha256(photo).hexdigest()[:16]


def check_in(
    challenge: Challenge,
    member: Member,
    *,
    note: str = "",
    photo: bytes | None = None,
    now: datetime | None = None,
) -> CheckIn:
    """Today's check-in. Note and photo must already be cleaned (clean_note, clean_photo)."""
    now = now or utcnow()
    if challenge.hidden:
        raise CheckinError(_("这个打卡挑战已经关闭，不能再打卡了。"))
    number = today_number(challenge, now)
    if number < 1:
        raise CheckinError(
            _(
                "挑战 %(day)s 才开始：那天再来打第一次卡。",
                day=challenge.starts_on.strftime("%Y-%m-%d"),
            )
        )
    if number > challenge.days:
        raise CheckinError(_("这期挑战已经结束了，不能再打卡：去看看你的打卡日历吧。"))
    return _respond(challenge, member, number, "button", note, photo, now, card=False)


def make_up(
    challenge: Challenge,
    member: Member,
    number: int,
    *,
    note: str = "",
    photo: bytes | None = None,
    now: datetime | None = None,
) -> CheckIn:
    """Fill a missed day with a make-up card: only a day inside the window, never today or
    a day to come, never twice, and never more cards than the challenge gives."""
    now = now or utcnow()
    if challenge.hidden:
        raise CheckinError(_("这个打卡挑战已经关闭，不能再补卡了。"))
    today = today_number(challenge, now)
    if not isinstance(number, int) or isinstance(number, bool):
        raise CheckinError(_("要补哪一天？请在日历上点那一天的补卡。"))
    if number < 1 or number > challenge.days:
        raise CheckinError(
            _("挑战只有第 1–%(days)s 天：请在日历上选要补的那一天。", days=challenge.days)
        )
    if number >= today:
        raise CheckinError(_("补卡只能补已经过去的日子：今天的卡请直接打，以后的日子还没到。"))
    if today - number > challenge.makeup_window:
        raise CheckinError(
            _(
                "补卡只能补最近 %(window)s 天内漏掉的日子，第 %(n)s 天已经过了期限。",
                window=challenge.makeup_window,
                n=number,
            )
        )
    return _respond(challenge, member, number, "makeup", note, photo, now, card=True)


def _respond(challenge, member, number, how, note, photo, now, *, card) -> CheckIn:
    photo_data, digest = photo if isinstance(photo, tuple) else (photo, None)
    with write_transaction():
        participant = participant_of(member)
        if participant is None:
            raise CheckinError(_("你还没有报名这个挑战：先点「参加挑战」，再来打卡。"))
        if number < participant.first_day:
            raise CheckinError(
                _(
                    "你是第 %(n)s 天加入的，之前的日子不用补：从加入那天算起就好。",
                    n=participant.first_day,
                )
            )
        # Lock the participant's row first, so one member's check-ins, cards and reward are
        # decided one at a time (PostgreSQL holds the lock until commit; SQLite's write
        # transaction is exclusive already).
        Participant.update(done=Participant.done).where(Participant.id == participant.id).execute()
        activity = day_activity(challenge.campaign_id, number)
        if activity is None:  # set-up and pages disagree: never store a day that is not there
            raise CheckinError(_("这一天不在挑战里：刷新页面再试。"))
        try:
            with db.atomic():
                response = Response.create(
                    campaign=challenge.campaign_id,
                    activity=activity.id,
                    member=member.id,
                    group=participant.group_id,
                    how=how,
                    note=note,
                    photo=photo_data,
                    photo_digest=digest,
                    created_at=now,
                )
        except IntegrityError:
            raise CheckinConflict(_already(challenge, member, activity, number, how)) from None
        if card:
            spent = (
                Participant.update(cards_used=Participant.cards_used + 1)
                .where(
                    (Participant.id == participant.id)
                    & (Participant.cards_used < challenge.makeup_cards)
                )
                .execute()
            )
            if not spent:
                # Raising rolls the response back with the transaction: no card, no make-up.
                raise CheckinConflict(
                    _("补卡次数已经用完了（每人 %(n)s 次）。", n=challenge.makeup_cards)
                )
        Participant.update(done=Participant.done + 1, last_at=now).where(
            Participant.id == participant.id
        ).execute()
        done = Participant.get_by_id(participant.id).done
        finished = done == challenge.finish_days
        if done >= challenge.finish_days and challenge.reward:
            issue_reward(challenge.campaign_id, member.id, REWARD_KEY, challenge.reward)
    return CheckIn(response, number, done, finished)


def _already(challenge, member, activity, number, how) -> str:
    earlier = Response.get_or_none(
        (Response.activity == activity.id) & (Response.member == member.id)
    )
    when = to_local(earlier.created_at, challenge.timezone) if earlier else None
    if how == "makeup":
        return _("第 %(n)s 天已经打过卡了，不用补。", n=number)
    if when:
        return _("今天已经打过卡了（%(time)s）：明天再来。", time=when.strftime("%H:%M"))
    return _("今天已经打过卡了：明天再来。")


# ---------------------------------------------------------------- what a member sees


def answered(member: Member) -> dict[int, str]:
    """{day number: how} of the member's check-ins, in one query."""
    rows = (
        Response.select(Activity.number, Response.how)
        .join(Activity)
        .where((Response.member == member.id) & (Activity.kind == "day"))
        .tuples()
    )
    return dict(rows)


def streaks(done: set[int] | dict, today: int, days: int) -> tuple[int, int]:
    """(current, longest) runs of consecutive days done, made-up days included. The current
    run is still alive today while today is not yet done; after the end it is the run that
    reached the last day (0 when the last day was missed)."""
    last = min(today, days)
    if last == today and last not in done:
        last -= 1  # today is not over: yesterday's run is still alive
    current = 0
    while last >= 1 and last in done:
        current += 1
        last -= 1
    longest = run = 0
    for number in range(1, days + 1):
        run = run + 1 if number in done else 0
        longest = max(longest, run)
    return current, longest


def calendar(challenge: Challenge, done: dict[int, str], today: int, first_day: int = 1):
    """The challenge's months as weeks (Monday first) of cells: {date, number, state}, where
    state is done, made_up, missed, today, future, before (not yet joined) or None (a date
    outside the challenge)."""
    start, end = challenge.starts_on, date_of(challenge, challenge.days)
    months = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        weeks = []
        for week in monthdays.Calendar(firstweekday=0).monthdatescalendar(year, month):
            cells = []
            for day in week:
                number = day_number(challenge, day)
                if day.month != month or not 1 <= number <= challenge.days:
                    cells.append(
                        {"date": day, "number": None, "state": None, "in_month": day.month == month}
                    )
                    continue
                cells.append(
                    {
                        "date": day,
                        "number": number,
                        "state": _state(number, done, today, first_day),
                        "in_month": True,
                        "today": number == today,
                    }
                )
            weeks.append(cells)
        months.append({"year": year, "month": month, "weeks": weeks})
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _state(number: int, done: dict[int, str], today: int, first_day: int) -> str:
    if number in done:
        return "made_up" if done[number] == "makeup" else "done"
    if number < first_day:
        return "before"
    if number == today:
        return "today"
    return "future" if number > today else "missed"


def makeup_days(challenge: Challenge, participant: Participant, done, today: int) -> list[int]:
    """The missed days a card may fill now (empty when no card is left)."""
    if participant.cards_used >= challenge.makeup_cards:
        return []
    low = max(1, participant.first_day, today - challenge.makeup_window)
    return [n for n in range(low, min(today, challenge.days + 1)) if n not in done]


def standing(
    challenge: Challenge,
    member: Member,
    now: datetime | None = None,
    participant: Participant | None = None,
) -> dict:
    """Everything the member's challenge page shows about them, in a fixed number of queries
    (pass the participant when the caller has just read it)."""
    now = now or utcnow()
    today = today_number(challenge, now)
    participant = participant or participant_of(member)
    done = answered(member) if participant else {}
    current, longest = streaks(done, today, challenge.days)
    first_day = participant.first_day if participant else max(1, today)
    return {
        "today": today,
        "today_date": local_today(challenge, now),
        "done_today": today in done,
        "days_done": len(done),
        "current": current,
        "longest": longest,
        "cards_left": max(0, challenge.makeup_cards - participant.cards_used) if participant else 0,
        "makeup_days": makeup_days(challenge, participant, done, today) if participant else [],
        "calendar": calendar(challenge, done, today, first_day),
        "finished": len(done) >= challenge.finish_days,
        "rank": rank(challenge, participant) if participant else None,
    }


def reward_of(member: Member) -> Reward | None:
    """The finishing reward the member was issued (with its code), if any."""
    return Reward.get_or_none((Reward.member == member.id) & (Reward.key == REWARD_KEY))


def leaderboard(challenge: Challenge, size: int = 20) -> list[dict]:
    """The most days checked in, earliest to get there first; nicknames masked."""
    rows = (
        Participant.select(Participant.done, Member.nickname)
        .join(Member)
        .where((Participant.campaign == challenge.campaign_id) & (Participant.done > 0))
        .order_by(Participant.done.desc(), Participant.last_at, Participant.id)
        .limit(size)
        .tuples()
    )
    board, place, previous = [], 0, None
    for position, (done, nickname) in enumerate(rows, start=1):
        if done != previous:
            place, previous = position, done
        board.append({"rank": place, "nickname": mask_nickname(nickname), "done": done})
    return board


def rank(challenge: Challenge, participant: Participant) -> int:
    """1 + how many participants have checked in on more days (ties share a rank); the
    participant as the caller has just read it."""
    ahead = (
        Participant.select()
        .where(
            (Participant.campaign == challenge.campaign_id) & (Participant.done > participant.done)
        )
        .count()
    )
    return ahead + 1


def wall(campaign_id: int, before: int | None = None, size: int = WALL_PAGE) -> list[dict]:
    """The wall members see: check-ins with a note or a photo, newest first, hidden ones left
    out, nicknames masked; `before` is the last id of the page before (keyset paging, so
    every page costs one query)."""
    return posts(campaign_id, before, size, for_staff=False)


def posts(
    campaign_id: int, before: int | None = None, size: int = WALL_PAGE, *, for_staff: bool
) -> list[dict]:
    """Check-ins with a note or a photo, newest first, in one query. For staff (the console's
    moderation list) hidden ones are included and marked and nicknames are whole."""
    query = (
        Response.select(
            Response.id,
            Response.note,
            Response.photo_digest,
            Response.how,
            Response.hidden,
            Response.created_at,
            Activity.number,
            Member.nickname,
        )
        .join(Activity)
        .switch(Response)
        .join(Member, JOIN.LEFT_OUTER)
        .where(
            (Response.campaign == campaign_id)
            & (Activity.kind == "day")
            & ((Response.note != "") | Response.photo_digest.is_null(False))
        )
        .order_by(Response.id.desc())
        .limit(size)
    )
    if not for_staff:
        query = query.where(~Response.hidden)
    if before is not None:
        query = query.where(Response.id < before)
    rows = []
    for row in query:
        nickname = row.member.nickname if row.member else ""
        post = {
            "id": row.id,
            "note": row.note,
            "photo_digest": row.photo_digest,
            "made_up": row.how == "makeup",
            "at": row.created_at,
            "number": row.activity.number,
            "nickname": nickname if for_staff else mask_nickname(nickname) if nickname else "*",
        }
        if for_staff:
            post["hidden"] = row.hidden
        rows.append(post)
    return rows


def settings_of(challenge: Challenge) -> dict:
    """A challenge's settings as plain values (the console's form, the API's answer)."""
    return {
        "days": challenge.days,
        "starts_on": challenge.starts_on.isoformat(),
        "timezone": challenge.timezone,
        "task": challenge.task,
        "finish_days": challenge.finish_days,
        "reward": challenge.reward,
        "makeup_cards": challenge.makeup_cards,
        "makeup_window": challenge.makeup_window,
        "hidden": challenge.hidden,
    }


def photo(
    campaign_id: int, response_id: int, digest: str, *, for_staff: bool = False
) -> bytes | None:
    """A wall photo's bytes, or None when it is unknown, the digest does not match, or (for
    members) staff hid it."""
    query = Response.select(Response.photo).where(
        (Response.id == response_id)
        & (Response.campaign == campaign_id)
        & (Response.photo_digest == digest)
    )
    if not for_staff:
        query = query.where(~Response.hidden)
    row = query.first()
    return bytes(row.photo) if row and row.photo is not None else None


def hide(campaign_id: int, response_id: int, hidden: bool = True) -> bool:
    """Staff hide (or show again) one wall post; False when there is no such post."""
    return bool(
        Response.update(hidden=hidden)
        .where((Response.id == response_id) & (Response.campaign == campaign_id))
        .execute()
    )


def today_check_ins(challenge: Challenge, now: datetime | None = None) -> list[Response]:
    """Today's check-ins with their members, for the console, in one query (without the
    photos' and avatars' bytes: the page links to the photos)."""
    number = today_number(challenge, now or utcnow())
    return list(
        Response.select(
            Response.id,
            Response.how,
            Response.note,
            Response.photo_digest,
            Response.hidden,
            Response.created_at,
            Member.id,
            Member.nickname,
        )
        .join(Activity)
        .switch(Response)
        .join(Member)
        .where(
            (Response.campaign == challenge.campaign_id)
            & (Activity.kind == "day")
            & (Activity.number == number)
        )
        .order_by(Response.id.desc())
    )


def finishers(challenge: Challenge) -> int:
    return (
        Participant.select(fn.COUNT(Participant.id))
        .where(
            (Participant.campaign == challenge.campaign_id)
            & (Participant.done >= challenge.finish_days)
        )
        .scalar()
    )


# ---------------------------------------------------------------- one-off calls


def create_call(campaign, *, title: str, starts_at: datetime) -> Activity:
    """A one-off call (直播今晚八点, 群游戏) to every participant; starts_at is naive UTC."""
    title = _text(title, 60, _("召集的名称"))
    if not title:
        raise CheckinError(_("请写召集的名称，例如「今晚 8 点直播」。"))
    return Activity.create(campaign=campaign.id, kind="call", title=title, starts_at=starts_at)


def answer_call(call: Activity, member: Member, now: datetime | None = None) -> Response:
    """A participant answers a call, once: a second answer is refused, never counted twice."""
    if call.kind != "call":
        raise CheckinError(_("这不是一次召集：刷新页面再试。"))
    participant = participant_of(member)
    if participant is None:
        raise CheckinError(_("先参加挑战，才能响应群里的召集。"))
    try:
        with db.atomic():
            return Response.create(
                campaign=call.campaign_id,
                activity=call.id,
                member=member.id,
                group=participant.group_id,
                how="button",
                created_at=now or utcnow(),
            )
    except IntegrityError:
        raise CheckinError(_("你已经响应过这次召集了。")) from None
