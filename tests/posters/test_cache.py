"""The poster cache: its key is worked out from what a poster shows, never by drawing, so a
poster already rendered is served without running any image code, and any change to what it
shows makes a new one."""

import copy
import io
import sys
from pathlib import Path

import PIL
import pytest
import zxingcpp
from helpers import PUBLIC_URL, browser, make_campaign, make_member
from PIL import Image
from playhouse.test_utils import count_queries

from miniapp_api.db import db
from miniapp_api.models import Campaign, Member
from miniapp_api.posters import render
from miniapp_api.posters import rules as posters
from miniapp_api.referrals import rules as referrals
from miniapp_api.visitors import VISITOR_COOKIE

PIL_DIR = str(Path(PIL.__file__).parent)


def photo(colour="#3A7BD5") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (256, 256), colour).save(out, "JPEG", quality=85)
    return out.getvalue()


@pytest.fixture
def fission(app):
    campaign = make_campaign(slug="fission", title="好友同享群", promise="邀请 3 位朋友得 9 折券")
    referrals.set_up_program(campaign, tiers=[(3, "9 折券")])
    return campaign


def member_phone(app, campaign, **fields):
    """A phone whose visitor cookie belongs to a member of `campaign`, and that member."""
    phone = browser(app)
    member = make_member(campaign.id, visitor=phone.get_cookie(VISITOR_COOKIE).value, **fields)
    return phone, member


class PillowCalls:
    """Every Python function of Pillow entered while it is on, noted by file and name."""

    def __init__(self):
        self.seen = []

    def __call__(self, frame, event, arg):
        if event == "call" and frame.f_code.co_filename.startswith(PIL_DIR):
            self.seen.append(f"{Path(frame.f_code.co_filename).name}:{frame.f_code.co_name}")

    def __enter__(self):
        sys.setprofile(self)
        return self

    def __exit__(self, *exc):
        sys.setprofile(None)


def refuse(*args, **kwargs):
    raise AssertionError("a cached poster was drawn again")


@pytest.mark.parametrize("avatar", [None, photo()], ids=["initial", "photo"])
def test_a_cached_personal_poster_runs_no_image_code(app, fission, monkeypatch, avatar):
    phone, member = member_phone(app, fission, nickname="快乐的小红", avatar=avatar)
    url = f"/r/fission/me/poster.png?v={member.code}"
    first = phone.get(url)
    assert first.status_code == 200 and first.mimetype == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(first.data)))
    assert [b.text for b in decoded] == [f"{PUBLIC_URL}/j/fission?r={member.code}"]

    monkeypatch.setattr(render, "render_poster", refuse)
    with PillowCalls() as calls:
        again = phone.get(url)
    assert calls.seen == []
    assert again.status_code == 200 and again.data == first.data
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Cache-Control"] == "private, max-age=300"


def test_a_browser_holding_the_poster_gets_304(app, fission):
    phone, member = member_phone(app, fission)
    url = f"/r/fission/me/poster.png?v={member.code}"
    etag = phone.get(url).headers["ETag"]
    again = phone.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    assert phone.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


def test_a_channel_poster_has_an_etag_and_answers_304(client, fission):
    first = client.get("/posters/fission.jpg")
    assert first.status_code == 200 and first.headers["ETag"]
    again = client.get("/posters/fission.jpg", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.headers["Cache-Control"] == "public, max-age=300"


def test_a_new_nickname_makes_a_new_poster(app, fission):
    phone, member = member_phone(app, fission, nickname="小红")
    url = f"/r/fission/me/poster.png?v={member.code}"
    before = phone.get(url)
    Member.update(nickname="小明").where(Member.id == member.id).execute()
    after = phone.get(url)
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    assert after.data != before.data


# ---- the key ----------------------------------------------------------------------------------


def key_of(campaign, member, public_url=PUBLIC_URL, fmt="png", layout=None) -> str:
    """The key the personal poster route caches under, from rows fresh from the database."""
    campaign = Campaign.get_by_id(campaign.id)
    member = Member.get_by_id(member.id)
    content = posters.member_content(campaign, member, public_url)
    return render.poster_key(layout or render.load_layout("member"), content, fmt)


def change_member(member, **fields):
    Member.update(**fields).where(Member.id == member.id).execute()


def change_campaign(campaign, **fields):
    Campaign.update(**fields).where(Campaign.id == campaign.id).execute()


@pytest.mark.parametrize(
    "change",
    [
        lambda c, m: change_member(m, nickname="小明"),
        lambda c, m: change_member(m, nickname="小红 "),  # a space prints too (in the line)
        lambda c, m: change_member(m, avatar=photo()),
        lambda c, m: change_member(m, code="k7m2q9xa"),
        lambda c, m: change_campaign(c, title="好友同享二群"),
        lambda c, m: change_campaign(c, promise="邀请 5 位朋友得 8 折券"),
        lambda c, m: change_campaign(c, slug="fission-2"),
    ],
    ids=["nickname", "nickname-space", "photo", "member-code", "title", "promise", "slug"],
)
def test_the_key_changes_with_everything_the_poster_shows(app, fission, change):
    member = make_member(fission.id, nickname="小红")
    before = key_of(fission, member)
    change(fission, member)
    assert key_of(fission, member) != before


def test_the_key_changes_with_photo_url_format_and_layout(app, fission):
    member = make_member(fission.id, nickname="小红", avatar=photo())
    base = key_of(fission, member)
    moved = render.load_layout("member")
    moved["layers"][0]["box"][1] += 10
    assert len({
        base,
        key_of(fission, member, public_url="https://backup.example.cn"),
        key_of(fission, member, fmt="jpeg"),
        key_of(fission, member, layout=moved),
    }) == 4  # fmt: skip
    change_member(member, avatar=photo("#D53A7B"))
    assert key_of(fission, member) != base


def test_the_key_stays_when_nothing_printed_changes(app, fission):
    member = make_member(fission.id, nickname="小红")
    before = key_of(fission, member)
    change_campaign(fission, description="内部说明", rules="群规", staff_contact="小王")
    change_member(member, phone_hash="f" * 64, referrals=2, ip_hash="x")
    # Markdown the poster prints as the same words.
    change_campaign(fission, promise="**邀请 3 位朋友**得 9 折券")
    assert key_of(fission, member) == before
    assert key_of(fission, member) == render.poster_key(
        copy.deepcopy(render.load_layout("member")),
        posters.member_content(fission, Member.get_by_id(member.id), PUBLIC_URL),
        "png",
    )


def test_working_out_the_key_runs_no_image_code(app, fission):
    member = make_member(fission.id, nickname="快乐的小红")
    with PillowCalls() as calls:
        key_of(fission, member)
    assert calls.seen == []


def test_the_initial_avatar_is_drawn_as_before(app, fission):
    """The initial is drawn at render time now; it is the same picture as the PNG made for it
    before: the first character the font has, white on amber."""
    member = make_member(fission.id, nickname="🌸阿花")
    content = posters.member_content(fission, member, PUBLIC_URL)
    assert content["avatar"] == render.Initial("🌸阿花")
    drawn = render._fitted_initial(render._initial_char("🌸阿花"), 256, 256)
    assert render._initial_char("🌸阿花") == "阿"
    assert drawn.getpixel((5, 5)) == (0xF3, 0xB3, 0x3D)
    assert drawn.getpixel((128, 128)) != drawn.getpixel((5, 5))  # the character is there


def test_the_poster_route_reads_the_member_and_campaign_in_one_query(app, fission):
    photo_bytes = photo()
    member = make_member(fission.id, visitor="v-amy", nickname="阿花", avatar=photo_bytes)
    other = make_campaign(slug="no-programme")
    make_member(other.id, visitor="v-amy", nickname="阿花")
    with db.connection_context(), count_queries() as counted:
        found = referrals.member_in_program("fission", "v-amy")
    assert counted.count == 1
    assert (found.id, found.code, found.nickname, bytes(found.avatar)) == (
        member.id,
        member.code,
        "阿花",
        photo_bytes,
    )
    assert (found.campaign.id, found.campaign.slug, found.campaign.title) == (
        fission.id,
        "fission",
        "好友同享群",
    )
    with db.connection_context():
        assert posters.member_content(found.campaign, found, PUBLIC_URL) == posters.member_content(
            fission, Member.get_by_id(member.id), PUBLIC_URL
        )
        assert referrals.member_in_program("no-programme", "v-amy") is None  # no referrals
        assert referrals.member_in_program("fission", "v-bob") is None
        assert referrals.member_in_program("nope", "v-amy") is None
