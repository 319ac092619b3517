"""Daily challenges: check-ins, make-up cards, streaks, the calendar and the finishing reward."""

from datetime import date, timedelta

import pytest
from helpers import make_challenge, make_participant, shanghai

from miniapp_api.checkins import rules as checkins
from miniapp_api.checkins.rules import CheckinError
from miniapp_api.models import Activity, Participant, Response, Reward


def test_set_up_makes_one_activity_per_day_and_reshaping_keeps_check_ins(app):
    challenge = make_challenge(days=7)
    numbers = [
        a.number for a in Activity.select().where(Activity.kind == "day").order_by(Activity.number)
    ]
    assert numbers == list(range(1, 8))
    member = make_participant(challenge)
    checkins.check_in(challenge, member, now=shanghai(3))
    with pytest.raises(CheckinError, match="不能改得比这更短"):
        make_challenge(campaign=challenge.campaign, days=2)
    longer = make_challenge(campaign=challenge.campaign, days=10, finish_days=8)
    assert Activity.select().where(Activity.kind == "day").count() == 10
    assert longer.days == 10
    assert Response.select().count() == 1


def test_one_check_in_per_member_per_day(app):
    challenge = make_challenge()
    member = make_participant(challenge, nickname="阿花")
    first = checkins.check_in(challenge, member, note="今天 6 点起床 🌅", now=shanghai(2, 6))
    assert (first.number, first.done) == (2, 1)
    with pytest.raises(CheckinError, match="今天已经打过卡了（06:00）"):
        checkins.check_in(challenge, member, now=shanghai(2, 23, 59, 59))
    # One second later it is day 3 in Shanghai.
    assert checkins.check_in(challenge, member, now=shanghai(3, 0, 0, 0)).number == 3
    assert Participant.get(Participant.member == member.id).done == 2


@pytest.mark.parametrize(
    ("when", "message"),
    [(shanghai(0, 23, 59, 59), "才开始"), (shanghai(29, 0), "已经结束")],
)
def test_before_the_start_and_after_the_end_are_refused(app, when, message):
    challenge = make_challenge()
    member = make_participant(challenge)
    with pytest.raises(CheckinError, match=message):
        checkins.check_in(challenge, member, now=when)
    assert Response.select().count() == 0


def test_a_hidden_challenge_takes_no_check_ins(app):
    challenge = make_challenge()
    member = make_participant(challenge)
    hidden = make_challenge(campaign=challenge.campaign, hidden=True)
    with pytest.raises(CheckinError, match="关闭"):
        checkins.check_in(hidden, member, now=shanghai(2))
    assert Response.select().count() == 0


def test_make_up_fills_a_missed_day_in_the_window_only_once_and_within_the_cards(app):
    challenge = make_challenge(makeup_cards=2, makeup_window=3)
    member = make_participant(challenge)
    now = shanghai(6)
    for day, message in [(6, "已经过去"), (7, "已经过去"), (2, "期限"), (0, "第 1–28 天")]:
        with pytest.raises(CheckinError, match=message):
            checkins.make_up(challenge, member, day, now=now)
    checkins.make_up(challenge, member, 5, now=now)
    with pytest.raises(CheckinError, match="不用补"):
        checkins.make_up(challenge, member, 5, now=now)
    checkins.make_up(challenge, member, 3, now=now)
    with pytest.raises(CheckinError, match="用完"):
        checkins.make_up(challenge, member, 4, now=now)
    participant = Participant.get(Participant.member == member.id)
    assert (participant.cards_used, participant.done) == (2, 2)
    assert checkins.answered(member) == {3: "makeup", 5: "makeup"}


def test_a_member_who_joins_late_is_not_called_to_the_days_before(app):
    challenge = make_challenge()
    member = make_participant(challenge, now=shanghai(10))
    assert Participant.get(Participant.member == member.id).first_day == 10
    with pytest.raises(CheckinError, match="第 10 天加入"):
        checkins.make_up(challenge, member, 9, now=shanghai(11))


def test_streaks_count_made_up_days():
    assert checkins.streaks({1, 2, 3}, today=4, days=28) == (3, 3)
    assert checkins.streaks({1, 2, 3, 4}, today=4, days=28) == (4, 4)
    assert checkins.streaks({1, 2, 4, 5, 6}, today=8, days=28) == (0, 3)
    assert checkins.streaks({26, 27, 28}, today=40, days=28) == (3, 3)
    assert checkins.streaks({25, 26, 27}, today=40, days=28) == (0, 3)


def test_the_finishing_reward_is_issued_once(app):
    challenge = make_challenge(days=5, finish_days=3, reward="结营礼盒")
    member = make_participant(challenge)
    for day in (1, 2, 3, 4, 5):
        checkins.check_in(challenge, member, now=shanghai(day))
    rewards = list(Reward.select().where(Reward.member == member.id))
    assert [(r.key, r.name) for r in rewards] == [("challenge", "结营礼盒")]


def test_the_calendar_marks_done_made_up_missed_today_and_future(app):
    challenge = make_challenge(days=5, starts_on=date(2026, 12, 1))
    done = {1: "button", 2: "makeup"}
    months = checkins.calendar(challenge, done, today=4)
    cells = {c["number"]: c["state"] for w in months[0]["weeks"] for c in w if c["number"]}
    assert cells == {1: "done", 2: "made_up", 3: "missed", 4: "today", 5: "future"}


def test_moving_the_start_never_doubles_a_stored_check_in(app):
    challenge = make_challenge()
    member = make_participant(challenge)
    checkins.check_in(challenge, member, now=shanghai(3))
    moved = make_challenge(
        campaign=challenge.campaign, starts_on=challenge.starts_on - timedelta(days=1)
    )
    # Day 3 is stored; the same local date is now day 4, and it is still one check-in.
    assert checkins.answered(member) == {3: "button"}
    assert Participant.get(Participant.member == member.id).done == 1
    assert moved.starts_on == date(2026, 11, 30)
