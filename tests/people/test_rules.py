"""People's rights, the rules: find a person, export every row held about them, erase them
while every other member's counts and rewards stay as they were (SQLite and PostgreSQL)."""

import json
from pathlib import Path

import pytest
from helpers import Family, database_dump, make_campaign

from miniapp_api.models import (
    Activity,
    Customer,
    Invitation,
    Member,
    Participant,
    Referral,
    Response,
    Reward,
    Ticket,
    Visit,
    VisitPerson,
)
from miniapp_api.people import rules as people
from miniapp_api.referrals import rules as referrals
from miniapp_api.visitors import phone_hash


def hasher(number: str) -> str:
    return phone_hash("test-hash-key", number)


def ids(query) -> set[int]:
    return {row.id for row in query}


def test_the_export_holds_every_row_of_theirs_and_the_erase_leaves_nothing_personal(app):
    family = Family()
    b = family.b
    before = family.others()
    b_values = family.b_values()
    assert all(value in database_dump() for value in b_values)  # the check can fail

    person = people.find("member", b.code.upper(), hasher)
    # The customer record with the same phone is the same person.
    assert person.member_ids == {b.id} and person.customer_ids == {family.customer.id}
    exported = json.loads(json.dumps(people.export(person), ensure_ascii=False))
    tables = exported["tables"]
    own_tickets = Ticket.select().where(
        (Ticket.member == b.id) | (Ticket.invitation == family.invitation.id)
    )
    expected = {
        "member": {b.id},
        "referral": ids(
            Referral.select().where((Referral.referrer == b.id) | (Referral.friend == b.id))
        ),
        "reward": ids(Reward.select().where(Reward.member == b.id)),
        "participant": ids(Participant.select().where(Participant.member == b.id)),
        "ticket": ids(own_tickets),
        "response": ids(Response.select().where(Response.member == b.id)),
        "customer": {family.customer.id},
        "invitation": {family.invitation.id},
        "visit": ids(Visit.select().where(Visit.visitor == family.keys["b"])),
        "visit_person": ids(VisitPerson.select().where(VisitPerson.visitor == family.keys["b"])),
    }
    assert {name: {row["id"] for row in rows} for name, rows in tables.items()} == expected
    assert len(expected["referral"]) == 3 and len(expected["reward"]) == 2
    assert len(expected["ticket"]) == 2 and expected["visit"]
    member = tables["member"][0]
    assert member["nickname"] == "小李子" and member["phone_hash"] == family.phone_hash
    assert member["code"] == b.code and member["visitor"] == family.keys["b"]
    assert member["created_at"].endswith("+00:00")  # ISO 8601, UTC
    assert set(member) == {f.column_name for f in Member._meta.sorted_fields}
    assert tables["response"][0]["note"] == Family.PERSONAL["note"]
    assert tables["customer"][0]["name"] == "李雷雷"
    # The friend B brought is another person: C's key and hashes are not B's to read.
    text = json.dumps(exported, ensure_ascii=False)
    assert family.keys["c"] not in text and "大熊" not in text

    plan = people.plan(person)
    assert plan.removed["member"] == 1 and plan.anonymised["referral"] == 2
    done = people.erase(person)
    assert done == plan

    dump = database_dump()
    left = [value for value in b_values if value in dump]
    assert left == []
    assert family.others() == before
    # A keeps the referral B was, Z the level-2 count: counted, nothing of B's left on them.
    kept = list(
        Referral.select().where(
            ((Referral.referrer == family.a.id) & (Referral.level == 1))
            | ((Referral.referrer == family.z.id) & (Referral.level == 2))
        )
    )
    assert len(kept) == 2
    for row in kept:
        assert (row.status, row.friend_id, row.ip_hash, row.device_hash) == (
            "counted",
            None,
            "",
            "",
        )
        assert row.friend_key.startswith(people.ANONYMOUS_PREFIX)
    assert len({row.friend_key for row in kept}) == 1  # one person, one anonymous key
    z, a, c = (Member.get_by_id(m.id) for m in (family.z, family.a, family.c))
    assert [(m.referrals, m.second_level) for m in (z, a, c)] == [(1, 1), (1, 1), (0, 0)]
    assert Member.get_by_id(family.c.id).referrer_id is None
    # B's scan still counts in the campaign's figures, under an anonymous key.
    assert Visit.select().where(Visit.campaign == family.campaign.id).count() == 4
    assert Activity.get_by_id(family.event.id).tickets == 0  # their places went back
    assert not Customer.select().exists() and not Invitation.select().exists()

    # Idempotent: erasing again changes nothing, and nobody is found any more.
    assert people.erase(person).total == 0
    assert database_dump() == dump
    with pytest.raises(people.NotFound):
        people.find("phone", Family.PHONE, hasher)


def test_a_phone_finds_every_record_with_its_hash_and_plan_changes_nothing(app):
    family = Family()
    other = make_campaign(slug="dakaxiaozu", title="打卡小组")
    referrals.join_without_referrals(
        other.id, nickname="李子", visitor="another-browser", phone_hash=family.phone_hash
    )
    person = people.find("phone", "+86 139-1234-5678", hasher)
    assert len(person.member_ids) == 2 and person.customer_ids == {family.customer.id}
    dump = database_dump()
    people.plan(person)
    people.export(person)
    assert database_dump() == dump
    again = people.by_reference(person.reference)
    assert again == person
    by_customer = people.find("customer", "ＶＩＰ-0042", hasher)  # typed on a full-width keyboard
    assert by_customer == person


@pytest.mark.parametrize(
    ("by", "text"),
    [
        ("member", ""),
        ("member", "小李子"),
        ("member", "abc"),
        ("customer", "客户 一"),
        ("customer", "x" * 65),
        ("phone", "12345"),
        ("phone", "一三九"),
        ("nickname", "小李子"),
    ],
)
def test_input_that_cannot_name_anyone_is_refused_with_what_to_do(app, by, text):
    with pytest.raises(people.PersonError) as refused:
        people.find(by, text, hasher)
    assert not isinstance(refused.value, people.NotFound)
    assert str(refused.value)


def test_nobody_found_says_so(app):
    Family()
    for by, text in [("member", "zzzzzzzz"), ("customer", "NOPE-1"), ("phone", "13800000000")]:
        with pytest.raises(people.NotFound):
            people.find(by, text, hasher)
    for reference in ["", "m", "m1.x2", "m99999"]:
        with pytest.raises(people.PersonError):
            people.by_reference(reference)


def test_erasing_deletes_the_cached_posters_that_show_them(app):
    from helpers import PUBLIC_URL

    from miniapp_api.posters import rules as posters

    family = Family()
    cache = app.config["POSTER_CACHE_DIR"]
    campaign = family.campaign
    posters.member_poster(cache, campaign, Member.get_by_id(family.b.id), PUBLIC_URL)
    posters.checkin_poster(
        cache, campaign, Member.get_by_id(family.b.id), 1, 1, PUBLIC_URL, personal=True, fmt="jpeg"
    )
    kept = posters.member_poster(cache, campaign, Member.get_by_id(family.a.id), PUBLIC_URL)
    person = people.find("member", family.b.code, hasher)
    assert len(list(Path(cache).iterdir())) == 3

    done = people.erase(person, poster_cache=cache, public_url=PUBLIC_URL)
    assert done.files == 2
    assert [p.name for p in Path(cache).iterdir()] == [f"{kept.key}.png"]
