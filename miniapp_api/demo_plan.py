"""The demo challenge's plan: who joined on which day and who checked in when. Pure and
seeded, with nothing heavier than the standard library, so the handbook's build (which has
no database and no imaging library) prints the demo's stickiness from the very numbers
`qunbook demo` loads (miniapp_api/demo_checkins.py)."""

import functools
import math
import random
from dataclasses import dataclass, field

DAYS = 28
TODAY = 26  # the challenge day the demo is on when loaded
FINISH = 21
MEMBERS = 118
SEED = 20261201
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["小红", "阿花", "晓明", "丽丽", "佳佳", "静", "芳", "敏", "婷婷", "小雨", "晨", "悦"]


@dataclass(frozen=True)
class PlannedMember:
    nickname: str
    first_day: int
    group: int  # 0 or 1: which of the campaign's two groups the live code sent them to
    done: dict = field(default_factory=dict)  # {day: "button" | "makeup"}
    hours: dict = field(default_factory=dict)  # {day: local hour of the check-in}


@functools.cache
def plan() -> tuple[PlannedMember, ...]:
    """Who joined when and who checked in on which day: a decaying curve (most come on day
    one, fewer each week), some late joiners, a few make-ups, about a third who finish."""
    rng = random.Random(SEED)  # noqa: S311  (seeded on purpose: the same demo every time)
    people = []
    for number in range(MEMBERS):
        nickname = SURNAMES[number % len(SURNAMES)] + GIVEN[number // len(SURNAMES) % len(GIVEN)]
        first_day = 1 if number < 100 else rng.randint(2, 6)
        # How long this person keeps going, and how reliably: most fade, some never do.
        staying = rng.random() < 0.18
        fade = DAYS if staying else max(first_day, int(rng.expovariate(1 / 12)) + first_day)
        reliability = 0.93 if staying else rng.uniform(0.6, 0.9)
        done, hours = {}, {}
        cards = 2
        for day in range(first_day, TODAY + 1):
            # Today's check-ins so far: the morning people, by the time a class looks.
            if day == TODAY and rng.random() < 0.5:
                continue
            chance = reliability * (1.0 if day <= fade else 0.15 * math.exp(-(day - fade) / 4))
            if rng.random() < chance:
                done[day] = "button"
                hours[day] = rng.choice([6, 6, 7, 7, 7, 8, 9, 12, 21, 22])
            elif day < TODAY - 1 and cards and day <= fade and rng.random() < 0.25:
                # Made up within the window the next day or the one after.
                done[day] = "makeup"
                hours[day] = 20
                cards -= 1
        people.append(PlannedMember(nickname, first_day, number % 2, done, hours))
    return tuple(people)


def stickiness_by_day() -> list[dict]:
    """{day, called, responded} for days 1..TODAY, read off the plan (the handbook prints it;
    a test checks the loaded demo gives the same)."""
    people = plan()
    rows = []
    for day in range(1, TODAY + 1):
        called = sum(1 for p in people if p.first_day <= day)
        responded = sum(1 for p in people if day in p.done)
        rows.append({"day": day, "called": called, "responded": responded})
    return rows
