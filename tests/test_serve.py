"""`qunbook serve` itself: what gunicorn refuses before the app sees it (a 10 KB URL, a 20 KB
header) is still answered as the app would, JSON under /api/v1 and a page for people."""

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from liveserver import free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "QUNBOOK_DATABASE_URL": f"sqlite:///{tmp / 'qunbook.sqlite3'}",
        "QUNBOOK_SECRET_KEY": "s",
        "QUNBOOK_HASH_KEY": "h",
        "QUNBOOK_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    qunbook = [sys.executable, "-c", "from miniapp_api.cli import main; main()"]
    subprocess.run([*qunbook, "init-db"], env=env, cwd=tmp, check=True, capture_output=True)
    # Its access log and output are kept: the privacy grep reads every *.log under basetemp.
    with (tmp / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [*qunbook, "serve", "--port", str(port), "--workers", "1"],
            env=env,
            cwd=tmp,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, "qunbook serve exited"
        try:
            ask(port, "/favicon.ico")
            break
        except OSError:
            assert time.monotonic() < deadline, "qunbook serve did not answer within 60 s"
            time.sleep(0.2)
    yield port
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


def ask(port, path, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), response.read().decode()
    finally:
        connection.close()


BIG_HEADER = {"X-Note": "x" * 20_000}


@pytest.mark.parametrize(
    ("path", "headers", "status", "code"),
    [
        ("/api/v1/campaigns?q=" + "a" * 10_000, None, 414, "uri_too_long"),
        ("/api/v1/campaigns", BIG_HEADER, 431, "headers_too_large"),
    ],
)
def test_the_api_answers_oversize_requests_in_json(served, path, headers, status, code):
    got, content_type, body = ask(served, path, headers)
    assert (got, content_type) == (status, "application/json")
    assert json.loads(body)["error"]["code"] == code


@pytest.mark.parametrize(
    ("path", "headers", "status", "hint"),
    [
        ("/j/demo?c=" + "a" * 10_000, None, 414, "链接太长了"),
        ("/console/login", BIG_HEADER, 431, "清除这个网站的 Cookie"),
    ],
)
def test_people_get_a_page_they_can_read(served, path, headers, status, hint):
    got, content_type, body = ask(served, path, headers)
    assert (got, content_type) == (status, "text/html; charset=utf-8")
    assert hint in body


def test_ordinary_api_calls_still_reach_the_app(served):
    status, content_type, _ = ask(served, "/api/v1/campaigns")
    assert (status, content_type) == (401, "application/json")


def test_a_kept_alive_connection_is_judged_by_its_current_request(served):
    connection = http.client.HTTPConnection("127.0.0.1", served, timeout=30)
    try:
        connection.request("GET", "/j/demo")  # a page first, on the same socket
        connection.getresponse().read()
        connection.request("GET", "/api/v1/campaigns?q=" + "a" * 10_000)
        response = connection.getresponse()
        assert (response.status, response.getheader("Content-Type")) == (414, "application/json")
        response.read()
    finally:
        connection.close()


def test_serve_warns_at_start_when_its_https_address_has_no_trusted_proxy(tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "QUNBOOK_DATABASE_URL": f"sqlite:///{tmp_path / 'qunbook.sqlite3'}",
        "QUNBOOK_SECRET_KEY": "s",
        "QUNBOOK_HASH_KEY": "h",
        "QUNBOOK_PUBLIC_URL": "https://qun.example.cn",
        "LANGUAGE": "zh",
    }
    qunbook = [sys.executable, "-c", "from miniapp_api.cli import main; main()"]
    subprocess.run([*qunbook, "init-db"], env=env, cwd=tmp_path, check=True, capture_output=True)
    process = subprocess.Popen(
        [*qunbook, "serve", "--port", str(free_port()), "--workers", "1"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        first = process.stderr.readline()  # the warning comes before gunicorn's own lines
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        process.stderr.close()
    assert "https://qun.example.cn" in first and "QUNBOOK_TRUSTED_PROXIES=1" in first
