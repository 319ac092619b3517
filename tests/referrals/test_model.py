"""Property test: for random sequences of scans, sign-ups, repeats, self-referrals and bot
visits, every member's counts equal a simple reference model, and nobody holds more rewards
than the tiers they crossed."""

from dataclasses import dataclass, field

from helpers import make_campaign, make_group
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from miniapp_api.livecode import rules as livecode
from miniapp_api.models import Member, Reward
from miniapp_api.referrals import rules as referrals

TIERS = [(2, "券"), (4, "礼")]
PEOPLE = 6  # few visitors and phones, so repeats and returning members happen often
PHONES = 3


@dataclass
class Person:
    visitor: str
    phone: str | None
    referrer: "Person | None" = None
    referrals: int = 0
    second_level: int = 0
    db_id: int = 0


@dataclass
class Model:
    members: list[Person] = field(default_factory=list)
    counted_first: set[str] = field(default_factory=set)
    counted_second: set[str] = field(default_factory=set)

    def find(self, visitor, phone):
        by_visitor = next((m for m in self.members if m.visitor == visitor), None)
        if by_visitor:
            return by_visitor
        by_phone = next((m for m in self.members if phone and m.phone == phone), None)
        if by_phone:
            by_phone.visitor = visitor  # the membership moves to this browser
        return by_phone

    def sign_up(self, visitor, phone, referrer, human):
        if self.find(visitor, phone):
            return None
        person = Person(visitor, phone)
        self.members.append(person)
        if referrer is None or not human or visitor in self.counted_first:
            return person
        self.counted_first.add(visitor)
        person.referrer = referrer
        referrer.referrals += 1
        if referrer.referrer and visitor not in self.counted_second:
            self.counted_second.add(visitor)
            referrer.referrer.second_level += 1
        return person


steps = st.lists(
    st.tuples(
        st.sampled_from(["sign_up", "sign_up", "self", "scan"]),
        st.integers(0, PEOPLE - 1),  # which visitor
        st.one_of(st.none(), st.integers(0, 20)),  # whose poster (an index into members)
        st.sampled_from(["wechat", "wechat", "mobile", "bot", "preview"]),
        st.one_of(st.none(), st.integers(0, PHONES - 1)),
    ),
    max_size=25,
)


@settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=steps)
def test_counts_match_the_reference_model(app, sequence):
    campaign = make_campaign()
    make_group(campaign, "一群")
    referrals.set_up_program(campaign, tiers=TIERS, max_per_hour=10_000, max_per_day=10_000)
    model = Model()
    for kind, person, poster, agent, phone_number in sequence:
        visitor = f"visitor-{person}"
        phone = f"phone-{phone_number}" if phone_number is not None else None
        referrer = (
            model.members[poster % len(model.members)]
            if poster is not None and model.members
            else None
        )
        if kind == "self":  # scanning one's own poster
            referrer = next((m for m in model.members if m.visitor == visitor), referrer)
        if kind == "scan":
            # In a sign-up programme a scan alone never counts, whatever poster it came from.
            livecode.record_scan(campaign.id, None, visitor, agent, "ip")
            if referrer:
                code = Member.get_by_id(referrer.db_id).code
                referrals.attribute_scan(campaign.id, code, visitor, agent, referrals.Signals("ip"))
            continue
        code = Member.get_by_id(referrer.db_id).code if referrer else None
        # A friend scans the poster first: the live code sends them to a group.
        livecode.record_scan(campaign.id, None, visitor, agent, "ip")
        result = referrals.sign_up(
            campaign.id,
            nickname="会员",
            visitor=visitor,
            agent=agent,
            ip_hash="ip",
            phone_hash=phone,
            referrer_code=code,
        )
        created = model.sign_up(visitor, phone, referrer, agent in ("wechat", "mobile"))
        assert result.created == (created is not None)
        if created:
            created.db_id = result.member.id

    assert Member.select().where(Member.campaign == campaign).count() == len(model.members)
    for person in model.members:
        stored = Member.get_by_id(person.db_id)
        assert (stored.referrals, stored.second_level) == (person.referrals, person.second_level)
        assert stored.visitor == person.visitor
        rewards = Reward.select().where(
            (Reward.member == stored.id) & Reward.key.startswith("tier:")
        )
        crossed = sum(1 for threshold, _ in TIERS if threshold <= stored.referrals)
        assert rewards.count() == crossed
