"""Requests through a proxy the kit was not told about (web/proxies.py): logged once per
process, said on 需要处理, and `qunbook serve` warns when its public URL is https."""

import logging

import pytest
from helpers import browser, make_config

from miniapp_api import create_app
from miniapp_api.console.attention import https_without_proxy_warning, untrusted_proxy_warning

FORWARDED = {"X-Forwarded-For": "203.0.113.7"}


def warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "X-Forwarded-For" in r.getMessage()]


def test_a_forwarded_request_without_a_trusted_proxy_is_logged_once(app, client, caplog):
    caplog.set_level(logging.WARNING)
    client.get("/console/login")
    assert warnings(caplog) == []  # no proxy, nothing to say
    for _ in range(3):
        assert client.get("/console/login", headers=FORWARDED).status_code == 200
    assert len(warnings(caplog)) == 1
    assert "QUNBOOK_TRUSTED_PROXIES=1" in warnings(caplog)[0]


def test_need_attention_says_what_to_set_once_a_forwarded_request_came(app, login_as):
    staff = login_as("operator")
    page = staff.client.get("/console/attention").get_data(as_text=True)
    assert 'data-kind="untrusted-proxy"' not in page
    staff.client.get("/j/nothing-here", headers=FORWARDED)  # someone else's, through the proxy
    page = staff.client.get("/console/attention").get_data(as_text=True)
    assert 'data-kind="untrusted-proxy"' in page and "QUNBOOK_TRUSTED_PROXIES=1" in page


def test_the_staff_members_own_forwarded_request_is_enough(app, login_as):
    staff = login_as("operator")
    page = staff.client.get("/console/attention", headers=FORWARDED).get_data(as_text=True)
    assert "没有设置 QUNBOOK_TRUSTED_PROXIES" in page


@pytest.fixture
def behind_a_trusted_proxy(database_url, tmp_path):
    return create_app(make_config(database_url, tmp_path, TRUSTED_PROXIES=1))


def test_a_trusted_proxy_is_never_warned_about(behind_a_trusted_proxy, app, caplog):
    caplog.set_level(logging.WARNING)
    client = browser(behind_a_trusted_proxy)
    assert client.get("/console/login", headers=FORWARDED).status_code == 200
    assert warnings(caplog) == []


def test_the_words_of_the_warnings():
    assert untrusted_proxy_warning(False, 0) is None
    assert untrusted_proxy_warning(True, 1) is None
    assert "QUNBOOK_TRUSTED_PROXIES=1" in untrusted_proxy_warning(True, 0)
    assert https_without_proxy_warning("http://192.168.1.5:8000", 0) is None
    assert https_without_proxy_warning("https://qun.example.cn", 1) is None
    warning = https_without_proxy_warning("https://qun.example.cn", 0)
    assert "https://qun.example.cn" in warning and "QUNBOOK_TRUSTED_PROXIES=1" in warning
