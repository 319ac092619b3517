"""The access log keeps no raw address and no token (web/worker.py's AccessLogger): the keyed
hash of the client's address, taken as the app takes it, and URLs with their secrets hidden."""

import http.client
from urllib.parse import quote, urlsplit

import pytest
from helpers import make_campaign, make_event, make_invitation, make_staff
from liveserver import LiveServer

from miniapp_api.accounts.rules import issue_api_token
from miniapp_api.checkins import events
from miniapp_api.visitors import address_hash, without_secrets

CLIENT = "203.0.113.7"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) MicroMessenger/8.0.50"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("GET /vip/AbC-123_x HTTP/1.1", "GET /vip/*** HTTP/1.1"),
        ("/vip/AbC-123_x/answer", "/vip/***/answer"),
        ("https://qun.example.cn/t/TiCkEt?x=1", "https://qun.example.cn/t/***?x=1"),
        ("next=%2Fvip%2FAbC-123_x%3F_qbv%3D1", "next=%2Fvip%2F***%3F_qbv%3D1"),
        (
            "/wx/back?code=C0DE&state=5tate&next=%2Fj%2Fdemo",
            "/wx/back?code=***&state=***&next=%2Fj%2Fdemo",
        ),
        ("token=abc&page=2", "token=***&page=2"),
        ("/api/v1/x?access_token=abc", "/api/v1/x?access_token=***"),
        ("Bearer qbk_AbCdEf-123", "Bearer qbk_***"),
        ("/j/demo?c=counter&r=M8K2", "/j/demo?c=counter&r=M8K2"),
    ],
)
def test_secrets_are_hidden_and_the_rest_kept(text, kept):
    assert without_secrets(text) == kept


def ask(base_url, method, path, headers=None, body=None):
    conn = http.client.HTTPConnection(urlsplit(base_url).netloc, timeout=30)
    try:
        conn.request(method, path, body=body, headers={"User-Agent": PHONE, **(headers or {})})
        answer = conn.getresponse()
        answer.read()
        return answer.status
    finally:
        conn.close()


def test_the_access_log_keeps_neither_the_address_nor_a_token(app, database_url, tmp_path):
    invitation = make_invitation(make_campaign(slug="vip"))
    ticket = events.issue_ticket(make_event(), holder="小红")
    api_token = issue_api_token(make_staff(), "脚本")
    secrets = [invitation.token, ticket.token, api_token, "WXC0DE", "STATE5"]
    log = tmp_path / "access.log"
    config = {"DATABASE_URL": database_url, "SECRET_KEY": "s", "HASH_KEY": "h"}
    forwarded = {"X-Forwarded-For": CLIENT}
    vip = f"/vip/{invitation.token}"
    with LiveServer({**config, "TRUSTED_PROXIES": 1}, workers=1, access_log=str(log)) as base:
        statuses = [
            ask(base, "GET", vip, forwarded),
            ask(base, "GET", f"{vip}?_qbv=1", forwarded),
            ask(base, "POST", f"{vip}/answer", forwarded),  # no form token: refused
            ask(base, "GET", f"/t/{ticket.token}", {**forwarded, "Referer": f"{base}{vip}"}),
            ask(base, "GET", f"/console/login?next={quote(vip, safe='')}", forwarded),
            ask(base, "GET", "/wx/back?code=WXC0DE&state=STATE5&next=%2Fj%2Fvip", forwarded),
            ask(
                base,
                "GET",
                "/api/v1/campaigns",
                {**forwarded, "Authorization": f"Bearer {api_token}"},
            ),
            ask(base, "GET", f"/api/v1/campaigns?token={api_token}", forwarded),
        ]
    assert statuses[0] == 302 and statuses[3] == 200 and statuses[6] == 200, statuses
    lines = log.read_text().splitlines()
    assert len(lines) == len(statuses)
    text = "\n".join(lines)
    assert CLIENT not in text
    assert [s for s in secrets if s in text] == []
    # Each line names the client by the same keyed hash the database would hold.
    assert all(line.startswith(address_hash("h", CLIENT) + " ") for line in lines), lines[0]
    assert "/vip/***" in text and "/t/***" in text


class Sent:
    status = "200 OK"
    sent = 512
    headers = (("Set-Cookie", "qb_v=AbC"), ("Location", "/vip/AbC-123_x"))


def logged(log_format: str) -> dict:
    """The atoms AccessLogger hands gunicorn's formatting for one request, as it would see
    them (SafeAtoms: unknown atoms are "-")."""
    from datetime import timedelta

    from gunicorn.config import Config
    from gunicorn.glogging import SafeAtoms

    from miniapp_api.web.worker import AccessLogger

    config = Config()
    config.set("access_log_format", log_format)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/t/TiCkEt?x=1",
        "PATH_INFO": "/t/TiCkEt",
        "QUERY_STRING": "x=1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": CLIENT,
        "HTTP_REFERER": "https://qun.example.cn/vip/AbC-123_x",
        "qunbook.address_hash": "hashed",
        "qunbook.note": "token=abc",
    }
    headers = [("X-Forwarded-For", CLIENT), ("Cookie", "qb_v=AbC"), ("X-Next", "/vip/AbC-123_x")]
    atoms = AccessLogger(config).atoms(Sent(), headers, environ, timedelta(microseconds=1500))
    return SafeAtoms(atoms)


def test_a_custom_log_format_gets_only_what_it_names_with_secrets_hidden():
    atoms = logged(
        '%(h)s "%(r)s" %(U)s %(f)s %(D)s %({x-forwarded-for}i)s %({Cookie}i)s %({x-next}i)s'
        " %({set-cookie}o)s %({location}o)s %({REMOTE_ADDR}e)s %({qunbook.note}e)s"
    )
    line = atoms["h"], atoms["r"], atoms["U"], atoms["f"], atoms["D"]
    assert line == (
        "hashed", "GET /t/***?x=1 HTTP/1.1", "/t/***", "https://qun.example.cn/vip/***", 1500
    )  # fmt: skip
    assert atoms["{X-Forwarded-For}i"] == atoms["{cookie}i"] == "-"
    assert atoms["{x-next}i"] == "/vip/***"
    assert atoms["{set-cookie}o"] == "-" and atoms["{location}o"] == "/vip/***"
    assert atoms["{remote_addr}e"] == "-" and atoms["{qunbook.note}e"] == "token=***"
    # Nothing the format does not name is handed on at all.
    assert set(dict(atoms)) == {"h", "r", "U", "f", "D"} | {
        "{x-forwarded-for}i", "{cookie}i", "{x-next}i", "{set-cookie}o", "{location}o",
        "{remote_addr}e", "{qunbook.note}e",
    }  # fmt: skip


def test_the_default_format_gets_what_gunicorn_would_give_it():
    """Without a header or environ atom in the format, the atoms are made without copying
    every header and environ entry: the line is the same as with them."""
    from gunicorn.config import Config

    default = Config().access_log_format
    quick = dict(logged(default))
    full = dict(logged(default + " %({x-next}i)s"))
    del full["{x-next}i"]
    # The time, to the second: the two calls may straddle one.
    assert quick.pop("t").startswith("[") and full.pop("t").startswith("[")
    assert quick == full
    assert quick["h"] == "hashed" and quick["r"] == "GET /t/***?x=1 HTTP/1.1"
    assert quick["f"] == "https://qun.example.cn/vip/***" and quick["b"] == "512"
