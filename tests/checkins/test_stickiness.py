"""Stickiness: one definition (responded ÷ called) for challenge days, events and calls."""

import pytest
from helpers import make_challenge, make_participant, shanghai

from miniapp_api.checkins import events, stickiness
from miniapp_api.checkins import rules as checkins
from miniapp_api.checkins.rules import CheckinError
from miniapp_api.livecode import rules as livecode


def test_days_events_and_calls_share_one_definition_also_per_group(app):
    challenge = make_challenge(days=5)
    campaign = challenge.campaign
    first = livecode.add_group(campaign, "挑战1群")
    second = livecode.add_group(campaign, "挑战2群")
    members = [
        make_participant(challenge, nickname=f"会员{n}", group_id=(first, second)[n % 2].id)
        for n in range(4)
    ]
    late = make_participant(challenge, nickname="晚来的", now=shanghai(3), group_id=first.id)
    for member in members[:3]:
        checkins.check_in(challenge, member, now=shanghai(1))
    checkins.check_in(challenge, late, now=shanghai(3))
    event = events.create_event(campaign, title="线下分享会", starts_at=shanghai(4), capacity=10)
    tickets = [events.issue_ticket(event, holder=m.nickname, member=m) for m in members[:3]]
    events.revoke_ticket(event, tickets[2].id)
    events.check_in_ticket(event, tickets[0].token)
    call = checkins.create_call(campaign, title="今晚 8 点直播", starts_at=shanghai(2, 12))
    for member in (members[0], late):
        checkins.answer_call(call, member)
    with pytest.raises(CheckinError, match="响应过"):
        checkins.answer_call(call, late)

    figures = {(f.kind, f.number or f.title): f for f in stickiness.figures(campaign.id)}
    assert (figures["day", 1].called, figures["day", 1].responded) == (4, 3)
    assert figures["day", 1].stickiness == 0.75
    assert (figures["day", 3].called, figures["day", 3].responded) == (5, 1)  # the late joiner
    assert (figures["event", "线下分享会"].called, figures["event", "线下分享会"].responded) == (
        2,
        1,
    )
    assert (
        figures["call", "今晚 8 点直播"].called,
        figures["call", "今晚 8 点直播"].responded,
    ) == (5, 2)
    assert figures["day", 2].stickiness == 0

    # Per group, summed over every activity: 挑战1群 holds 会员0, 会员2 (from day 1) and the
    # late joiner (from day 3); 挑战2群 会员1 and 会员3; the tickets carry no group.
    groups = {
        row["group"]: (row["called"], row["responded"]) for row in stickiness.by_group(campaign.id)
    }
    assert groups == {
        "挑战1群": (2 + 2 + 3 + 3 + 3 + 3, 2 + 1 + 2),  # days, then the call
        "挑战2群": (2 * 5 + 2, 1),
        "未进群": (2, 1),  # the event: two unrevoked tickets, one checked in
    }
