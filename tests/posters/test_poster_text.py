"""Poster text: checked against the poster font when it is saved (console, API, command line
each say which character and what to do), and stored text the font cannot print (rows saved
before the check) never stops a poster: it prints □, and the console says so."""

import io
import secrets

import pytest
import zxingcpp
from helpers import PUBLIC_URL, make_campaign, make_channel, make_group
from PIL import Image

from miniapp_api.livecode.rules import join_url
from miniapp_api.models import Campaign, Channel, Member
from miniapp_api.referrals import rules as referrals

# What operators type and what a hostile editor might: an emoji, a cup, a hanzi outside the
# font (U+20000), a right-to-left override, a family joined by ZWJ, a BEL.
STORED = {
    "title": "咖啡☕会员群𠀀",
    "promise": "邀请好友送券🎁\u202e反过来\u202c" + "进群领券" * 400,
    "label": "前台👨\u200d👩\u200d👧\x07",
}


def decode(data: bytes) -> list[str]:
    image = Image.open(io.BytesIO(data))
    image.load()  # the whole file decodes, not just its header
    return [b.text for b in zxingcpp.read_barcodes(image.convert("RGB"))]


@pytest.fixture
def stored(app):
    """A campaign whose poster text was stored before the check (inserted directly)."""
    campaign = make_campaign(slug="store", title="门店会员群", promise="进群领券")
    make_channel(campaign, "counter", "门店前台")
    make_group(campaign)
    referrals.set_up_program(campaign)
    Campaign.update(title=STORED["title"], promise=STORED["promise"]).execute()
    Channel.update(label=STORED["label"]).execute()
    visitor = secrets.token_urlsafe(16)
    member = Member.create(
        campaign=campaign, code=referrals._new_code(), nickname="小美🌸\u202e", visitor=visitor
    )
    return member, visitor


def test_stored_text_the_font_lacks_still_renders_every_poster(client, stored):
    member, visitor = stored
    for ext in ("png", "jpg"):
        for code in (None, "counter"):
            response = client.get(f"/posters/store.{ext}", query_string={"c": code} if code else {})
            assert response.status_code == 200, (ext, code)
            assert decode(response.data) == [join_url(PUBLIC_URL, "store", code)]
    client.set_cookie("qb_v", visitor)
    response = client.get(f"/r/store/me/poster.png?v={member.code}")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert decode(response.data) == [join_url(PUBLIC_URL, "store", member_code=member.code)]


def test_the_batch_commands_render_stored_text_the_font_lacks(runner, stored, tmp_path):
    result = runner.invoke(args=["render-posters", "store", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "out").iterdir())) == 4  # (all + counter) × (png + jpg)
    result = runner.invoke(args=["member-posters", "store", "--out", str(tmp_path / "m.zip")])
    assert result.exit_code == 0, result.output
    assert "Wrote 1 posters" in result.output


def test_the_campaign_page_names_what_its_posters_cannot_print(client, login_as, stored):
    login_as("trainer")  # every role reads the page; the note is for whoever fixes it
    page = client.get("/console/campaigns/store").get_data(as_text=True)
    assert "海报上有 10 个字符无法显示" in page
    assert "标题里的 「☕」(U+2615)、「𠀀」(U+20000)" in page
    assert "承诺里的 「🎁」(U+1F381)、U+202E RIGHT-TO-LEFT OVERRIDE" in page
    assert "渠道 counter 的名称里的 「👨」(U+1F468)、U+200D ZERO WIDTH JOINER" in page
    assert "\u202e" not in page.split("海报上有")[1].split("</p>")[0]  # named, never shown
    assert "请修改" in page


def test_the_campaign_page_has_no_note_when_everything_prints(client, login_as):
    make_campaign(slug="store", title="门店会员群 · VIP ✓", promise="满 ¥299 减 50")
    login_as("operator")
    assert "无法显示" not in client.get("/console/campaigns/store").get_data(as_text=True)


# ---------------------------------------------------------------- the command line


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["create-campaign", "cafe", "咖啡会员群𠀀"], "「𠀀」(U+20000)"),
        (["create-campaign", "cafe", "咖啡会员群", "--promise", "送券🎁"], "「🎁」(U+1F381)"),
        (["add-channel", "store", "cafe", "前台\u202e"], "U+202E RIGHT-TO-LEFT OVERRIDE"),
    ],
)
def test_the_command_line_refuses_poster_text_the_font_lacks(app, runner, args, named):
    make_campaign(slug="store")
    result = runner.invoke(args=args)
    assert result.exit_code == 1
    assert named in result.output and "remove them or write them as words" in result.output
    assert "Traceback" not in result.output
    assert Campaign.select().count() == 1 and Channel.select().count() == 0
