"""A challenge's member pages: join from the join page, 打卡, 补卡, the streak and the calendar,
the leaderboard, the wall and the share card. Bad input gets a clear page and stores nothing;
opening a page changes nothing; the pages cost the same queries for 10 members as for 1,000."""

import io
import re
import struct
import zlib
from datetime import datetime

import pytest
import zxingcpp
from helpers import PUBLIC_URL, browser, make_campaign, make_challenge, make_group, shanghai
from PIL import Image
from playhouse.test_utils import count_queries
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from miniapp_api.checkins import rules as checkins
from miniapp_api.checkins.views import challenge as challenge_views
from miniapp_api.livecode import views as livecode_views
from miniapp_api.models import Member, Participant, Referral, Response, Reward
from miniapp_api.referrals import rules as referrals

WECHAT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI"
)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Clock:
    """The pages' time: a fixed moment the test moves, never the wall clock."""

    def __init__(self, monkeypatch, now: datetime):
        self.now = now
        for module in (challenge_views, livecode_views):
            monkeypatch.setattr(module, "utcnow", lambda: self.now)


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch, shanghai(3))  # day 3 of the test challenge, 10:00 in Shanghai


@pytest.fixture
def dk(app, clock):
    """A 28-day challenge on a campaign with one group and no referral programme."""
    campaign = make_campaign(slug="dk", title="28 天早起打卡", promise="每天早起一点点")
    make_group(campaign, "早起1群")
    return make_challenge(campaign=campaign)


class Phone:
    """One person's browser: its own cookies, a WeChat user agent."""

    def __init__(self, app, agent=WECHAT):
        self.client = browser(app)
        self.client.environ_base["HTTP_USER_AGENT"] = agent
        self.token = None

    def get(self, url):
        response = self.client.get(url)
        found = response.mimetype == "text/html" and CSRF.search(response.get_data(as_text=True))
        if found:
            self.token = found[1]
        return response

    def post(self, url, data=None, **files):
        for page in ("/c/dk", "/c/dk/join"):  # the first page with a form gives the token
            if self.token is None:
                self.get(page)
        fields = {"csrf_token": self.token, **(data or {})}
        for name, (content, filename) in files.items():
            fields[name] = FileStorage(io.BytesIO(content), filename)
        # Encoded in memory: Werkzeug's test client spools big bodies to a file it never closes.
        boundary, body = encode_multipart(fields)
        return self.client.post(
            url, data=body, content_type=f"multipart/form-data; boundary={boundary}"
        )

    def join(self, nickname="阿花", slug="dk", **fields):
        self.get(f"/j/{slug}")
        self.get(f"/c/{slug}/join")
        return self.post(f"/c/{slug}/join", {"nickname": nickname, **fields})

    def check_in(self, **fields):
        self.get("/c/dk")
        return self.post("/c/dk/checkin", fields)

    def member(self) -> Member:
        return Member.get(Member.visitor == self.client.get_cookie("qb_v").value)


def text(response) -> str:
    return response.get_data(as_text=True)


def cell(page: str, number: int) -> str:
    """The calendar cell of challenge day `number`, as HTML."""
    return re.search(rf'<td class="day [^"]*" data-day="{number}" .*?</td>', page)[0]


def stored() -> tuple:
    return (
        Member.select().count(),
        Participant.select().count(),
        Response.select().count(),
        Reward.select().count(),
        Referral.select().count(),
    )


def png_bytes(size=(64, 48), colour="#E9553A") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def decompression_bomb() -> bytes:
    """A 1-bit PNG of 20000×20000 white pixels: some 50 KB on disk, 400 million pixels
    (1.2 GB as RGB) once decoded."""
    width = height = 20000
    row = b"\x00" + b"\xff" * (width // 8)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()

    def chunk(kind, body):
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    assert len(png) < 100_000
    with pytest.raises(Image.DecompressionBombError):  # what Pillow itself makes of it
        Image.open(io.BytesIO(png))
    return png


def decode(data: bytes) -> list[str]:
    with Image.open(io.BytesIO(data)) as image:
        return [b.text for b in zxingcpp.read_barcodes(image.convert("RGB"))]


def wechat_recompressed(data: bytes) -> bytes:
    """As WeChat sends a saved picture on: 540 px wide, JPEG quality 60."""
    with Image.open(io.BytesIO(data)) as image:
        small = image.convert("RGB").resize(
            (540, round(image.height * 540 / image.width)), Image.Resampling.LANCZOS
        )
    out = io.BytesIO()
    small.save(out, "JPEG", quality=60)
    return out.getvalue()


# ---------------------------------------------------------------- joining


def test_join_from_the_join_page_check_in_and_see_streak_and_calendar(app, dk):
    amy = Phone(app)
    page = text(amy.get("/j/dk"))
    assert "早起1群" in page and "参加 28 天打卡挑战" in page
    assert 'href="/c/dk/join"' in page
    assert page.index('class="qr"') < page.index('id="challenge"')  # the group QR comes first
    form = text(amy.get("/c/dk/join"))
    assert 'name="nickname"' in form and 'name="consent"' in form

    joined = amy.post("/c/dk/join", {"nickname": "早起的阿花"})
    assert joined.status_code == 303 and joined.location == "/c/dk"
    member = amy.member()
    participant = Participant.get(Participant.member == member.id)
    # Tied to the group the live code sent them to, and called from today (day 3) on.
    assert participant.group.name == "早起1群" and participant.first_day == 3

    page = text(amy.get("/c/dk"))
    assert "今天 · 第 3 天" in page and "早上 7 点前起床" in page
    assert 'class="big">打卡</button>' in page
    assert 'data-state="today"' in cell(page, 3) and "今天，还没打卡" in cell(page, 3)

    done = amy.post("/c/dk/checkin", {"note": "六点起床，天刚亮 🌅"})
    assert done.status_code == 303 and done.location == "/c/dk?done=3"
    page = text(amy.get(done.location))
    assert "第 3 天打卡成功，已连续 1 天" in page
    assert '<strong class="streak">1</strong> 天' in page
    assert '<span class="days-done">1</span> / 21 天' in page
    today = cell(page, 3)
    assert 'data-state="done"' in today and "is-today" in today and "今天，已打卡" in today
    assert ">✓<" in today  # a mark, not colour only
    assert 'data-state="before"' in cell(page, 2) and 'data-state="future"' in cell(page, 4)
    assert "今天已打卡" in page and 'action="/c/dk/checkin"' not in page
    assert amy.get("/c/dk").headers["Cache-Control"] == "no-store"

    # Back on the join page: the way to the challenge, not a second sign-up.
    again = text(amy.get("/j/dk"))
    assert "去打卡" in again and "参加 28 天打卡挑战" not in again


def test_the_success_message_is_only_said_when_true(app, dk):
    amy = Phone(app)
    amy.join()
    for forged in ("/c/dk?done=3", "/c/dk?done=9"):  # today, not yet done; a day to come
        response = amy.get(forged)
        assert response.status_code == 200
        assert "打卡成功" not in text(response) and "补卡成功" not in text(response)
    for forged in ("abc", "0", "29", "2**63", "٣"):
        response = amy.get(f"/c/dk?done={forged}")
        assert response.status_code == 400 and "打卡成功的日子" in text(response)


def test_a_friend_joining_through_a_members_link_credits_the_member(app, clock):
    campaign = make_campaign(slug="dk", title="28 天早起打卡")
    make_group(campaign, "早起1群")
    referrals.set_up_program(campaign, tiers=[(3, "早餐券")])
    make_challenge(campaign=campaign)
    amy = Phone(app)
    amy.join(nickname="阿花")
    code = amy.member().code

    friend = Phone(app)
    page = text(friend.get(f"/j/dk?r={code}"))
    assert f'href="/c/dk/join?r={code}"' in page
    form = text(friend.get(f"/c/dk/join?r={code}"))
    assert f'name="r" value="{code}"' in form
    assert friend.post("/c/dk/join", {"nickname": "小周", "r": code}).status_code == 303
    assert friend.member().referrer_id == amy.member().id
    assert Member.get_by_id(amy.member().id).referrals == 1
    assert Participant.select().count() == 2


def test_an_existing_member_joins_with_one_tap(app, dk):
    amy = Phone(app)
    amy.get("/j/dk")
    visitor = amy.client.get_cookie("qb_v").value
    referrals.join_without_referrals(dk.campaign_id, nickname="阿花", visitor=visitor)
    form = text(amy.get("/c/dk/join"))
    assert "阿花，点一下就参加" in form and 'name="nickname"' not in form
    assert amy.post("/c/dk/join").status_code == 303
    assert (Member.select().count(), Participant.select().count()) == (1, 1)
    # Joined already: the join page leads to the challenge.
    assert amy.get("/c/dk/join").location == "/c/dk"
    assert amy.post("/c/dk/join").status_code == 303
    assert Participant.select().count() == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"nickname": ""}, "请填写昵称"),
        ({"nickname": "长" * 21}, "最多 20 个字"),
        ({"phone": "13800138000"}, "请勾选同意"),
        ({"phone": "٠١٢", "consent": "yes"}, "13800138000"),
    ],
)
def test_bad_join_forms_come_back_with_what_to_fix(app, dk, fields, message):
    amy = Phone(app)
    response = amy.join(**fields)
    assert response.status_code == 400
    assert message in text(response) and 'name="nickname"' in text(response)
    assert stored() == (0, 0, 0, 0, 0)


def test_an_ended_challenge_takes_no_one_and_leaves_the_join_page(app, dk, clock):
    amy = Phone(app)
    amy.get("/c/dk/join")  # the form, opened on day 3 and sent after the end
    clock.now = shanghai(29)
    assert "打卡挑战" not in text(amy.get("/j/dk"))
    assert "已经结束" in text(amy.get("/c/dk/join"))
    response = amy.post("/c/dk/join", {"nickname": "阿花"})
    assert response.status_code == 409 and "已经结束" in text(response)
    assert stored() == (0, 0, 0, 0, 0)


# ---------------------------------------------------------------- checking in


def test_a_double_tap_checks_in_once(app, dk):
    amy = Phone(app)
    amy.join()
    assert amy.check_in().status_code == 303
    second = amy.post("/c/dk/checkin", {"note": "又点了一下"})
    assert second.status_code == 409
    assert "今天已经打过卡了（10:00）" in text(second)
    assert Response.select().count() == 1
    assert Participant.get().done == 1


def test_a_visitor_who_has_not_joined_cannot_check_in(app, dk):
    stranger = Phone(app)
    page = text(stranger.get("/c/dk"))
    assert 'href="/c/dk/join"' in page and 'action="/c/dk/checkin"' not in page
    response = stranger.post("/c/dk/checkin")
    assert response.status_code == 409 and "先点「参加挑战」" in text(response)
    assert stored() == (0, 0, 0, 0, 0)


def test_a_note_of_10_kb_is_refused_and_nothing_stored(app, dk):
    amy = Phone(app)
    amy.join()
    response = amy.post("/c/dk/checkin", {"note": "早" * 10 * 1024})
    assert response.status_code == 400
    assert "打卡心得最多 200 个字，现在有 10240 个" in text(response)
    assert Response.select().count() == 0
    assert Participant.get().done == 0


@pytest.mark.parametrize(
    ("photo", "status", "message"),
    [
        ((b"not an image at all", "sky.jpg"), 400, "照片要是 12 MB 以内的 JPEG 或 PNG"),
        ((b"<svg xmlns='http://www.w3.org/2000/svg'/>", "sky.svg"), 400, "照片要是"),
        ("bomb", 400, "照片要是"),
        # Past the request limit (16 MB) the server refuses before the form is read.
        ((b"\xff\xd8\xff" + b"0" * (16 * 1024 * 1024), "big.jpg"), 413, "超过了 16 MB"),
    ],
)
def test_a_photo_that_is_not_a_usable_image_is_refused(app, dk, photo, status, message):
    amy = Phone(app)
    amy.join()
    if photo == "bomb":
        photo = (decompression_bomb(), "bomb.png")
    response = amy.post("/c/dk/checkin", {"note": "天空"}, photo=photo)
    assert response.status_code == status
    assert message in text(response)
    assert Response.select().count() == 0


def test_a_photo_is_re_encoded_shown_on_the_wall_and_hidden_by_staff(app, dk):
    amy = Phone(app)
    amy.join()
    big = png_bytes((2000, 1500))
    assert amy.post("/c/dk/checkin", {"note": "窗外"}, photo=(big, "sky.png")).status_code == 303
    response = Response.get()
    wall = text(amy.get("/c/dk/wall"))
    url = f"/c/dk/photos/{response.id}-{response.photo_digest}.jpg"
    assert url in wall and "窗外" in wall
    served = amy.get(url)
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    # Hidden photos must not outlive the hiding in a shared cache.
    assert served.headers["Cache-Control"] == "private, max-age=3600"
    with Image.open(io.BytesIO(served.data)) as image:
        assert image.format == "JPEG" and max(image.size) == 1280
    assert amy.get(f"/c/dk/photos/{response.id}-{'0' * 16}.jpg").status_code == 404
    checkins.hide(dk.campaign_id, response.id)
    assert amy.get(url).status_code == 404
    assert url not in text(amy.get("/c/dk/wall"))


# ---------------------------------------------------------------- make-up cards


def test_make_up_cards_fill_missed_days_then_run_out(app, dk, clock):
    amy = Phone(app)
    amy.join()  # day 3: called from day 3 on
    clock.now = shanghai(4)
    amy.check_in()
    clock.now = shanghai(8)  # days 5, 6, 7 missed; the window reaches back to day 5
    page = text(amy.get("/c/dk"))
    assert 'data-state="missed"' in cell(page, 5) and "漏打" in cell(page, 5)
    buttons = re.findall(r"补第 (\d+) 天", page)
    assert buttons == ["5", "6", "7"]

    done = amy.post("/c/dk/makeup", {"day": "6"})
    assert done.status_code == 303 and done.location == "/c/dk?done=6"
    page = text(amy.get(done.location))
    assert "第 6 天补卡成功" in page
    assert 'data-state="made_up"' in cell(page, 6) and "已补卡" in cell(page, 6)
    again = amy.post("/c/dk/makeup", {"day": "6"})
    assert again.status_code == 409 and "第 6 天已经打过卡了，不用补" in text(again)

    assert amy.post("/c/dk/makeup", {"day": "7"}).status_code == 303
    page = text(amy.get("/c/dk"))
    assert "剩 0 张" in page and "补第 5 天" not in page
    out = amy.post("/c/dk/makeup", {"day": "5"})
    assert out.status_code == 409 and "补卡次数已经用完了（每人 2 次）" in text(out)
    participant = Participant.get()
    assert (participant.cards_used, participant.done) == (2, 3)
    assert Response.select().count() == 3
    # Days 6, 7 made up and 8 not yet done: the streak of 6–7 is still alive today.
    assert '<strong class="streak">2</strong>' in page


@pytest.mark.parametrize(
    ("day", "status", "message"),
    [
        ("abc", 400, "要填 1 到 28 之间的整数"),
        ("-1", 400, "要填 1 到 28 之间的整数"),
        ("0", 400, "要填 1 到 28 之间的整数"),
        ("99999", 400, "要填 1 到 28 之间的整数"),
        ("2**63", 400, "要填 1 到 28 之间的整数"),
        ("٣", 400, "要填 1 到 28 之间的整数"),
        ("9" * 300, 400, "要填 1 到 28 之间的整数"),
        ("", 400, "要补哪一天"),
        ("6", 400, "补卡只能补已经过去的日子"),  # today
        ("7", 400, "补卡只能补已经过去的日子"),  # a day to come
        ("1", 400, "第 1 天已经过了期限"),  # outside the window
        ("2", 400, "第 2 天已经过了期限"),
        ("3", 400, "第 4 天加入的，之前的日子不用补"),  # in the window, before joining
        ("5", 409, "不用补"),  # checked in already
    ],
)
def test_a_forged_make_up_day_gets_a_clear_page_and_stores_nothing(
    app, dk, clock, day, status, message
):
    clock.now = shanghai(4)
    amy = Phone(app)
    amy.join()  # called from day 4 on
    clock.now = shanghai(5)
    amy.check_in()
    clock.now = shanghai(6)
    before = stored()
    response = amy.post("/c/dk/makeup", {"day": day})
    assert response.status_code == status
    assert message in text(response)
    assert "Traceback" not in text(response)
    assert stored() == before
    assert Participant.get().cards_used == 0


# ---------------------------------------------------------------- closed, ended, unknown, bots


@pytest.mark.parametrize(
    "url", ["/c/dk", "/c/dk/join", "/c/dk/top", "/c/dk/wall", "/c/dk/card", "/c/dk/card.png"]
)
def test_a_hidden_or_unknown_challenge_is_a_clear_404(app, dk, url):
    amy = Phone(app)
    amy.join()
    make_challenge(campaign=dk.campaign, hidden=True)
    response = amy.get(url)
    assert response.status_code == 404 and "没有找到这个打卡挑战" in text(response)
    for unknown in (url.replace("/dk", "/nope"), url.replace("/dk", "/DK%00")):
        assert amy.get(unknown).status_code == 404
    assert "打卡挑战" not in text(amy.get("/j/dk"))  # no card for a hidden challenge


@pytest.mark.parametrize("slug", ["dk", "nope"])
def test_posting_to_a_hidden_or_unknown_challenge_stores_nothing(app, dk, slug):
    amy = Phone(app)
    amy.join()
    make_challenge(campaign=dk.campaign, hidden=True)
    before = stored()
    for action, data in [("checkin", {}), ("makeup", {"day": "2"}), ("join", {"nickname": "x"})]:
        response = amy.post(f"/c/{slug}/{action}", data)
        assert response.status_code == 404, action
        assert "没有找到" in text(response)
    assert stored() == before


@pytest.mark.parametrize(
    ("day", "message"), [(0, "2026 年 12 月 1 日才开始"), (29, "这期挑战已经结束了")]
)
def test_before_the_start_and_after_the_end_say_so_and_take_no_check_in(
    app, dk, clock, day, message
):
    clock.now = shanghai(0)
    amy = Phone(app)
    amy.join()
    clock.now = shanghai(day)
    page = text(amy.get("/c/dk"))
    assert message in page and 'action="/c/dk/checkin"' not in page
    response = amy.post("/c/dk/checkin")
    assert response.status_code == 409
    assert Response.select().count() == 0


@pytest.mark.parametrize(
    "agent",
    [
        "facebookexternalhit/1.1",
        "Mozilla/5.0 (compatible; Googlebot/2.1)",
        "python-requests/2.32",
        "",
    ],
)
def test_a_link_preview_or_bot_posting_never_joins_or_checks_in(app, dk, agent):
    amy = Phone(app)
    amy.join()
    cookie = amy.client.get_cookie("qb_v").value
    bot = Phone(app, agent)
    bot.client.set_cookie("qb_v", cookie)  # even with a member's cookie
    before = stored()
    for action, data in [
        ("join", {"nickname": "机器人"}),
        ("checkin", {}),
        ("makeup", {"day": "2"}),
    ]:
        response = bot.post(f"/c/dk/{action}", data)
        assert response.status_code == 403, action
        assert "这里只能本人打卡" in text(response)
    assert stored() == before


def test_posting_without_the_csrf_token_is_refused(app, dk):
    amy = Phone(app)
    amy.join()
    response = amy.client.post("/c/dk/checkin", data={"note": "没有令牌"})
    assert response.status_code == 400 and "页面已过期" in text(response)
    assert Response.select().count() == 0


def test_opening_pages_changes_nothing(app, dk, clock):
    amy = Phone(app)
    amy.join()
    amy.post("/c/dk/checkin", {"note": "早"}, photo=(png_bytes(), "a.png"))
    clock.now = shanghai(5)
    response = Response.get()
    before = stored(), Participant.get().cards_used, Participant.get().done
    urls = [
        "/c/dk",
        "/c/dk?done=5",
        "/c/dk/join",
        "/c/dk/top",
        "/c/dk/wall",
        "/c/dk/card",
        "/c/dk/card.png",
        "/c/dk/card.jpg",
        f"/c/dk/photos/{response.id}-{response.photo_digest}.jpg",
    ]
    for phone in (amy, Phone(app), Phone(app, "facebookexternalhit/1.1")):
        for url in urls:
            assert phone.get(url).status_code in (200, 302, 404), url
        # GET on the POST-only addresses is not a way in either.
        for action in ("checkin", "makeup"):
            assert phone.get(f"/c/dk/{action}?day=4").status_code == 405
    assert (stored(), Participant.get().cards_used, Participant.get().done) == before


# ---------------------------------------------------------------- leaderboard and wall


def add_members(challenge, count: int, prefix="会员") -> list[int]:
    """`count` participants, each checked in on day 1 with a note, by bulk inserts."""
    campaign_id = challenge.campaign_id
    start = Member.select().count()
    rows = [
        {
            "campaign": campaign_id,
            "code": referrals._new_code(),
            "nickname": f"{prefix}{start + n}号",
            "visitor": f"bulk-{start + n}",
        }
        for n in range(count)
    ]
    for i in range(0, count, 200):
        Member.insert_many(rows[i : i + 200]).execute()
    ids = [
        m.id
        for m in Member.select(Member.id)
        .where(Member.visitor.in_([r["visitor"] for r in rows]))
        .order_by(Member.id)
    ]
    day = checkins.day_activity(campaign_id, 1)
    at = shanghai(1, 7)
    participants = [
        {"campaign": campaign_id, "member": i, "first_day": 1, "done": 1, "last_at": at}
        for i in ids
    ]
    responses = [
        {
            "campaign": campaign_id,
            "activity": day.id,
            "member": i,
            "how": "button",
            "note": f"第一天 <b>{i}</b>",
            "created_at": at,
        }
        for i in ids
    ]
    for i in range(0, count, 200):
        Participant.insert_many(participants[i : i + 200]).execute()
        Response.insert_many(responses[i : i + 200]).execute()
    return ids


def test_the_leaderboard_masks_names_and_always_shows_ones_own_rank(app, dk):
    ids = add_members(dk, 25, prefix="坚持打卡的会员")
    Participant.update(done=5).where(Participant.member.in_(ids[:22])).execute()
    amy = Phone(app)
    amy.join(nickname="慢慢来的阿花")
    page = text(amy.get("/c/dk/top"))
    assert "我：第 <strong>26</strong> 名，已打卡 0 天" in page
    assert page.count("<li>") == 20  # the top 20; the member is not among them
    assert "坚持打卡的会员" not in page and "坚*******号" in page
    amy.check_in()
    assert "我：第 <strong>23</strong> 名，已打卡 1 天" in text(amy.get("/c/dk/top"))
    assert "我：" not in text(Phone(app).get("/c/dk/top"))  # a visitor has no rank


def test_the_wall_escapes_notes_and_pages_by_keyset(app, dk):
    ids = add_members(dk, 35)
    amy = Phone(app)
    amy.join()
    amy.check_in(note="<script>alert(1)</script> 早起成功")
    first = text(amy.get("/c/dk/wall"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt; 早起成功" in first and "<script>" not in first
    assert "&lt;b&gt;" in first and "<b>" not in first
    assert first.count('class="post"') == 30
    older = re.search(r'href="/c/dk/wall\?before=(\d+)"', first)[1]
    second = text(amy.get(f"/c/dk/wall?before={older}"))
    assert second.count('class="post"') == 6
    shown = re.findall(r'data-id="(\d+)"', first + second)
    assert len(set(shown)) == 36 == len(ids) + 1
    assert "更早的打卡" not in second
    for forged in ("abc", "-1", "٣", "9" * 40):
        response = amy.get(f"/c/dk/wall?before={forged}")
        assert response.status_code == 400 and "翻页位置" in text(response)


@pytest.mark.parametrize("url", ["/c/dk", "/c/dk/wall", "/c/dk/top", "/c/dk/join"])
def test_pages_cost_the_same_queries_with_10_members_as_with_1000(app, dk, clock, url):
    amy = Phone(app)
    amy.join()
    clock.now = shanghai(5)
    amy.check_in(note="早")
    add_members(dk, 10)
    amy.get(url)  # the CSRF session is made once, by the first page

    with count_queries() as small:
        assert amy.get(url).status_code in (200, 302)
    add_members(dk, 990)
    assert Participant.select().count() == 1001
    with count_queries() as large:
        assert amy.get(url).status_code in (200, 302)
    assert large.count == small.count
    assert small.count <= 12


# ---------------------------------------------------------------- share card


@pytest.mark.parametrize("fmt", ["png", "jpg"])
def test_the_share_card_carries_the_members_own_link(app, clock, fmt):
    campaign = make_campaign(slug="dk", title="28 天早起打卡")
    make_group(campaign, "早起1群")
    referrals.set_up_program(campaign)
    make_challenge(campaign=campaign)
    amy = Phone(app)
    amy.join(nickname="快乐的小红")
    amy.check_in()
    page = text(amy.get("/c/dk"))
    assert 'href="/c/dk/card">保存分享卡</a>' in page and "第 1 天 · 连续 1 天" in page
    card_page = amy.get("/c/dk/card")
    assert card_page.headers["Cache-Control"] == "no-store"
    assert 'src="/c/dk/card.png?v=1-1"' in text(card_page)
    assert "快乐的小红 的打卡分享卡：第 1 天 · 连续 1 天" in text(card_page)
    assert "也算你邀请的" in text(card_page)
    response = amy.get(f"/c/dk/card.{fmt}")
    assert response.status_code == 200
    assert response.mimetype == ("image/png" if fmt == "png" else "image/jpeg")
    assert response.headers["Cache-Control"] == "private, max-age=300"
    url = f"{PUBLIC_URL}/j/dk?r={amy.member().code}"
    assert decode(response.data) == [url]
    assert decode(wechat_recompressed(response.data)) == [url]
    # Another member's card is their own.
    ben = Phone(app)
    ben.join(nickname="阿本")
    assert decode(ben.get(f"/c/dk/card.{fmt}").data) == [f"{PUBLIC_URL}/j/dk?r={ben.member().code}"]


def test_without_a_referral_programme_the_card_points_at_the_campaign(app, dk):
    amy = Phone(app)
    amy.join()
    card = amy.get("/c/dk/card.png")
    assert decode(card.data) == [f"{PUBLIC_URL}/j/dk"]
    assert decode(wechat_recompressed(card.data)) == [f"{PUBLIC_URL}/j/dk"]


def test_only_a_participant_has_a_card(app, dk):
    assert Phone(app).get("/c/dk/card.png").status_code == 404
    assert Phone(app).get("/c/dk/card").location == "/c/dk"
    assert Phone(app).get("/c/dk/card.gif").status_code == 404


def test_the_card_shows_the_days_and_the_streak(app, dk, clock):
    """The card changes with the count: a new image once the member has checked in again."""
    amy = Phone(app)
    amy.join()
    amy.check_in()
    first = amy.get("/c/dk/card.png").data
    clock.now = shanghai(4)
    amy.check_in()
    assert 'src="/c/dk/card.png?v=2-2"' in text(amy.get("/c/dk/card"))
    second = amy.get("/c/dk/card.png").data
    assert first != second
    assert decode(first) == decode(second) == [f"{PUBLIC_URL}/j/dk"]


def test_finishing_shows_the_reward_and_its_code_once(app, dk, clock):
    make_challenge(campaign=dk.campaign, finish_days=2)
    amy = Phone(app)
    amy.join()
    amy.check_in()
    assert "还差 1 天" in text(amy.get("/c/dk"))
    clock.now = shanghai(4)
    amy.check_in()
    clock.now = shanghai(5)
    amy.check_in()
    [reward] = Reward.select()
    page = text(amy.get("/c/dk"))
    assert f"完成挑战！奖励「结营礼盒」· 兑换码 <code>{reward.code}</code>" in page
    assert reward.code not in text(Phone(app).get("/c/dk"))
