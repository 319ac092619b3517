"""The check-in demo: a 28-day challenge in progress and a meet-up with tickets, loaded from a
plan that the handbook's 指标 page prints; both must say the same."""

import importlib.util
from pathlib import Path

from miniapp_api import demo, demo_checkins, demo_plan, metrics
from miniapp_api.checkins import events, stickiness
from miniapp_api.checkins import rules as checkins
from miniapp_api.models import Campaign, Participant, Response, Reward, Ticket

HOOK = Path(__file__).resolve().parent.parent / "handbook" / "hooks" / "metrics.py"


def load_hook():
    spec = importlib.util.spec_from_file_location("metrics_hook", HOOK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_loaded_challenge_gives_the_plans_stickiness_day_by_day(app):
    demo.load()
    campaign = Campaign.get(Campaign.slug == "demo-challenge")
    challenge = checkins.challenge_of(campaign.id)
    assert checkins.today_number(challenge, checkins.utcnow()) == demo_plan.TODAY
    figures = [f for f in stickiness.figures(campaign.id) if f.kind == "day"]
    loaded = [(f.number, f.called, f.responded) for f in figures[: demo_plan.TODAY]]
    planned = [(r["day"], r["called"], r["responded"]) for r in demo_plan.stickiness_by_day()]
    assert loaded == planned
    # A decaying curve: the first week well above the last days before today.
    first_week = sum(r / c for _, c, r in planned[:7]) / 7
    last_week = sum(r / c for _, c, r in planned[-8:-1]) / 7
    assert first_week > 0.7 > 0.45 > last_week
    # Stored counters agree with the rows they count; make-ups and finished rewards exist.
    for participant in Participant.select().where(Participant.campaign == campaign.id):
        rows = Response.select().where(Response.member == participant.member_id)
        assert participant.done == rows.count()
        assert participant.cards_used == rows.where(Response.how == "makeup").count() <= 2
    assert Response.select().where(Response.how == "makeup").count() > 0
    finished = checkins.finishers(challenge)
    assert finished == Reward.select().where(Reward.campaign == campaign.id).count() > 0


def test_the_meetup_has_tickets_and_last_months_door_check_ins(app):
    demo.load()
    campaign = Campaign.get(Campaign.slug == "demo-meetup")
    past, coming = events.events_of(campaign.id)
    assert (past.tickets, events.door_count(past)["count"]) == (30, 22)
    assert (coming.tickets, coming.capacity) == (demo_checkins.MEETUP_SIGNUPS, 40)
    for holder, token in demo_checkins.DEMO_TICKETS:
        assert Ticket.get(Ticket.token == token).holder == holder


def test_reset_restores_the_demo_after_a_class_changed_it(app):
    demo.load()
    campaign = Campaign.get(Campaign.slug == "demo-challenge")
    before = Response.select().where(Response.campaign == campaign.id).count()
    Response.delete().where(Response.campaign == campaign.id).execute()
    demo.load()  # a plain load keeps what a class did
    assert Response.select().where(Response.campaign == campaign.id).count() == 0
    demo.load(reset=True)
    campaign = Campaign.get(Campaign.slug == "demo-challenge")
    assert Response.select().where(Response.campaign == campaign.id).count() == before


def test_the_metrics_page_prints_the_plans_table():
    table = load_hook().demo_table()
    for row in demo_plan.stickiness_by_day():
        shown = metrics.shown(row["responded"], row["called"])
        assert f"| {row['called']} | {row['responded']} | {shown} |" in table


def test_no_demo_funnel_step_is_more_than_its_first_step(app):
    """The demo's members scanned the live code before signing up, as friends do: a funnel
    of 120 % would teach a class the wrong thing."""
    from miniapp_api.console import stats

    demo.load()
    for campaign in Campaign.select():
        steps = stats.funnel(campaign)
        assert all(step["count"] <= steps[0]["count"] for step in steps), (campaign.slug, steps)
