"""The member's side of a referral campaign: sign up from the join page, see one's own
poster and progress, the leaderboard; bad input gets a friendly page and stores nothing."""

import io
import itertools
import os
import re

import pytest
import zxingcpp
from helpers import browser, make_campaign, make_group, post_multipart
from PIL import Image

from miniapp_api.models import Member, Referral, Reward, StaffSession
from miniapp_api.referrals import rules as referrals

WECHAT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI"
)


@pytest.fixture
def fission_campaign(app):
    campaign = make_campaign(slug="fission", title="老带新进群", promise="邀请 3 位朋友得 9 折券")
    make_group(campaign, "老带新1群")
    referrals.set_up_program(campaign, tiers=[(3, "9 折券")], friend_reward="新人券")
    return campaign


class Phone:
    """One person's browser: its own cookies, a WeChat user agent of its own (people's phones
    differ in model and version; the same device coming back is a signal of its own)."""

    made = itertools.count()

    def __init__(self, app):
        self.client = browser(app)
        self.client.environ_base["HTTP_USER_AGENT"] = f"{WECHAT} Build/{next(self.made)}"

    def open_join(self, code=None):
        url = "/j/fission" + (f"?r={code}" if code else "")
        return self.client.get(url)

    def sign_up_with_file(self, avatar, **fields):
        """The sign-up form with a large avatar file (see helpers.post_multipart)."""
        page = self.open_join().get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
        form = {"csrf_token": token, "nickname": "阿花", **fields}
        return post_multipart(self.client, "/r/fission/join", form, {"avatar": avatar})

    def sign_up(self, code=None, **fields):
        page = self.open_join(code).get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
        data = {"csrf_token": token, "nickname": "阿花", **fields}
        if isinstance(data.get("avatar"), tuple) and isinstance(data["avatar"][0], bytes):
            data["avatar"] = (io.BytesIO(data["avatar"][0]), data["avatar"][1])
        if code:
            data["r"] = code
        return self.client.post("/r/fission/join", data=data, content_type="multipart/form-data")


def member_of(phone: Phone) -> Member:
    return Member.get(Member.visitor == phone.client.get_cookie("qb_v").value)


def test_sign_up_from_the_join_page_then_see_poster_and_progress(app, fission_campaign):
    amy = Phone(app)
    page = amy.open_join().get_data(as_text=True)
    assert "老带新1群" in page and "报名，领取你的专属海报" in page
    response = amy.sign_up(nickname="阿花")
    assert response.status_code == 303 and response.location.endswith("/r/fission/me")
    me = amy.client.get("/r/fission/me").get_data(as_text=True)
    assert "阿花 的专属海报" in me and "再邀请 <strong>3</strong> 位朋友" in me
    member = member_of(amy)
    poster = amy.client.get(f"/r/fission/me/poster.png?v={member.code}")
    assert poster.status_code == 200 and poster.mimetype == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(poster.data)))
    assert [b.text for b in decoded] == [f"https://qun.example.cn/j/fission?r={member.code}"]
    # Back on the join page, the member is offered their own page, not a second sign-up.
    again = amy.open_join().get_data(as_text=True)
    assert "看我的海报和进度" in again and 'name="nickname"' not in again


def test_friends_progress_rewards_and_leaderboard(app, fission_campaign):
    amy = Phone(app)
    amy.sign_up(nickname="王小明")
    code = member_of(amy).code
    for i in range(3):
        friend = Phone(app)
        assert friend.sign_up(code, nickname=f"朋友{i}").status_code == 303
        assert [r.name for r in member_of(friend).rewards] == ["新人券"]
    me = amy.client.get("/r/fission/me").get_data(as_text=True)
    assert "<strong>3</strong>" in me and "9 折券 · 兑换码" in me
    top = amy.client.get("/r/fission/top").get_data(as_text=True)
    assert "王*明" in top and "王小明" not in top


def test_returning_with_the_same_phone_on_a_new_browser_restores_the_membership(
    app, fission_campaign
):
    first = Phone(app)
    first.sign_up(nickname="阿花", phone="138 0013 8000", consent="yes")
    original = member_of(first)
    assert original.phone_hash and "13800138000" not in original.phone_hash
    second = Phone(app)
    assert (
        second.sign_up(nickname="换了手机", phone="13800138000", consent="yes").status_code == 303
    )
    assert Member.select().count() == 1
    assert member_of(second).id == original.id
    assert "阿花 的专属海报" in second.client.get("/r/fission/me").get_data(as_text=True)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"nickname": ""}, "请填写昵称"),
        ({"nickname": "长" * 21}, "最多 20 个字"),
        ({"phone": "12345", "consent": "yes"}, "13800138000"),
        ({"phone": "13800138000"}, "请勾选同意"),
        ({"avatar": (b"not an image", "a.png")}, "头像要是"),
        ({"avatar": (b"<svg/>", "a.svg")}, "头像要是"),
    ],
)
def test_bad_sign_ups_get_the_form_back_with_what_to_fix(app, fission_campaign, fields, message):
    response = Phone(app).sign_up(**fields)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and 'name="nickname"' in page
    assert Member.select().count() == 0


def test_sign_up_without_csrf_token_is_refused(app, fission_campaign):
    client = app.test_client()
    response = client.post("/r/fission/join", data={"nickname": "阿花"})
    assert response.status_code == 400
    assert Member.select().count() == 0


def form_token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page)[1]


def test_the_join_page_writes_no_session_row_for_its_form(app, fission_campaign):
    amy = Phone(app)
    assert "报名，领取你的专属海报" in amy.open_join().get_data(as_text=True)
    assert StaffSession.select().count() == 0
    assert amy.client.get_cookie("session") is None


def test_a_forged_sign_up_is_refused(app, fission_campaign):
    """The form's token is signed for its visitor: another visitor's token, a made-up one,
    or the right one sent without the visitor's cookie (what another site could send) fail."""
    amy, eve = Phone(app), Phone(app)
    amys = form_token(amy.open_join().get_data(as_text=True))
    eves = form_token(eve.open_join().get_data(as_text=True))
    assert amys != eves
    for token in (eves, "0" * 64, ""):
        response = amy.client.post(
            "/r/fission/join", data={"csrf_token": token, "nickname": "冒名"}
        )
        assert response.status_code == 400
    cookieless = app.test_client()
    cookieless.environ_base["HTTP_USER_AGENT"] = WECHAT
    response = cookieless.post("/r/fission/join", data={"csrf_token": amys, "nickname": "冒名"})
    assert response.status_code == 400
    assert Member.select().count() == 0
    ok = amy.client.post("/r/fission/join", data={"csrf_token": amys, "nickname": "阿花"})
    assert ok.status_code == 303 and member_of(amy).nickname == "阿花"


@pytest.mark.parametrize(
    "token",
    ["阿花的令牌", "😀" * 64, "\x00" * 64, str(2**63), "f" * 100_000, "0\u0301" * 32],
    ids=["chinese", "emoji", "nul", "2**63", "huge", "combining"],
)
def test_a_hostile_form_token_is_refused_not_a_server_error(app, fission_campaign, token):
    amy = Phone(app)
    amy.open_join()
    response = amy.client.post("/r/fission/join", data={"csrf_token": token, "nickname": "冒名"})
    assert response.status_code == 400
    assert Member.select().count() == 0


def test_a_bot_posting_the_form_never_counts(app, fission_campaign):
    amy = Phone(app)
    amy.sign_up()
    bot = Phone(app)
    bot.client.environ_base["HTTP_USER_AGENT"] = "python-requests/2.32"
    bot.sign_up(member_of(amy).code, nickname="机器人")
    assert member_of(amy).referrals == 0
    assert Referral.get().reason == "bot"


def test_avatar_is_re_encoded_as_a_small_square(app, fission_campaign):
    picture = io.BytesIO()
    Image.new("RGB", (1200, 800), "#E9553A").save(picture, "PNG")
    picture.seek(0)
    amy = Phone(app)
    assert amy.sign_up(avatar=(picture, "me.png")).status_code == 303
    stored = Image.open(io.BytesIO(member_of(amy).avatar))
    assert (stored.format, stored.size) == ("JPEG", (256, 256))


@pytest.mark.parametrize("url", ["/r/nope/me", "/r/nope/join", "/r/nope/top", "/r/%E9%98%BF/me"])
def test_unknown_campaigns_get_the_friendly_404(client, url):
    response = client.get(url)
    assert response.status_code == 404 and "没有找到" in response.get_data(as_text=True)


def test_a_campaign_without_a_programme_has_no_referral_pages(app, client):
    make_group(make_campaign(slug="plain"), "一群")
    assert client.get("/r/plain/join").status_code == 404
    assert "报名" not in client.get("/j/plain").get_data(as_text=True)


def test_me_without_membership_leads_to_sign_up(client, fission_campaign):
    response = client.get("/r/fission/me")
    assert response.status_code == 302 and response.location.endswith("/r/fission/join")
    assert client.get("/r/fission/me/poster.png").status_code == 404


def test_opening_pages_changes_nothing(app, fission_campaign):
    amy = Phone(app)
    amy.sign_up()
    code = member_of(amy).code
    before = (Member.select().count(), Referral.select().count(), Reward.select().count())
    stranger = Phone(app)
    for url in ("/r/fission/join?r=" + code, "/r/fission/top", "/r/fission/me"):
        stranger.client.get(url)
    assert (Member.select().count(), Referral.select().count(), Reward.select().count()) == before


def test_the_sign_up_card_comes_once_and_after_the_group_qr(app, fission_campaign):
    page = Phone(app).open_join().get_data(as_text=True)
    assert page.count('id="signup"') == 1
    assert page.index('class="qr"') < page.index('id="signup"')


def test_a_programme_counting_friends_sent_to_a_group(app):
    campaign = make_campaign(slug="fission")
    make_group(campaign, "一群")
    referrals.set_up_program(campaign, count_on="sent", tiers=[(1, "券")])
    amy = Phone(app)
    amy.sign_up(nickname="阿花")
    code = member_of(amy).code
    friend = Phone(app)
    friend.open_join(code)  # sent to the group: that is what counts here
    friend.open_join(code)  # the same person again the same day: not again
    bot = Phone(app)
    bot.client.environ_base["HTTP_USER_AGENT"] = "facebookexternalhit/1.1"
    bot.open_join(code)
    assert member_of(amy).referrals == 1
    assert [r.key for r in member_of(amy).rewards] == ["tier:1"]
    # Signing up later links the friend to who brought them, without counting twice.
    assert friend.sign_up(code, nickname="朋友").status_code == 303
    assert member_of(friend).referrer_id == member_of(amy).id
    assert member_of(amy).referrals == 1
    assert Referral.select().where(Referral.status == "counted").count() == 1


def test_a_campaign_can_keep_its_leaderboard_private(app, fission_campaign):
    amy = Phone(app)
    amy.sign_up(nickname="王小明")
    Phone(app).sign_up(member_of(amy).code, nickname="朋友")
    referrals.set_up_program(fission_campaign, leaderboard_size=0)
    page = amy.client.get("/r/fission/top").get_data(as_text=True)
    assert "不公开排行榜" in page and "王*明" not in page


def test_a_friends_landing_page_says_who_invited_them(app, fission_campaign):
    amy = Phone(app)
    amy.sign_up(nickname="王小明")
    code = member_of(amy).code
    friend = Phone(app).open_join(code).get_data(as_text=True)
    assert "王小明 邀请你加入" in friend
    # Not on her own page, nor on a code that belongs to nobody.
    assert "邀请你加入" not in amy.open_join(code).get_data(as_text=True)
    assert "邀请你加入" not in Phone(app).open_join("zzzzzzzz").get_data(as_text=True)


def test_after_signing_up_the_member_page_shows_her_group(app, fission_campaign):
    amy = Phone(app)
    amy.sign_up(nickname="阿花")
    page = amy.client.get("/r/fission/me").get_data(as_text=True)
    assert "老带新1群" in page and "/j/qr/" in page
    # Signed up without being sent to a group (the form page alone): a way to the group.
    stranger = Phone(app)
    form = stranger.client.get("/r/fission/join").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)[1]
    stranger.client.post("/r/fission/join", data={"csrf_token": token, "nickname": "小李"})
    page = stranger.client.get("/r/fission/me").get_data(as_text=True)
    assert "/j/qr/" not in page and 'href="/j/fission"' in page


def test_the_leaderboard_shows_a_members_own_rank(app, fission_campaign):
    referrals.set_up_program(fission_campaign, leaderboard_size=1, max_per_day=100)
    amy, ben = Phone(app), Phone(app)
    amy.sign_up(nickname="王小明")
    ben.sign_up(nickname="李大海")
    for n in range(2):
        Phone(app).sign_up(member_of(amy).code, nickname=f"朋友{n}")
    Phone(app).sign_up(member_of(ben).code, nickname="朋友9")
    top = ben.client.get("/r/fission/top").get_data(as_text=True)
    assert "王*明" in top and "李*海" not in top  # only the first place is shown
    assert "你排第 <strong>2</strong> 名，邀请了 1 位朋友" in top
    assert "你排第 <strong>1</strong> 名" in amy.client.get("/r/fission/top").get_data(as_text=True)
    newcomer = Phone(app)
    newcomer.sign_up(nickname="新来的")
    assert "你还没有确认的邀请" in newcomer.client.get("/r/fission/top").get_data(as_text=True)


def phone_photo(width, height, quality=95) -> bytes:
    """A JPEG as a phone's album holds one: large in pixels, noisy, so large in bytes."""
    noise = Image.frombytes("L", (width // 8, height // 8), os.urandom(width * height // 64))
    image = noise.resize((width, height)).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def test_a_photo_straight_from_the_phone_is_an_avatar(app, fission_campaign):
    photo = phone_photo(6000, 4500)  # 27 megapixels: past the pixel limit when fully decoded
    assert len(photo) > 4 * 1024 * 1024
    amy = Phone(app)
    assert amy.sign_up_with_file(nickname="阿花", avatar=(photo, "IMG_0001.jpg")).status_code == 303
    avatar = Image.open(io.BytesIO(member_of(amy).avatar))
    assert (avatar.format, avatar.size) == ("JPEG", (256, 256))


def test_an_avatar_past_the_limit_keeps_the_form(app, fission_campaign):
    big = b"\xff\xd8\xff" + b"0" * (13 * 1024 * 1024)
    response = Phone(app).sign_up_with_file(nickname="阿花", avatar=(big, "huge.jpg"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "头像要是 12 MB 以内" in page and 'value="阿花"' in page
    assert Member.select().count() == 0
