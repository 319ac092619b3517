"""A campaign's and a channel's life after the work: archive (stop serving, keep the figures),
restore, and delete what holds no member's data.

Archiving is a conditional UPDATE on archived_at, so two staff archiving at once make one
change and one audit entry. Deleting is one conditional DELETE whose NOT EXISTS clauses are the
rule; on PostgreSQL the row is locked first, so a member signing up at that moment either
commits before the check sees her or waits and then finds the campaign gone.

What counts as member data (a campaign with any of it is archived, never deleted):
- a member (a sign-up, with her referrals and rewards);
- a visit that counted a person (counted_day set): the campaign's figures. Bots, link
  checkers and scans held back counted nobody and go with the campaign. Once `qunbook purge`
  has removed old visits, their hours in the rollup (VisitHour.sent) still say so;
- an invitation a customer answered (accepted or declined); unanswered ones go with it;
- a check-in or a door scan (any response).
"""

from datetime import datetime

from peewee import SQL, fn

from miniapp_api.db import db, is_sqlite
from miniapp_api.i18n import _
from miniapp_api.livecode.rules import Refused
from miniapp_api.models import (
    Campaign,
    Channel,
    Invitation,
    Member,
    Response,
    Visit,
    VisitHour,
    utcnow,
)


class KeepInstead(Refused):
    """A delete refused because the row holds data; archive it instead."""

    code = "keep_instead"


class AlreadyDeleted(Refused):
    """A delete of a row someone else deleted a moment ago."""

    code = "deleted_already"


def archive_campaign(campaign_id: int, now: datetime | None = None) -> bool:
    """Archive a running campaign; False when it was archived already (nothing changed)."""
    return _set_archived(Campaign, campaign_id, now or utcnow())


def restore_campaign(campaign_id: int) -> bool:
    """Put an archived campaign back to work; False when it was running already."""
    return _set_archived(Campaign, campaign_id, None)


def archive_channel(channel_id: int, now: datetime | None = None) -> bool:
    return _set_archived(Channel, channel_id, now or utcnow())


def restore_channel(channel_id: int) -> bool:
    return _set_archived(Channel, channel_id, None)


def _set_archived(model, row_id: int, at: datetime | None) -> bool:
    # The WHERE clause is the state change: only one of two concurrent archives updates a row.
    was = model.archived_at.is_null() if at else model.archived_at.is_null(False)
    return model.update(archived_at=at).where((model.id == row_id) & was).execute() == 1


def _member_data(campaign_id):
    """(name, condition) for each kind of member data, for the DELETE's WHERE and for saying
    what was found (the name in the reader's language)."""
    return [
        (_("报名的成员"), Member.select(SQL("1")).where(Member.campaign == campaign_id)),
        (
            _("计入人数的扫码"),
            Visit.select(SQL("1")).where(
                (Visit.campaign == campaign_id) & Visit.counted_day.is_null(False)
            ),
        ),
        (
            # The same, for visits purged by age after they were counted into the rollup.
            _("计入人数的扫码"),
            VisitHour.select(SQL("1")).where(
                (VisitHour.campaign == campaign_id) & (VisitHour.sent > 0)
            ),
        ),
        (
            _("已答复的 VIP 邀请"),
            Invitation.select(SQL("1")).where(
                (Invitation.campaign == campaign_id)
                & Invitation.status.in_(("accepted", "declined"))
            ),
        ),
        (
            _("打卡或签到"),
            Response.select(SQL("1")).where(Response.campaign == campaign_id),
        ),
    ]


def _lock(model, row_id: int) -> None:
    # SQLite runs one writer at a time and the DELETE is one statement; PostgreSQL needs the
    # row lock that an insert referencing the row waits on.
    if not is_sqlite():
        model.select(model.id).where(model.id == row_id).for_update().execute()


def delete_campaign(campaign: Campaign) -> None:
    """Delete a campaign that holds no member data, with its groups, channels and uncounted
    visits; raise KeepInstead naming what it holds otherwise."""
    with db.atomic():
        _lock(Campaign, campaign.id)
        checks = _member_data(campaign.id)
        where = Campaign.id == campaign.id
        for _name, rows in checks:
            where &= ~fn.EXISTS(rows)
        if Campaign.delete().where(where).execute() == 1:
            return
        found = list(dict.fromkeys(name for name, rows in checks if rows.exists()))
    if not found:  # gone already: deleted by someone else a moment ago
        raise AlreadyDeleted(_("活动「%(title)s」已经被删除了。", title=campaign.title))
    raise KeepInstead(
        _(
            "活动「%(title)s」已有%(found)s，不能删除，请改为归档："
            "归档后它不再对外服务、不再出现在“需要处理”里，数据照旧可查。",
            title=campaign.title,
            found=_("、").join(found),
        )
    )


def delete_channel(channel: Channel) -> None:
    """Delete a channel nobody has scanned; raise KeepInstead when visits name it, or the
    rollup's hours do (the visits purged by age after they were counted)."""
    with db.atomic():
        _lock(Channel, channel.id)
        scanned = Visit.select(SQL("1")).where(Visit.channel == channel.id)
        rolled = VisitHour.select(SQL("1")).where(VisitHour.channel == channel.id)
        deleted = Channel.delete().where(
            (Channel.id == channel.id) & ~fn.EXISTS(scanned) & ~fn.EXISTS(rolled)
        )
        if deleted.execute() == 1:
            return
        if not (scanned.exists() or rolled.exists()):
            raise AlreadyDeleted(_("渠道「%(label)s」已经被删除了。", label=channel.label))
    raise KeepInstead(
        _(
            "渠道「%(label)s」已有扫码记录，不能删除，请改为归档："
            "归档后它的海报仍能把人带到活动，只是不再记在这个渠道名下。",
            label=channel.label,
        )
    )
