"""Personal posters: every member's poster decodes to that member's own join URL, one by one
from the phone page and 200 at a time from the CLI into a zip."""

import csv
import io
import zipfile

import pytest
import zxingcpp
from helpers import PUBLIC_URL, make_campaign
from PIL import Image

from miniapp_api.models import Member
from miniapp_api.referrals import rules as referrals


def decode(data: bytes) -> list[str]:
    return [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))]


def members(campaign, count):
    rows = [
        {
            "campaign": campaign.id,
            "code": referrals._new_code(),
            "nickname": f"会员{n}号🌸" if n % 3 == 0 else f"快乐的小红{n}",
            "visitor": f"v{n}",
        }
        for n in range(count)
    ]
    Member.insert_many(rows).execute()
    return list(Member.select().order_by(Member.id))


def test_a_batch_of_200_posters_decodes_each_to_its_own_member(app, runner, tmp_path, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("rendering does not touch the database past one query; once is enough")
    campaign = make_campaign(slug="fission", title="好友同享群", promise="邀请 3 位朋友得 9 折券")
    referrals.set_up_program(campaign)
    everyone = members(campaign, 200)
    out = tmp_path / "out" / "posters.zip"
    result = runner.invoke(args=["member-posters", "fission", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Wrote 200 posters" in result.output
    with zipfile.ZipFile(out) as archive:
        names = [name for name in archive.namelist() if name != "名单.csv"]
        assert len(names) == 200
        for name, member in zip(names, everyone, strict=True):
            assert name.endswith(f"-{member.code}.jpg")
            url = f"{PUBLIC_URL}/j/fission?r={member.code}"
            assert decode(archive.read(name)) == [url], name
        # Whose poster is whose: the list in the zip names each file's member.
        index = list(csv.reader(io.StringIO(archive.read("名单.csv").decode("utf-8-sig"))))
        assert index[0] == ["文件", "昵称", "推荐码"]
        assert index[1:] == [
            [name, member.nickname, member.code]
            for name, member in zip(names, everyone, strict=True)
        ]
    assert not (tmp_path / "out" / "posters.zip.partial").exists()


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("none", "No campaign 'fission'"),
        ("no-programme", "no referral programme"),
        ("no-members", "no members yet"),
    ],
)
def test_the_batch_command_explains_what_is_missing(app, runner, tmp_path, setup, message):
    if setup != "none":
        campaign = make_campaign(slug="fission")
        if setup == "no-members":
            referrals.set_up_program(campaign)
    out = tmp_path / "posters.zip"
    result = runner.invoke(args=["member-posters", "fission", "--out", str(out)])
    assert result.exit_code != 0 and message in result.output
    assert "Traceback" not in result.output and not out.exists()


def test_png_posters_decode_too(app, runner, tmp_path):
    campaign = make_campaign(slug="fission")
    referrals.set_up_program(campaign)
    [member] = members(campaign, 1)
    out = tmp_path / "p.zip"
    assert (
        runner.invoke(
            args=["member-posters", "fission", "--out", str(out), "--format", "png"]
        ).exit_code
        == 0
    )
    with zipfile.ZipFile(out) as archive:
        name, index = archive.namelist()
        assert name.endswith(".png") and index == "名单.csv"
        assert decode(archive.read(name)) == [f"{PUBLIC_URL}/j/fission?r={member.code}"]
