"""The domain: campaigns, their channels and groups, and the visits the live code records."""

from datetime import UTC, datetime

import peewee
from peewee import (
    SQL,
    BlobField,
    BooleanField,
    CharField,
    Check,
    DateField,
    ForeignKeyField,
    IntegerField,
    Model,
    SmallIntegerField,
    TextField,
)

from miniapp_api.db import db
from miniapp_api.numbers import MAX_INT  # noqa: F401  (the columns' bound, for callers)


def utcnow() -> datetime:
    """Naive UTC, the one form every datetime column holds."""
    return datetime.now(UTC).replace(tzinfo=None)


class DateTimeField(peewee.DateTimeField):
    """Peewee's, reading SQLite's stored text with datetime.fromisoformat: peewee tries its
    formats one by one with strptime, which took over a quarter of a visits export's time
    (measured: 100,000 rows, 2.9 s of 10.6 s under the profiler). Anything fromisoformat
    reads differently from peewee (a time zone, a malformed value) still goes through
    peewee's own parsing, so every stored value reads as it did."""

    def python_value(self, value):
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is None:
                return parsed
        return super().python_value(value)


class BaseModel(Model):
    class Meta:
        database = db


class Campaign(BaseModel):
    slug = CharField(max_length=64, unique=True)
    title = CharField(max_length=120)
    description = TextField(default="")
    rules = TextField(default="")
    promise = TextField(default="")
    staff_contact = CharField(max_length=120, default="")
    # The playbook template the campaign was created from ("" when made by hand).
    template = CharField(max_length=40, default="")
    # Set by the first scan that found no open group; cleared when staff add room.
    all_full_since = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    # Set when staff archive it (schema step 8): its public pages stop serving and it leaves
    # 需要处理; its figures stay. NULL while it runs.
    archived_at = DateTimeField(null=True)
    # Where alerts about this campaign go (schema step 9): a WeCom group robot's webhook or any
    # URL taking a JSON POST; "" sends to QUNBOOK_ALERT_WEBHOOK. Holds a key: never log it.
    alert_webhook = CharField(max_length=500, default="", constraints=[SQL("DEFAULT ''")])


class Channel(BaseModel):
    campaign = ForeignKeyField(Campaign, backref="channels", on_delete="CASCADE")
    code = CharField(max_length=32)
    label = CharField(max_length=60)
    # Archived: its poster's link still reaches the campaign, counted without the channel.
    archived_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("campaign", "code"), True),)


class Group(BaseModel):
    """A WeChat group the live code sends people to."""

    campaign = ForeignKeyField(Campaign, backref="groups", on_delete="CASCADE")
    name = CharField(max_length=60)
    position = IntegerField(default=0)
    # WeChat stops scan-joins past a member count it sets (commonly 200), so it is per group.
    # How many were sent to it is the sum of its place shares (PlaceShare), not a column here.
    cutoff = IntegerField(default=200, constraints=[Check("cutoff > 0")])
    active = BooleanField(default=True)
    qr_image = BlobField(null=True)
    qr_digest = CharField(max_length=64, null=True)
    qr_payload = TextField(null=True)
    qr_generated_at = DateTimeField(null=True)

    class Meta:
        table_name = "wechat_group"


class PlaceShare(BaseModel):
    """A share of a group's places: the group's cut-off split over a few rows, each counting
    the people sent into it. Concurrent scans of one campaign each take a place in a share of
    their own; with one counter per group, PostgreSQL made every scan wait for the row lock
    of the one before. The group has room while one of its shares has (livecode/places.py)."""

    group = ForeignKeyField(Group, backref="shares", on_delete="CASCADE", index=False)
    number = SmallIntegerField()
    cutoff = IntegerField(constraints=[Check("cutoff >= 0")])
    sent = IntegerField(default=0, constraints=[Check("sent >= 0")])

    class Meta:
        table_name = "place_share"
        indexes = ((("group", "number"), True),)


class Visit(BaseModel):
    """One request to a live code, kept whatever came of it until `qunbook purge` removes it
    (QUNBOOK_RETAIN_VISITS_DAYS, retention.py), once counted into the rollup below."""

    # No index of its own: the composite indexes below lead with the campaign.
    campaign = ForeignKeyField(Campaign, backref="visits", on_delete="CASCADE", index=False)
    channel = ForeignKeyField(Channel, backref="visits", null=True, on_delete="SET NULL")
    group = ForeignKeyField(Group, backref="visits", null=True, on_delete="SET NULL")
    visitor = CharField(max_length=64)
    agent = CharField(max_length=16)
    ip_hash = CharField(max_length=64)
    outcome = CharField(max_length=16)
    # The local day a person was counted; the unique index makes "once per visitor per
    # campaign per day" the database's rule. NULL for visits that counted nobody.
    counted_day = DateField(null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("campaign", "visitor", "counted_day"), True),
            (("campaign", "created_at"), False),
        )


class VisitHour(BaseModel):
    """A campaign's visits in one complete UTC hour and one channel, counted once (schema step
    11): the dashboard adds these rows to a count of the visits since, so its figures cost the
    same at a million visits as at a hundred. Kept by console/rollup.py, never by the scan."""

    campaign = ForeignKeyField(Campaign, on_delete="CASCADE", index=False)
    hour = DateTimeField()  # the hour's start, naive UTC
    channel = ForeignKeyField(Channel, null=True, on_delete="SET NULL")
    scans = IntegerField()  # people's visits
    sent = IntegerField()
    full = IntegerField()
    bots = IntegerField()  # bots and link previews

    class Meta:
        table_name = "visit_hour"
        indexes = ((("campaign", "hour"), False),)


class VisitPerson(BaseModel):
    """A person (visitor key) who scanned a campaign before its rollup's `through`, once: how
    "people who scanned" stays a count of distinct people without reading every visit."""

    campaign = ForeignKeyField(Campaign, on_delete="CASCADE", index=False)
    visitor = CharField(max_length=64)

    class Meta:
        table_name = "visit_person"
        indexes = ((("campaign", "visitor"), True),)


class VisitRollup(BaseModel):
    """How far a campaign's visits are counted into VisitHour and VisitPerson: every visit
    before `through` (a UTC hour's start), and `people` of them distinct people."""

    campaign = ForeignKeyField(Campaign, primary_key=True, on_delete="CASCADE")
    through = DateTimeField()
    people = IntegerField()

    class Meta:
        table_name = "visit_rollup"


class AddressQuota(BaseModel):
    """How many new places one network address took in one campaign in one hour.

    One client without a cookie, or many fake ones behind one address, could otherwise fill
    every group of a campaign; the conditional UPDATE that counts a place here is bounded by
    the limit, so concurrent scans cannot pass it. Only the keyed hash of the address is kept.
    """

    campaign = ForeignKeyField(Campaign, on_delete="CASCADE", index=False)
    ip_hash = CharField(max_length=64)
    window_start = DateTimeField()
    taken = IntegerField(default=0, constraints=[Check("taken >= 0")])
    # Scans from this address held back by the limit in this hour: staff see them.
    refused = IntegerField(default=0, constraints=[Check("refused >= 0")])

    class Meta:
        table_name = "address_quota"
        indexes = (
            (("campaign", "ip_hash", "window_start"), True),
            (("window_start",), False),
        )


class Staff(BaseModel):
    """A member of the operations team. Trainers see everything and change nothing."""

    username = CharField(max_length=64, unique=True)
    display_name = CharField(max_length=60, default="")
    role = CharField(max_length=16, constraints=[Check("role IN ('admin', 'operator', 'trainer')")])
    password_hash = CharField(max_length=255)
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)
    # The console's language: "zh", "en", or "" to follow the browser (web/language.py).
    language = CharField(max_length=8, default="", constraints=[SQL("DEFAULT ''")])


class StaffSession(BaseModel):
    """A server-side login session; the cookie holds a token whose hash is stored here, so
    deleting the row (logout, password change) ends the session for real."""

    token_hash = CharField(max_length=64, unique=True)
    staff = ForeignKeyField(Staff, backref="sessions", null=True, on_delete="CASCADE")
    data = TextField(default="{}")
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField(index=True)


class LoginAttempt(BaseModel):
    username = CharField(max_length=64)
    ip_hash = CharField(max_length=64)
    succeeded = BooleanField()
    at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("username", "at"), False), (("ip_hash", "at"), False))


class ApiToken(BaseModel):
    staff = ForeignKeyField(Staff, backref="api_tokens", on_delete="CASCADE")
    name = CharField(max_length=60)
    token_hash = CharField(max_length=64, unique=True)
    prefix = CharField(max_length=12)
    created_at = DateTimeField(default=utcnow)
    last_used_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)


class AuditEntry(BaseModel):
    """Who changed what, and when."""

    staff = ForeignKeyField(Staff, backref="audit_entries", null=True, on_delete="SET NULL")
    action = CharField(max_length=64)
    target = CharField(max_length=120)
    detail = TextField(default="{}")
    at = DateTimeField(default=utcnow, index=True)


class ReferralProgram(BaseModel):
    """A campaign's referral (裂变) settings. A campaign without one has no sign-up."""

    campaign = ForeignKeyField(
        Campaign, backref="referral_programs", on_delete="CASCADE", unique=True
    )
    # What makes a friend count: signing up, or being sent to a group by the live code.
    count_on = CharField(
        max_length=8, default="signup", constraints=[Check("count_on IN ('signup', 'sent')")]
    )
    # More first-level referrals than this in an hour are held for staff to approve.
    max_per_hour = IntegerField(default=10, constraints=[Check("max_per_hour > 0")])
    # More first-level referrals than this in 24 hours are held too: one device that clears
    # its cookie before each sign-up gets at most this many rewards a day without staff.
    # The DEFAULT in SQL too: the column was added to existing tables (schema step 7).
    max_per_day = IntegerField(
        default=20, constraints=[Check("max_per_day > 0"), SQL("DEFAULT 20")]
    )
    leaderboard_size = IntegerField(default=10, constraints=[Check("leaderboard_size >= 0")])
    # Double-sided: what a friend who counts gets ("" for nothing).
    friend_reward = CharField(max_length=60, default="")


class RewardTier(BaseModel):
    campaign = ForeignKeyField(Campaign, backref="reward_tiers", on_delete="CASCADE")
    threshold = IntegerField(constraints=[Check("threshold > 0")])
    reward = CharField(max_length=60)

    class Meta:
        indexes = ((("campaign", "threshold"), True),)


class Member(BaseModel):
    """A person signed up to a referral campaign, with the code their poster carries."""

    campaign = ForeignKeyField(Campaign, backref="members", on_delete="CASCADE", index=False)
    code = CharField(max_length=16, unique=True)
    nickname = CharField(max_length=20)
    avatar = BlobField(null=True)
    # HMAC under QUNBOOK_HASH_KEY; the number itself is never stored.
    phone_hash = CharField(max_length=64, null=True)
    visitor = CharField(max_length=64)
    ip_hash = CharField(max_length=64, default="")
    # Keyed hash of the browser's User-Agent: with the address, how a referrer coming back
    # without her cookie is recognised.
    device_hash = CharField(max_length=64, default="", constraints=[SQL("DEFAULT ''")])
    # Set once, when the member is created: nobody can later become their own ancestor.
    referrer = ForeignKeyField("self", backref="friends", null=True, on_delete="SET NULL")
    # Counted referrals, kept by conditional UPDATEs in the same transaction as the referral.
    referrals = IntegerField(default=0, constraints=[Check("referrals >= 0")])
    second_level = IntegerField(default=0, constraints=[Check("second_level >= 0")])
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("campaign", "visitor"), True),
            # NULLs never collide, so members without a phone are not limited by this.
            (("campaign", "phone_hash"), True),
            (("campaign", "referrals"), False),
        )


class Referral(BaseModel):
    """A friend credited, or refused or held, to a member: level 1 to the member whose
    code brought them, level 2 to that member's own referrer."""

    campaign = ForeignKeyField(Campaign, backref="referral_rows", on_delete="CASCADE", index=False)
    referrer = ForeignKeyField(Member, backref="referral_rows", on_delete="CASCADE")
    friend = ForeignKeyField(Member, null=True, on_delete="SET NULL")
    # The friend's visitor key: one person counts at most once per campaign and level.
    friend_key = CharField(max_length=64)
    level = IntegerField(constraints=[Check("level IN (1, 2)")])
    # counted, held (waits for staff), pending (waits for the friend to be sent to a group),
    # refused (never counts), rejected (staff said no)
    status = CharField(max_length=8)
    # Why it was refused, held or pending, or a flag on a counted one (shared_ip).
    reason = CharField(max_length=16, default="")
    ip_hash = CharField(max_length=64, default="")
    device_hash = CharField(max_length=64, default="", constraints=[SQL("DEFAULT ''")])
    created_at = DateTimeField(default=utcnow)
    decided_at = DateTimeField(null=True)
    decided_by = ForeignKeyField(Staff, null=True, on_delete="SET NULL")

    class Meta:
        indexes = ((("campaign", "created_at"), False),)


# One person counts (or waits to count: held by a limit, pending until sent to a group) at
# most once per campaign and level; refused and rejected attempts are kept beside them for
# staff to see. A partial index, in both databases.
Referral.add_index(
    Referral.index(
        Referral.campaign,
        Referral.friend_key,
        Referral.level,
        unique=True,
        # Literal SQL: neither database takes bound parameters in an index definition.
        where=SQL("status IN ('counted', 'held', 'pending')"),
    )
)


class Reward(BaseModel):
    campaign = ForeignKeyField(Campaign, backref="rewards", on_delete="CASCADE", index=False)
    member = ForeignKeyField(Member, backref="rewards", on_delete="CASCADE")
    # "tier:<threshold>" or "friend": the unique index issues each one exactly once.
    key = CharField(max_length=24)
    name = CharField(max_length=60)
    code = CharField(max_length=16, unique=True)
    issued_at = DateTimeField(default=utcnow)
    redeemed_at = DateTimeField(null=True)
    redeemed_by = ForeignKeyField(Staff, null=True, on_delete="SET NULL")

    class Meta:
        indexes = ((("member", "key"), True), (("campaign", "issued_at"), False))


class Customer(BaseModel):
    """A customer imported from the shop's own records, for VIP selection."""

    external_id = CharField(max_length=64, unique=True)
    name = CharField(max_length=40)
    region = CharField(max_length=40, index=True)
    # In fen (分): money is counted in whole units, never floats.
    purchase_total = IntegerField(constraints=[Check("purchase_total >= 0")])
    last_active = DateField(null=True)
    # HMAC under QUNBOOK_HASH_KEY; the number itself is never stored.
    phone_hash = CharField(max_length=64, null=True)
    imported_at = DateTimeField(default=utcnow)


class VipProgram(BaseModel):
    """A campaign's VIP invitation settings: the rights, the offer, how long a link lasts."""

    campaign = ForeignKeyField(Campaign, backref="vip_programs", on_delete="CASCADE", unique=True)
    rights = TextField(default="")  # staff-written Markdown, sanitised on the page
    offer_url = CharField(max_length=300, default="")
    offer_label = CharField(max_length=40, default="")
    valid_days = IntegerField(default=14, constraints=[Check("valid_days > 0")])


class Invitation(BaseModel):
    """One customer's personal invitation to a campaign, reached by its token."""

    campaign = ForeignKeyField(Campaign, backref="invitations", on_delete="CASCADE", index=False)
    customer = ForeignKeyField(Customer, backref="invitations", on_delete="CASCADE")
    # From secrets.token_urlsafe(24): 192 bits. Kept, because staff export the links again.
    token = CharField(max_length=64, unique=True)
    # created, opened, accepted, declined, revoked; expiry is read from expires_at.
    status = CharField(max_length=10, default="created")
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    opened_at = DateTimeField(null=True)
    accepted_at = DateTimeField(null=True)
    declined_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("campaign", "customer"), True),)


class Challenge(BaseModel):
    """A campaign's N-day challenge (打卡). Each of its days is an activity (kind "day")."""

    campaign = ForeignKeyField(Campaign, backref="challenges", on_delete="CASCADE", unique=True)
    days = IntegerField(constraints=[Check("days BETWEEN 1 AND 366")])
    # The first day, a date in the challenge's time zone: day k is starts_on + (k - 1) days.
    starts_on = DateField()
    timezone = CharField(max_length=64)
    # The task for every day that has none of its own (staff Markdown, sanitised on the page).
    task = TextField(default="")
    # Finishing means checking in on `finish_days` of the days; the reward is issued once.
    finish_days = IntegerField(constraints=[Check("finish_days >= 1")])
    reward = CharField(max_length=60, default="")
    # Make-up cards (补卡) per member, and how many days back one may reach.
    makeup_cards = IntegerField(default=2, constraints=[Check("makeup_cards >= 0")])
    makeup_window = IntegerField(default=3, constraints=[Check("makeup_window >= 0")])
    # A hidden challenge takes no check-ins and shows no pages.
    hidden = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)


class Activity(BaseModel):
    """A dated call in a campaign that members answer: a challenge day, an event, a one-off
    call. Stickiness of an activity = members who responded / members it was called to."""

    campaign = ForeignKeyField(Campaign, backref="activities", on_delete="CASCADE", index=False)
    kind = CharField(max_length=8, constraints=[Check("kind IN ('day', 'event', 'call')")])
    title = CharField(max_length=60, default="")
    task = TextField(default="")  # staff Markdown; a day without one shows the challenge's
    # A challenge day's number (1 = the first day); NULL for events and calls.
    number = IntegerField(null=True)
    # Events and calls: when they start (naive UTC), where, and how many may come.
    starts_at = DateTimeField(null=True)
    place = CharField(max_length=120, default="")
    capacity = IntegerField(null=True, constraints=[Check("capacity > 0")])
    # Tickets issued and not revoked, kept by conditional UPDATEs so capacity holds.
    tickets = IntegerField(default=0, constraints=[Check("tickets >= 0")])
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("campaign", "kind", "number"), True),)


class Participant(BaseModel):
    """A member taking part in a campaign's challenge: called to every day from first_day on."""

    campaign = ForeignKeyField(Campaign, backref="participants", on_delete="CASCADE", index=False)
    member = ForeignKeyField(Member, backref="participations", on_delete="CASCADE", unique=True)
    # The group the live code sent the member to, when it did: stickiness per group.
    group = ForeignKeyField(Group, null=True, on_delete="SET NULL")
    first_day = IntegerField(default=1, constraints=[Check("first_day >= 1")])
    # Days answered (on time or made up) and cards spent, changed with the response they count.
    done = IntegerField(default=0, constraints=[Check("done >= 0")])
    cards_used = IntegerField(default=0, constraints=[Check("cards_used >= 0")])
    last_at = DateTimeField(null=True)
    joined_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("campaign", "done"), False),)


class Ticket(BaseModel):
    """A personal ticket to an event: an unguessable URL for the QR, a short code to read out."""

    activity = ForeignKeyField(Activity, backref="ticket_rows", on_delete="CASCADE", index=False)
    # From secrets.token_urlsafe(24): 192 bits.
    token = CharField(max_length=64, unique=True)
    code = CharField(max_length=8)
    holder = CharField(max_length=40)  # the name staff see at the door
    member = ForeignKeyField(Member, backref="tickets", null=True, on_delete="CASCADE")
    invitation = ForeignKeyField(
        Invitation, backref="tickets", null=True, on_delete="CASCADE", unique=True
    )
    group = ForeignKeyField(Group, null=True, on_delete="SET NULL")
    # The browser that signed up or accepted: the door poster checks in this cookie's ticket.
    visitor = CharField(max_length=64, default="")
    created_at = DateTimeField(default=utcnow)
    revoked_at = DateTimeField(null=True)

    class Meta:
        indexes = (
            (("activity", "code"), True),
            (("activity", "member"), True),
            (("activity", "visitor"), False),
        )


class Response(BaseModel):
    """One member (or one ticket) answering one activity, at most once: the unique indexes
    decide, never a prior check."""

    campaign = ForeignKeyField(Campaign, on_delete="CASCADE", index=False)
    activity = ForeignKeyField(Activity, backref="responses", on_delete="CASCADE", index=False)
    member = ForeignKeyField(Member, backref="responses", null=True, on_delete="CASCADE")
    ticket = ForeignKeyField(Ticket, null=True, on_delete="CASCADE", unique=True)
    # The group of the participation (days, calls) or the ticket (events) it answered with,
    # kept on the row so stickiness per group is one grouped scan of one index.
    group = ForeignKeyField(Group, null=True, on_delete="SET NULL", index=False)
    # button (on the day), makeup (a card), door (staff scan or code), self (door poster),
    # walkin (added at the door), staff (marked in the console)
    how = CharField(
        max_length=8,
        constraints=[Check("how IN ('button', 'makeup', 'door', 'self', 'walkin', 'staff')")],
    )
    note = CharField(max_length=200, default="")
    photo = BlobField(null=True)
    photo_digest = CharField(max_length=16, null=True)
    hidden = BooleanField(default=False)  # staff hid it from the wall
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("activity", "member"), True),
            (("campaign", "created_at"), False),
            (("campaign", "activity", "group"), False),
        )


class Alert(BaseModel):
    """One message to staff per cause (schema step 9), e.g. "qr-expiring:<group id>:<digest>".

    The unique cause makes it once per cause whoever notices it; the conditional UPDATE that
    claims it before sending (claimed_until) makes it once across processes. A failed send
    waits until next_attempt_at.
    """

    campaign = ForeignKeyField(Campaign, backref="alerts", on_delete="CASCADE")
    cause = CharField(max_length=200, unique=True)
    kind = CharField(max_length=24)
    message = TextField()
    created_at = DateTimeField(default=utcnow)
    attempts = IntegerField(default=0, constraints=[Check("attempts >= 0")])
    next_attempt_at = DateTimeField()
    claimed_until = DateTimeField(null=True)
    sent_at = DateTimeField(null=True)
    # Why the last attempt failed, without the webhook's key.
    last_error = CharField(max_length=300, default="")

    class Meta:
        indexes = ((("sent_at", "next_attempt_at"), False),)


class SchemaVersion(BaseModel):
    version = IntegerField(primary_key=True)
    applied_at = DateTimeField(default=utcnow)


STAFF_MODELS = [Staff, StaffSession, LoginAttempt, ApiToken, AuditEntry]
REFERRAL_MODELS = [ReferralProgram, RewardTier, Member, Referral, Reward]
VIP_MODELS = [Customer, VipProgram, Invitation]
CHECKIN_MODELS = [Challenge, Activity, Participant, Ticket, Response]
MODELS = [
    Campaign,
    Channel,
    Group,
    PlaceShare,
    Visit,
    VisitHour,
    VisitPerson,
    VisitRollup,
    AddressQuota,
    *STAFF_MODELS,
    *REFERRAL_MODELS,
    *VIP_MODELS,
    *CHECKIN_MODELS,
    Alert,
    SchemaVersion,
]
