"""One public URL, everywhere: started as the README says (`QUNBOOK_PORT=8100 make run`, or
`qunbook serve --port 8100`), every QR the server, the commands run later from the same folder
and the API write points at port 8100; and a poster printed for this computer alone says so."""

import base64
import io
import re
import zipfile

import pytest
import zxingcpp
from gunicorn.app.base import BaseApplication
from helpers import StaffActions, browser, make_config, make_staff
from PIL import Image

from miniapp_api import create_app, demo
from miniapp_api.accounts.rules import issue_api_token
from miniapp_api.config import only_this_computer, served_at
from miniapp_api.db import db
from miniapp_api.demo_checkins import DEMO_TICKETS
from miniapp_api.migrations import migrate
from miniapp_api.models import Activity, Invitation, Member, Staff
from miniapp_api.visitors import VISITOR_COOKIE

SERVED = "http://127.0.0.1:8100"
LOUD = "QUNBOOK_PUBLIC_URL"  # the setting every warning names


def decode(data: bytes) -> list[str]:
    with Image.open(io.BytesIO(data)) as image:
        return [code.text for code in zxingcpp.read_barcodes(image.convert("RGB"))]


def data_uri_qr(page: str) -> list[str]:
    data = re.search(r'src="data:image/png;base64,([^"]+)"', page)[1]
    return decode(base64.b64decode(data))


@pytest.fixture(params=["QUNBOOK_PORT=8100 make run", "qunbook serve --port 8100"])
def started(request, database_url, tmp_path, monkeypatch):
    """The kit started in a folder the README's way (gunicorn's loop left out): init-db, demo,
    serve. Returns the serving app, the app a command run later from that folder gets (a new
    process: no QUNBOOK_PORT in its environment), and what serve printed."""
    monkeypatch.setenv("QUNBOOK_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.delenv("QUNBOOK_PUBLIC_URL", raising=False)
    monkeypatch.delenv("QUNBOOK_PORT", raising=False)
    by_port_setting = request.param.startswith("QUNBOOK_PORT")
    if by_port_setting:
        monkeypatch.setenv("QUNBOOK_PORT", "8100")
    config = make_config(database_url, tmp_path, PUBLIC_URL=None)
    server = create_app(config)
    with db.connection_context():
        migrate()
    runner = server.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    monkeypatch.setattr(BaseApplication, "run", lambda self: None)
    serve = runner.invoke(args=["serve"] if by_port_setting else ["serve", "--port", "8100"])
    assert serve.exit_code == 0, serve.output
    monkeypatch.delenv("QUNBOOK_PORT", raising=False)
    return server, create_app(config), serve


def server_qr_codes(app) -> dict[str, list[str]]:
    """Every QR the server writes, by where it came from, and the API's URL fields."""
    cookies = {}
    with app.app_context(), db.connection_context():
        staff = Staff.get_or_none(Staff.username == "chen") or make_staff("chen", "operator")
        token = issue_api_token(staff, "门店脚本")
        event = Activity.get(Activity.title == "第二期宝妈见面会")
        invitation = Invitation.get(Invitation.token == "demo-invitation-wangli")
        # A demo member and a demo challenger, on a phone that carries a real cookie.
        for demo_visitor in ("demo-member-0", "demo-checkin-000-visitor"):
            cookie = demo_visitor.ljust(22, "x")  # a cookie's length
            Member.update(visitor=cookie).where(Member.visitor == demo_visitor).execute()
            cookies[demo_visitor] = cookie
    found = {}
    phone = browser(app)
    for ext in ("png", "jpg"):
        found[f"poster.{ext}"] = decode(phone.get(f"/posters/demo.{ext}?c=counter").data)
    phone.set_cookie(VISITOR_COOKIE, cookies["demo-member-0"])
    poster = phone.get("/r/demo-fission/me/poster.png")
    assert poster.status_code == 200, (poster.status_code, poster.get_data(as_text=True)[:300])
    found["member poster"] = decode(poster.data)
    phone.set_cookie(VISITOR_COOKIE, cookies["demo-checkin-000-visitor"])
    card = phone.get("/c/demo-challenge/card.png")
    assert card.status_code == 200, card.get_data(as_text=True)[:500]
    found["challenge card"] = decode(card.data)
    ticket = DEMO_TICKETS[0][1]
    found["ticket"] = data_uri_qr(phone.get(f"/t/{ticket}").get_data(as_text=True))

    console = browser(app)
    assert StaffActions(console).login("chen").status_code == 302
    door = f"/console/campaigns/demo-meetup/events/{event.id}/door-poster.png"
    found["door poster"] = decode(console.get(door).data)
    qr = f"/console/campaigns/demo-vip/vip/{invitation.id}/qr.png"
    found["VIP QR"] = decode(console.get(qr).data)
    sheet = console.get("/console/campaigns/demo-vip/vip/sheet").get_data(as_text=True)
    found["VIP sheet"] = re.findall(r"<small>([^<]+)</small>", sheet)

    api = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    found["API campaign"] = [api.get("/api/v1/campaigns/demo", headers=auth).json["join_url"]]
    channels = api.get("/api/v1/campaigns/demo/channels", headers=auth).json
    found["API channels"] = [c["join_url"] for c in channels["items"]]
    found["API servers"] = [s["url"] for s in api.get("/api/v1/openapi.json").json["servers"]]
    return found


def test_every_qr_and_link_points_where_the_kit_was_served(started, tmp_path):
    server, later, serve = started
    for app in (server, later):
        for where, urls in server_qr_codes(app).items():
            assert urls, f"{where}: no QR found"
            assert all(url.startswith(f"{SERVED}/") for url in urls), (where, urls)

    runner = later.test_cli_runner()
    result = runner.invoke(
        args=["render-posters", "demo", "--format", "png", "--out", str(tmp_path / "posters")]
    )
    assert result.exit_code == 0, result.output
    assert LOUD in result.stderr
    written = sorted((tmp_path / "posters").glob("*.png"))
    assert len(written) == 4  # all, counter, moments, live
    for path in written:
        (url,) = decode(path.read_bytes())
        assert url.startswith(f"{SERVED}/j/demo"), (path.name, url)

    out = tmp_path / "members.zip"
    result = runner.invoke(
        args=["member-posters", "demo-fission", "--format", "png", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert LOUD in result.stderr
    with zipfile.ZipFile(out) as archive:
        names = [name for name in archive.namelist() if name.endswith(".png")]
        assert names
        for name in names:
            (url,) = decode(archive.read(name))
            assert url.startswith(f"{SERVED}/j/demo-fission?r="), (name, url)

    printed = [
        runner.invoke(args=["create-campaign", "xinpin", "新品试用群"]),
        runner.invoke(args=["add-channel", "xinpin", "counter", "门店前台"]),
        runner.invoke(args=["create-staff", "wang", "--password", "王店长的长密码-2026"]),
    ]
    assert [r.exit_code for r in printed] == [0, 0, 0], [r.output for r in printed]
    assert f"{SERVED}/j/xinpin" in printed[0].output
    assert f"{SERVED}/j/xinpin?c=counter" in printed[1].output
    assert f"{SERVED}/console/login" in printed[2].output
    assert ":8000" not in "".join(r.output for r in printed)
    assert f"QR codes and links point at {SERVED}" in serve.stdout
    assert LOUD in serve.stderr  # a loopback address: nothing printed now reaches a phone


def test_a_public_address_is_kept_by_serve_and_read_by_later_commands(
    database_url, tmp_path, monkeypatch
):
    monkeypatch.setenv("QUNBOOK_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.delenv("QUNBOOK_PORT", raising=False)
    monkeypatch.setattr(BaseApplication, "run", lambda self: None)
    public = "https://qun.example.cn"
    # https: behind a proxy, and it is trusted (else serve warns about the login throttle).
    config = make_config(database_url, tmp_path, PUBLIC_URL=public, TRUSTED_PROXIES=1)
    server = create_app(config)
    serve = server.test_cli_runner().invoke(args=["serve", "--port", "8100"])
    assert serve.exit_code == 0 and server.config["PUBLIC_URL"] == public
    assert serve.stderr == ""  # a phone reaches it through a trusted proxy: nothing to warn about
    later = create_app(make_config(database_url, tmp_path, PUBLIC_URL=None))
    assert later.config["PUBLIC_URL"] == public


def test_the_setting_wins_over_what_was_served(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("QUNBOOK_INSTANCE_DIR", str(tmp_path / "instance"))
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "public-url.txt").write_text(SERVED + "\n")
    chosen = create_app(make_config(database_url, tmp_path, PUBLIC_URL="https://备用.example.cn/"))
    assert chosen.config["PUBLIC_URL"] == "https://备用.example.cn"
    served = create_app(make_config(database_url, tmp_path, PUBLIC_URL=None))
    assert served.config["PUBLIC_URL"] == SERVED


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8100", True),
        ("http://localhost:8000", True),
        ("http://[::1]:8000", True),
        ("http://127.8.0.1", True),
        ("http://192.168.1.20:8000", False),
        ("https://qun.example.cn", False),
        ("https://群.example.cn", False),
    ],
)
def test_only_this_computer(url, loopback):
    assert only_this_computer(url) is loopback


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8100"),
        ("0.0.0.0", "http://127.0.0.1:8100"),  # noqa: S104 (listening everywhere)
        ("192.168.1.20", "http://192.168.1.20:8100"),
        ("::1", "http://[::1]:8100"),
    ],
)
def test_served_at(host, url):
    assert served_at(host, 8100) == url


@pytest.mark.parametrize(("public", "warned"), [(SERVED, True), ("https://qun.example.cn", False)])
def test_printable_pages_warn_while_the_address_is_this_computer(
    app, login_as, public, warned, tmp_path
):
    app.config["PUBLIC_URL"] = public
    with db.connection_context():
        demo.load()
        event = Activity.get(Activity.title == "第二期宝妈见面会")
    staff = login_as("operator")
    pages = [
        "/console/campaigns/demo",
        "/console/campaigns/demo-vip/vip/sheet",
        f"/console/campaigns/demo-meetup/events/{event.id}/door",
    ]
    for page in pages:
        html = staff.client.get(page).get_data(as_text=True)
        assert ('id="loopback-warning"' in html) is warned, page
        assert (LOUD in html) is warned, page
    runner = app.test_cli_runner()
    result = runner.invoke(args=["render-posters", "demo", "--out", str(tmp_path / "p")])
    assert result.exit_code == 0
    assert (LOUD in result.stderr) is warned
    assert (LOUD in result.stdout) is False
