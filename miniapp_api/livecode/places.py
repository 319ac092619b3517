"""A group's places, kept in a few shares (PlaceShare rows) rather than one counter.

The cut-off is split over SHARES rows and a scan counts one more person into a share with
room of the first open group, looking from a share number it draws. On PostgreSQL concurrent
scans skip a share another scan holds (FOR UPDATE SKIP LOCKED) and take the next, so they no
longer queue on one row; the database still re-checks each share's own bound, so a group never
takes one more than its cut-off. How many were sent to a group is the sum of its shares.

Staff set a group's cut-off or correct its count as a whole: the shares are then laid out
again, the count filling them in order. A group has room exactly while its count is below its
cut-off: shares only fill up to their own cut-off between two layouts, and a layout leaves
room only in shares past the count.
"""

import random

from peewee import fn

from miniapp_api.db import is_sqlite
from miniapp_api.models import Group, PlaceShare

SHARES = 8  # as many scans as PostgreSQL has clients at once, each in a share of its own


def share_start() -> int:
    """The share number a scan looks for room from (rules.hot_sql's pick_share): any, so
    that concurrent scans update different rows. Not a secret, so not from `secrets`."""
    return random.randrange(SHARES)  # noqa: S311


def layout(cutoff: int, sent: int) -> list[tuple[int, int]]:
    """(cut-off, count) of each share: the cut-off split evenly (the first ones one more), the
    count filling the shares in order, any past the cut-off in share 0. Schema step 12 lays
    out the groups it found the same way."""
    cutoffs = [cutoff // SHARES + (number < cutoff % SHARES) for number in range(SHARES)]
    shares, left = [], sent
    for share_cutoff in cutoffs:
        taken = min(share_cutoff, left)
        shares.append((share_cutoff, taken))
        left -= taken
    shares[0] = (shares[0][0], shares[0][1] + left)
    return shares


def create(group_id: int, cutoff: int) -> None:
    """The empty shares of a new group (in its creator's transaction)."""
    PlaceShare.insert_many(
        [
            {"group": group_id, "number": number, "cutoff": share_cutoff, "sent": 0}
            for number, (share_cutoff, _sent) in enumerate(layout(cutoff, 0))
        ]
    ).execute()


def lay_out(group_id: int, sent: int | None = None) -> None:
    """Lay the group's shares out again for its cut-off, keeping its count (or setting it to
    `sent`, staff's correction). Run inside a write transaction: on PostgreSQL the shares are
    locked first, so scans counting into them at that moment are waited for, not lost."""
    cutoff = Group.select(Group.cutoff).where(Group.id == group_id).scalar()
    shares = PlaceShare.select(PlaceShare.number, PlaceShare.sent).where(
        PlaceShare.group == group_id
    )
    if not is_sqlite():
        shares = shares.for_update()
    counted = sum(share.sent for share in shares)
    for number, (share_cutoff, share_sent) in enumerate(
        layout(cutoff, counted if sent is None else sent)
    ):
        PlaceShare.update(cutoff=share_cutoff, sent=share_sent).where(
            (PlaceShare.group == group_id) & (PlaceShare.number == number)
        ).execute()


def _sum_sent():
    return PlaceShare.select(fn.COALESCE(fn.SUM(PlaceShare.sent), 0))


def sent_column(group=Group):
    """How many were sent to `group` (a Group model or alias in the query): select it as
    `.alias("sent")` and each row's .sent holds it."""
    return _sum_sent().where(PlaceShare.group == group.id)


def with_sent(query, group=Group):
    """`query` over groups, each row with its count as .sent."""
    return query.select_extend(sent_column(group).alias("sent"))


def room(group=Group):
    """The condition that `group` has a place left."""
    return fn.EXISTS(
        PlaceShare.select(PlaceShare.id).where(
            (PlaceShare.group == group.id) & (PlaceShare.sent < PlaceShare.cutoff)
        )
    )


def sent_to(group_id: int) -> int:
    return _sum_sent().where(PlaceShare.group == group_id).scalar()


def people_sent(campaign):
    """How many were sent to the groups of `campaign` (the Campaign model in the query)."""
    groups = Group.alias()
    return (
        _sum_sent()
        .join(groups, on=(PlaceShare.group == groups.id))
        .where(groups.campaign == campaign.id)
    )
