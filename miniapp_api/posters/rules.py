"""What goes on a poster, and the cache that renders each distinct poster once.

Channel posters carry the campaign's live code and the channel; a member's personal poster
carries their nickname, avatar and referral code; a challenge member's share card carries
their day count and streak too. The drawing itself is render.py's.
"""

import os
import threading
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from miniapp_api.checkins.events import here_url
from miniapp_api.csvexport import to_csv
from miniapp_api.i18n import _
from miniapp_api.livecode.rules import NAMED_CHARS, join_url
from miniapp_api.localtime import to_local
from miniapp_api.markdown_text import plain_text
from miniapp_api.models import Activity, Campaign, Channel, Member
from miniapp_api.posters import render

CAMPAIGN_LAYOUT = "campaign"
MEMBER_LAYOUT = "member"
# The list that goes with the printed posters, in their language.
INDEX_NAME = "名单.csv"  # i18n: content
DOOR_LAYOUT = "door"
CHECKIN_LAYOUT = "checkin"
# FreeType faces are shared by the cached fonts and are not safe to draw with from two
# threads at once; a render is rare (results are cached), so one at a time costs nothing.
RENDER_LOCK = threading.Lock()


def campaign_content(campaign: Campaign, channel: Channel | None, public_url: str) -> dict:
    return {
        "title": campaign.title,
        "subtitle": plain_text(campaign.promise),
        "qr_url": join_url(public_url, campaign.slug, channel.code if channel else None),
        "channel_label": channel.label if channel else "",
    }


def member_content(campaign: Campaign, member: Member, public_url: str) -> dict:
    return {
        "avatar": avatar(member),
        "nickname": member.nickname,
        "title": campaign.title,
        "subtitle": _promise_text(campaign.promise),
        "qr_url": join_url(public_url, campaign.slug, member_code=member.code),
    }


@lru_cache(maxsize=256)
def _promise_text(promise: str) -> str:
    # A campaign's promise, the same on every member's poster: Markdown read once.
    return plain_text(promise)


def door_content(campaign: Campaign, event: Activity, public_url: str, tz: str) -> dict:
    """The door poster of an event: its QR opens the page where a ticket holder checks in."""
    # Printed on the poster, as the layout's text is.
    shown = "%m月%d日 %H:%M"  # i18n: content
    when = to_local(event.starts_at, tz).strftime(shown) if event.starts_at else ""
    return {
        "title": event.title,
        "subtitle": " · ".join(part for part in (when, event.place) if part),
        "qr_url": here_url(public_url, campaign.slug, event.id),
        "campaign_label": campaign.title,
    }


def checkin_headline(done: int, streak: int) -> str:
    """第 7 天 · 连续 3 天: the member's seventh day checked in, three in a row up to now.
    Printed on the share card, so in the posters' language, as the layout's text is."""
    if done:
        return f"第 {done} 天 · 连续 {streak} 天"  # i18n: content
    return "打卡挑战，今天开始"  # i18n: content


def checkin_content(
    campaign: Campaign, member: Member, done: int, streak: int, public_url: str, personal: bool
) -> dict:
    """The share card's content. `personal`: the QR carries the member's code (a campaign
    with a referral programme credits friends to it); otherwise it is the campaign's link."""
    return {
        "avatar": avatar(member),
        "nickname": member.nickname,
        "title": campaign.title,
        "headline": checkin_headline(done, streak),
        "qr_url": join_url(
            public_url, campaign.slug, member_code=member.code if personal else None
        ),
    }


def unprintable_note(campaign: Campaign, channels: list[Channel]) -> str | None:
    """The console's note when the campaign's stored poster text holds characters its posters
    cannot print (rows saved before the forms checked, or by hand); None when all prints."""
    places = [(_("标题"), campaign.title), (_("承诺"), campaign.promise)]
    places += [
        (_("渠道 %(code)s 的名称", code=channel.code), channel.label) for channel in channels
    ]
    found = [(where, render.undrawable(text or "")) for where, text in places]
    found = [(where, chars) for where, chars in found if chars]
    if not found:
        return None
    count = len({char for _where, chars in found for char in chars})
    named = _("；").join(
        (
            _("%(where)s里的 %(chars)s 等")
            if len(chars) > NAMED_CHARS
            else _("%(where)s里的 %(chars)s")
        )
        % {"where": where, "chars": render.describe(chars[:NAMED_CHARS], _("、"))}
        for where, chars in found
    )
    return _(
        "海报上有 %(count)s 个字符无法显示：%(named)s。"
        "海报把它们印成 %(mark)s（看不见的控制字符略去），请修改。",
        count=count,
        named=named,
        mark=render.MISSING_MARK,
    )


def avatar(member: Member) -> bytes | render.Initial:
    """The member's photo, or for a member without one the first character of their nickname
    on a disc, drawn only when a poster is (never to work out a cache key)."""
    return bytes(member.avatar) if member.avatar else render.Initial(member.nickname)


@dataclass(frozen=True)
class Poster:
    """Encoded poster bytes and the key they are cached under: a hash of everything the
    poster shows, which also serves as its ETag."""

    key: str
    data: bytes


def cached_poster(cache_dir: str, layout: dict, content: dict, fmt: str) -> Poster:
    """Render once per distinct layout + content; later requests read the file.

    The key is worked out from the content alone (an avatar is its photo's hash or the name
    its initial is drawn from), so a poster already rendered costs no image code at all."""
    key = render.poster_key(layout, content, fmt)
    path = Path(cache_dir) / f"{key}.{fmt}"
    try:
        return Poster(key, path.read_bytes())
    except FileNotFoundError:
        pass
    with RENDER_LOCK:
        data = render.render_poster(layout, content, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{fmt}.tmp{id(data)}")
    tmp.write_bytes(data)
    tmp.replace(path)  # atomic, so a concurrent reader never sees half a file
    return Poster(key, data)


def campaign_poster(cache_dir, campaign, channel, public_url, fmt="png") -> Poster:
    content = campaign_content(campaign, channel, public_url)
    return cached_poster(cache_dir, render.load_layout(CAMPAIGN_LAYOUT), content, fmt)


def member_poster(cache_dir, campaign, member, public_url, fmt="png") -> Poster:
    content = member_content(campaign, member, public_url)
    return cached_poster(cache_dir, render.load_layout(MEMBER_LAYOUT), content, fmt)


def door_poster(cache_dir, campaign, event, public_url, tz, fmt="png") -> bytes:
    content = door_content(campaign, event, public_url, tz)
    return cached_poster(cache_dir, render.load_layout(DOOR_LAYOUT), content, fmt).data


def checkin_poster(
    cache_dir, campaign, member, done, streak, public_url, *, personal, fmt="png"
) -> bytes:
    content = checkin_content(campaign, member, done, streak, public_url, personal)
    return cached_poster(cache_dir, render.load_layout(CHECKIN_LAYOUT), content, fmt).data


def write_member_posters(campaign, members, out: Path, fmt: str, public_url: str, progress=iter):
    """One poster per member into a zip, named by position and member code (never the
    nickname, which can hold anything), with 名单.csv saying whose poster each file is;
    written to a temporary file first, so a failed run leaves no half zip. `progress` wraps
    the members, e.g. with a progress bar."""
    layout = render.load_layout(MEMBER_LAYOUT)
    suffix = "jpg" if fmt == "jpeg" else fmt
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    try:
        # Stored, not deflated: JPEG and PNG are compressed already.
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as archive:
            index = []
            for number, member in enumerate(progress(members), start=1):
                data = render.render_poster(
                    layout, member_content(campaign, member, public_url), fmt
                )
                name = f"{number:04d}-{member.code}.{suffix}"
                archive.writestr(name, data)
                index.append((name, member.nickname, member.code))
            # Whose poster is whose, for the staff who print and hand them out.
            archive.writestr(INDEX_NAME, to_csv(["文件", "昵称", "推荐码"], index))  # i18n: content
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return len(members)
