"""The domain: campaigns, their channels and groups, and the visits the live code records."""

from datetime import UTC, datetime

from peewee import (
    BlobField,
    BooleanField,
    CharField,
    Check,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from .db import db


def utcnow() -> datetime:
    """Naive UTC, the one form every datetime column holds."""
    return datetime.now(UTC).replace(tzinfo=None)


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


class Channel(BaseModel):
    campaign = ForeignKeyField(Campaign, backref="channels", on_delete="CASCADE")
    code = CharField(max_length=32)
    label = CharField(max_length=60)

    class Meta:
        indexes = ((("campaign", "code"), True),)


class Group(BaseModel):
    """A WeChat group the live code sends people to."""

    campaign = ForeignKeyField(Campaign, backref="groups", on_delete="CASCADE")
    name = CharField(max_length=60)
    position = IntegerField(default=0)
    # WeChat stops scan-joins past a member count it sets (commonly 200), so it is per group.
    cutoff = IntegerField(default=200, constraints=[Check("cutoff > 0")])
    sent = IntegerField(default=0, constraints=[Check("sent >= 0")])
    active = BooleanField(default=True)
    qr_image = BlobField(null=True)
    qr_digest = CharField(max_length=64, null=True)
    qr_payload = TextField(null=True)
    qr_generated_at = DateTimeField(null=True)

    class Meta:
        table_name = "wechat_group"


class Visit(BaseModel):
    """One request to a live code, kept whatever came of it."""

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


class Staff(BaseModel):
    """A member of the operations team. Trainers see everything and change nothing."""

    username = CharField(max_length=64, unique=True)
    display_name = CharField(max_length=60, default="")
    role = CharField(max_length=16, constraints=[Check("role IN ('admin', 'operator', 'trainer')")])
    password_hash = CharField(max_length=255)
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)


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


class SchemaVersion(BaseModel):
    version = IntegerField(primary_key=True)
    applied_at = DateTimeField(default=utcnow)


STAFF_MODELS = [Staff, StaffSession, LoginAttempt, ApiToken, AuditEntry]
MODELS = [Campaign, Channel, Group, Visit, *STAFF_MODELS, SchemaVersion]
