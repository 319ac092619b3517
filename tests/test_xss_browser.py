"""Staff-written campaign text cannot run script on a member's phone: 50+ payloads, each in
a campaign's promise, description and rules, rendered on the public join page in Chromium."""

import pytest
from helpers import make_campaign, make_config, make_group
from liveserver import LiveServer
from test_browser import WECHAT_IPHONE, browser  # noqa: F401  (the Chromium fixture)

from miniapp_api import create_app
from miniapp_api.db import db
from miniapp_api.migrations import migrate
from miniapp_api.models import Campaign

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HIT = "/xss-hit"
JS = f"window.__xss.push(1);alert(1);fetch('{HIT}')"
PAYLOADS = [
    f"<script>{JS}</script>",
    f"<SCRIPT>{JS}</SCRIPT>",
    f"<script src=//127.0.0.1{HIT}></script>",
    f'<img src=x onerror="{JS}">',
    f"<img src=x onerror={JS}//",
    f'<svg onload="{JS}">',
    f"<svg><script>{JS}</script></svg>",
    f'<body onload="{JS}">',
    f'<details open ontoggle="{JS}">',
    f'<video><source onerror="{JS}"></video>',
    f'<audio src=x onerror="{JS}">',
    f'<iframe src="javascript:{JS}"></iframe>',
    f'<iframe srcdoc="<script>{JS}</script>"></iframe>',
    f'<object data="javascript:{JS}"></object>',
    f'<embed src="javascript:{JS}">',
    f"[点我](javascript:{JS})",
    f"[点我](JaVaScRiPt:{JS})",
    f"[点我](javascript&#58;{JS})",
    f"[点我](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;{JS})",
    f"[点我]( javascript:{JS})",
    f"[点我](java\tscript:{JS})",
    f"[点我](data:text/html,<script>{JS}</script>)",
    f"[点我](vbscript:{JS})",
    f"![图](javascript:{JS})",
    f'![图](x" onerror="{JS})',
    f'[a](https://a.cn "title" onmouseover="{JS}")',
    f'<a href="javascript:{JS}">点我</a>',
    f'<a href="https://a.cn" onclick="{JS}">点我</a>',
    f'<a href="https://a.cn" onfocus="{JS}" autofocus>点我</a>',
    f'<input autofocus onfocus="{JS}">',
    f'<textarea autofocus onfocus="{JS}"></textarea>',
    f'<select autofocus onfocus="{JS}"></select>',
    f'<form action="javascript:{JS}"><button>提交</button></form>',
    f'<button formaction="javascript:{JS}">提交</button>',
    f'<marquee onstart="{JS}">x</marquee>',
    f'<div style="background:url(javascript:{JS})">x</div>',
    f"<style>@import 'javascript:{JS}';</style>",
    f'<link rel=stylesheet href="javascript:{JS}">',
    f'<meta http-equiv="refresh" content="0;url=javascript:{JS}">',
    f'<base href="javascript:{JS}//">',
    f'<svg><animate onbegin="{JS}" attributeName=x dur=1s>',
    f'<svg><set onbegin="{JS}" attributeName=x to=1>',
    f'<math><mtext><table><mglyph><style><img src=x onerror="{JS}">',
    f'<noscript><p title="</noscript><img src=x onerror={JS}>">',
    f'<template><img src=x onerror="{JS}"></template>',
    f'<xmp><img src=x onerror="{JS}"></xmp>',
    f'<img src="x"/onerror="{JS}">',
    f'<img src=x onerror\x00="{JS}">',
    f"<scr<script>ipt>{JS}</script>",
    f"<<script>{JS}//<</script>",
    f'"><script>{JS}</script>',
    f"'><img src=x onerror={JS}>",
    f"</p><script>{JS}</script><p>",
    f'**粗体<img src=x onerror="{JS}">**',
    f'> 引用 <svg onload="{JS}">',
    f"- 列表 <iframe src=javascript:{JS}>",
    f'<a href="\\u006aavascript:{JS}">点我</a>',
    f'<isindex type=image src=1 onerror="{JS}">',
    '<object data="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="></object>',
]
WATCH = """
window.__xss = [];
for (const name of ["alert", "confirm", "prompt", "print"]) {
  window[name] = () => window.__xss.push(name);
}
"""
# Everything executable or able to navigate, fetch or restyle, anywhere under <main>.
DOM_CHECK = """() => {
  const bad = [];
  for (const el of document.querySelector("main").querySelectorAll("*")) {
    if (["SCRIPT", "IFRAME", "FRAME", "OBJECT", "EMBED", "BASE", "META", "LINK", "FORM", "STYLE",
         "SVG", "MATH", "TEMPLATE", "INPUT", "BUTTON", "TEXTAREA", "SELECT", "VIDEO", "AUDIO",
         "SOURCE"].includes(el.tagName.toUpperCase())) bad.push(el.tagName);
    if (el.tagName === "IMG" && !el.classList.contains("qr")) bad.push("IMG");
    for (const attr of el.attributes) {
      if (/^on/i.test(attr.name) || ["style", "srcdoc", "formaction", "action"].includes(attr.name))
        bad.push(attr.name);
      if (/^\\s*(javascript|data|vbscript):/i.test(attr.value)) bad.push(attr.value);
    }
  }
  for (const a of document.querySelectorAll("main a")) {
    if (a.hasAttribute("href") && !/^(https?|mailto):/.test(a.protocol)) bad.push(a.href);
  }
  return bad;
}"""


def test_there_are_at_least_fifty_distinct_payloads():
    assert len(set(PAYLOADS)) >= 50


@pytest.fixture(scope="module")
def xss_site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("xss")
    config = make_config(f"sqlite:///{tmp / 'xss.sqlite3'}", tmp)
    create_app(config)
    with db.connection_context():
        migrate()
        for n, payload in enumerate(PAYLOADS):
            # The title is plain text: the payload's first characters go there too.
            campaign = make_campaign(
                slug=f"x{n}", description=f"说明 **{n}** {payload}",
                rules=f"1. 群规\n2. 第{n}条\n\n{payload}",
            )  # fmt: skip
            # Stored as an old row would hold them: the forms now refuse what a poster cannot
            # print (such as the NUL in one payload), but no stored row may break a page.
            Campaign.update(title=f"门店会员群{n} {payload}"[:120], promise=payload).where(
                Campaign.id == campaign.id
            ).execute()
            make_group(campaign, f"宝妈群{n}")
    db.close_all()
    with LiveServer({k: v for k, v in config.items() if k != "TESTING"}) as base_url:
        yield base_url


@pytest.fixture
def watched(browser):  # noqa: F811
    """A phone page that records every sign of script running: hooked dialogs (pushed to
    window.__xss), real dialogs, console output, the /xss-hit marker and any other request
    that is not the page, its stylesheet or the group QR."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, user_agent=WECHAT_IPHONE
    )
    context.add_init_script(WATCH)
    seen = {"hits": [], "dialogs": [], "console": [], "requests": []}
    context.route(
        f"**{HIT}*", lambda route: (seen["hits"].append(route.request.url), route.abort())
    )
    page = context.new_page()
    page.on("dialog", lambda dialog: (seen["dialogs"].append(dialog.message), dialog.dismiss()))
    page.on("console", lambda message: seen["console"].append(f"{message.type}: {message.text}"))
    page.on("request", lambda request: seen["requests"].append(request.url))
    yield page, seen
    context.close()


def without_csp(route):
    """The app's CSP forbids inline script; take it away so the sanitiser alone is on trial."""
    response = route.fetch()
    headers = {k: v for k, v in response.headers.items() if k != "content-security-policy"}
    route.fulfill(response=response, headers=headers)


# Waits for the page are bounded by this; none is a fixed pause.
SETTLE_MS = 2000


def settle(page):
    """Until the page's main thread is idle (at most SETTLE_MS): whatever a poke set off has
    run, and a request it made has been sent (and so seen by the watch)."""
    page.evaluate(
        "ms => new Promise(done => requestIdleCallback(() => done(), {timeout: ms}))", SETTLE_MS
    )


def poke(page):
    """Hover and focus whatever is interactive, for payloads that wait for a person."""
    for selector in ("main a", "main button", "main input", "main textarea", "main details"):
        for element in page.locator(selector).all():
            if element.is_visible():
                element.hover()
                element.focus()
    settle(page)


def test_the_watch_catches_a_payload_that_is_not_sanitised(xss_site, watched):
    """Without this the main test could pass by never noticing anything."""
    page, seen = watched
    page.route(f"{xss_site}/canary", lambda route: route.fulfill(
        content_type="text/html", body=f'<main><img src=x onerror="{JS}"></main>',
    ))  # fmt: skip
    # The marker's request is aborted by the watch's route, after it was recorded; its fetch
    # rejects, which the console reports.
    hit_aborted = page.expect_event(
        "requestfailed", lambda request: request.url.endswith(HIT), timeout=SETTLE_MS
    )
    with hit_aborted, page.expect_console_message(timeout=SETTLE_MS):
        page.goto(f"{xss_site}/canary")
    assert page.evaluate("window.__xss") == [1, "alert"]
    assert seen["hits"] == [f"{xss_site}{HIT}"]
    assert page.evaluate(DOM_CHECK) == ["IMG", "onerror"]
    assert seen["console"] and f"{xss_site}/x" in seen["requests"]


def test_no_payload_runs_on_the_public_join_page(xss_site, watched):
    page, seen = watched
    page.route(f"{xss_site}/j/x*", without_csp)
    for n, payload in enumerate(PAYLOADS):
        page.goto(f"{xss_site}/j/x{n}", wait_until="load")
        qr = page.locator("img.qr")
        qr.wait_for(state="visible")
        poke(page)
        assert page.evaluate("window.__xss") == [], payload
        assert page.evaluate(DOM_CHECK) == [], payload
        # The page still does its job: the group QR, loaded and whole above the fold.
        box = qr.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 844, (payload, box)
        assert page.evaluate("document.querySelector('img.qr').naturalWidth") > 0, payload
        assert page.locator(".group-name").inner_text() == f"宝妈群{n}"
        assert page.locator("main h1").evaluate("h => h.children.length") == 0, payload
        assert page.locator(".rules h2").inner_text() == "群规"
    assert seen["hits"] == [] and seen["dialogs"] == [] and seen["console"] == []
    expected = ("/j/x", "/static/app.css", "/j/qr/")
    strays = [
        u for u in seen["requests"] if not u.startswith(tuple(xss_site + e for e in expected))
    ]
    assert strays == []
