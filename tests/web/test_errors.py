"""What the app answers around its routes: redirects that never name another site, an Allow
header on every 405, and a 413 that speaks of the file that was uploaded."""

import re

import pytest


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("/handbook//x", "/handbook/x"),  # werkzeug merges the slashes
        ("/console//login", "/console/login"),
        ("/console", "/console/"),  # and adds the missing one
    ],
)
def test_redirects_never_take_the_site_from_the_host_header(client, url, path):
    response = client.get(url, headers={"Host": "evil.example"})
    assert response.status_code == 308
    assert response.headers["Location"] == path


def test_every_405_says_which_methods_the_url_takes(app, client):
    """Walks the URL map, so a route added later is checked too."""
    app.config["WTF_CSRF_ENABLED"] = False
    checked = 0
    for rule in app.url_map.iter_rules():
        url = re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: "1" if m[1] == "int" else "x", rule.rule)
        response = client.open(url, method="TRACE")
        assert response.status_code == 405, url
        allowed = {m.strip() for m in response.headers["Allow"].split(",")}
        assert rule.methods <= allowed, url
        if url.startswith("/api/v1/"):
            assert response.get_json()["error"]["code"] == "method_not_allowed", url
        checked += 1
    assert checked > 60


def test_a_too_large_csv_is_told_about_the_file_and_its_limit(client, login_as):
    login_as("operator")
    row = "V001,王丽,杭州,100,,\r\n".encode()
    body = (
        b'--x\r\nContent-Disposition: form-data; name="file"; filename="customers.csv"\r\n\r\n'
        + row * (17 * 1024 * 1024 // len(row))
        + b"\r\n--x--\r\n"
    )
    # Built by hand: the test client would spool a body this size to a file it never closes.
    response = client.post(
        "/console/customers", data=body, content_type="multipart/form-data; boundary=x"
    )
    assert response.status_code == 413
    text = response.get_data(as_text=True)
    assert "文件太大" in text and "超过了 16 MB" in text and "表格可以分成几份" in text


def test_staff_meet_errors_inside_the_console_with_a_way_on(client, login_as):
    login_as("operator")
    missing = client.get("/console/campaigns/没有这个活动")
    page = missing.get_data(as_text=True)
    assert missing.status_code == 404 and "没有找到这个页面" in page and "从下面的活动列表" in page
    assert 'href="/console/campaigns"' in page and "扫描海报" not in page
    wrong = client.get("/console/campaigns/x/archive")  # a form's address, opened as a link
    assert wrong.status_code == 405 and "用页面上的按钮操作" in wrong.get_data(as_text=True)
    # Members (no login) keep the member-facing page.
    stranger = client.application.test_client().get("/console/campaigns/没有这个活动")
    assert stranger.status_code in (302, 404)
