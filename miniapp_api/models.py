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


class SchemaVersion(BaseModel):
    version = IntegerField(primary_key=True)
    applied_at = DateTimeField(default=utcnow)


MODELS = [Campaign, Channel, Group, Visit, SchemaVersion]
