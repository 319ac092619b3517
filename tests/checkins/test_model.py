"""Property test: random joins, check-ins, make-ups, moved start dates and time-zone changes,
at the edges of local days (23:59:59 and 00:00:00 in Asia/Shanghai; the day New York's clocks
go back), against a small reference model: every member's check-ins, cards, streaks,
calendar and reward equal the model's."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from helpers import make_campaign, make_challenge, make_member
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from miniapp_api.checkins import rules as checkins
from miniapp_api.checkins.rules import CheckinError
from miniapp_api.models import Participant, Reward

ZONES = ["Asia/Shanghai", "America/New_York"]
# 2026-11-01 is the day New York goes back from summer time: a 25-hour local day.
START = date(2026, 10, 29)
DAYS = 6
PEOPLE = 3
# Local times of day that sit on the edges, and one inside the repeated hour in New York.
TIMES = [time(0, 0, 0), time(23, 59, 59), time(1, 30), time(12, 0)]


def utc_of(local_day: date, at: time, zone: str) -> datetime:
    """The naive UTC instant of a local wall-clock time (the first one, when it repeats)."""
    aware = datetime.combine(local_day, at).replace(tzinfo=ZoneInfo(zone))
    return aware.astimezone(UTC).replace(tzinfo=None)


@dataclass
class Person:
    first_day: int | None = None  # None until they join
    done: dict = field(default_factory=dict)  # {day number: "button" | "makeup"}
    cards_used: int = 0


@dataclass
class Model:
    starts_on: date
    zone: str
    cards: int
    window: int
    finish: int
    people: list = field(default_factory=lambda: [Person() for _ in range(PEOPLE)])

    def today(self, now: datetime) -> int:
        local = now.replace(tzinfo=UTC).astimezone(ZoneInfo(self.zone)).date()
        return (local - self.starts_on).days + 1

    def apply(self, kind: str, person: Person, day: int, now) -> bool:
        if kind == "join":
            return self.join(person, now)
        if kind == "check_in":
            return self.check_in(person, now)
        return self.make_up(person, day, now)

    def join(self, person: Person, now) -> bool:
        today = self.today(now)
        if today > DAYS:
            return False
        if person.first_day is None:
            person.first_day = max(1, today)
        return True

    def check_in(self, person: Person, now) -> bool:
        today = self.today(now)
        if not 1 <= today <= DAYS or person.first_day is None:
            return False
        if today < person.first_day or today in person.done:
            return False
        person.done[today] = "button"
        return True

    def make_up(self, person: Person, day: int, now) -> bool:
        today = self.today(now)
        allowed = (
            1 <= day <= DAYS
            and day < today
            and today - day <= self.window
            and person.first_day is not None
            and day >= person.first_day
            and day not in person.done
            and person.cards_used < self.cards
        )
        if allowed:
            person.done[day] = "makeup"
            person.cards_used += 1
        return allowed


def reference_streaks(done: set[int], today: int) -> tuple[int, int]:
    """Runs read off a string of marks, a different road from the rules' loop."""
    marks = "".join("x" if n in done else "." for n in range(1, DAYS + 1))
    longest = max((len(run) for run in marks.split(".")), default=0)
    upto = marks[: max(0, min(today, DAYS))]
    if upto.endswith(".") and today <= DAYS:
        upto = upto[:-1]  # today not done yet: the run up to yesterday is still alive
    current = len(upto) - len(upto.rstrip("x"))
    return current, longest


def attempt(kind, challenge, member, day, now) -> bool:
    """Run one member action through the rules; True when it was accepted."""
    try:
        if kind == "join":
            checkins.join(challenge, member, now=now)
        elif kind == "check_in":
            checkins.check_in(challenge, member, now=now)
        else:
            checkins.make_up(challenge, member, day, now=now)
    except CheckinError:
        return False
    return True


step = st.tuples(
    st.sampled_from(
        ["join", "check_in", "check_in", "make_up", "make_up", "make_up", "move", "zone"]
    ),
    st.integers(0, PEOPLE - 1),
    st.integers(-1, DAYS + 1),  # the local day (relative to the start) the step happens on
    st.sampled_from(TIMES),
    # How many days back a make-up reaches (so the window's edge is tried often); the
    # direction a moved start goes.
    st.integers(-1, 4),
)


@settings(
    max_examples=100,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target],
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    zone=st.sampled_from(ZONES),
    cards=st.integers(0, 3) | st.just(9),
    window=st.integers(0, 2),
    finish=st.integers(1, DAYS),
    joins=st.lists(st.integers(-1, 3), min_size=PEOPLE, max_size=PEOPLE),
    steps=st.lists(step, max_size=30),
)
def test_check_ins_match_the_reference_model(app, zone, cards, window, finish, joins, steps):
    campaign = make_campaign()
    challenge = make_challenge(
        campaign,
        days=DAYS,
        starts_on=START,
        timezone=zone,
        makeup_cards=cards,
        makeup_window=window,
        finish_days=finish,
        reward="结营礼",
    )
    model = Model(START, zone, cards, window, finish)
    members = [make_member(campaign.id, f"visitor-{n:02d}-" + "x" * 16) for n in range(PEOPLE)]
    now = utc_of(START, time(12), zone)
    # Most people join early (some before the start), so make-ups have days to fill.
    for person, member, day in zip(model.people, members, joins, strict=True):
        now = utc_of(START + timedelta(days=day - 1), time(9), zone)
        assert attempt("join", challenge, member, 0, now) == model.join(person, now)
    for kind, who, day, at, extra in steps:
        person, member = model.people[who], members[who]
        # Each step happens at a local time of the model's current zone.
        now = utc_of(model.starts_on + timedelta(days=day - 1), at, model.zone)
        if kind == "move":
            model.starts_on += timedelta(days=1 if extra % 2 else -1)
            challenge = make_challenge(
                campaign, days=DAYS, starts_on=model.starts_on, timezone=model.zone,
                makeup_cards=cards, makeup_window=window, finish_days=finish, reward="结营礼",
            )  # fmt: skip
            continue
        if kind == "zone":
            model.zone = ZONES[(ZONES.index(model.zone) + 1) % len(ZONES)]
            challenge = make_challenge(
                campaign, days=DAYS, starts_on=model.starts_on, timezone=model.zone,
                makeup_cards=cards, makeup_window=window, finish_days=finish, reward="结营礼",
            )  # fmt: skip
            continue
        asked = day - extra  # the day a make-up asks for
        expected = model.apply(kind, person, asked, now)
        succeeded = attempt(kind, challenge, member, asked, now)
        assert succeeded == expected, (kind, who, day, at, extra)

    today = model.today(now)
    for person, member in zip(model.people, members, strict=True):
        assert checkins.answered(member) == person.done
        participant = Participant.get_or_none(Participant.member == member.id)
        if person.first_day is None:
            assert participant is None
            continue
        assert (participant.first_day, participant.done, participant.cards_used) == (
            person.first_day,
            len(person.done),
            person.cards_used,
        )
        assert checkins.streaks(person.done, today, DAYS) == reference_streaks(
            set(person.done), today
        )
        states = {
            cell["number"]: cell["state"]
            for month in checkins.calendar(challenge, person.done, today, person.first_day)
            for week in month["weeks"]
            for cell in week
            if cell["number"]
        }
        for number in range(1, DAYS + 1):
            if number in person.done:
                expected = "made_up" if person.done[number] == "makeup" else "done"
            elif number < person.first_day:
                expected = "before"
            else:
                expected = "today" if number == today else "future" if number > today else "missed"
            assert states[number] == expected, number
        rewards = Reward.select().where(Reward.member == member.id).count()
        assert rewards == (1 if len(person.done) >= finish else 0)
