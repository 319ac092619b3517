"""Staff-written campaign text cannot run script on a member's phone: 50+ payloads, each in
a campaign's promise, description and rules, rendered on the public join page in Chromium."""

import pytest
from conftest import make_campaign, make_config, make_group
from liveserver import LiveServer
from test_browser import WECHAT_IPHONE, browser  # noqa: F401  (the Chromium fixture)

from miniapp_api import create_app
from miniapp_api.db import db
from miniapp_api.migrations import migrate

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
            campaign = make_campaign(
                slug=f"x{n}", title=f"门店会员群 {n}", promise=payload,
                description=f"说明 {payload}", rules=f"1. 群规\n\n{payload}",
            )  # fmt: skip
            make_group(campaign, f"宝妈群{n}")
    db.close_all()
    with LiveServer({k: v for k, v in config.items() if k != "TESTING"}) as base_url:
        yield base_url


def test_no_payload_runs_on_the_public_join_page(xss_site, browser):  # noqa: F811
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, user_agent=WECHAT_IPHONE
    )
    context.add_init_script(WATCH)
    hits, dialogs = [], []
    context.route(f"**{HIT}*", lambda route: (hits.append(route.request.url), route.abort()))
    page = context.new_page()
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    for n in range(len(PAYLOADS)):
        page.goto(f"{xss_site}/j/x{n}", wait_until="load")
        page.locator("img.qr").wait_for(state="visible")
        for selector in ("main a", "main button", "main input", "main textarea"):
            for element in page.locator(selector).all():
                if element.is_visible():
                    element.hover()
                    element.focus()
        page.wait_for_timeout(50)
        assert page.evaluate("window.__xss") == [], PAYLOADS[n]
        dom = page.evaluate(
            """() => {
              const main = document.querySelector("main");
              const bad = [];
              for (const el of main.querySelectorAll("*")) {
                if (["SCRIPT", "IFRAME", "OBJECT", "EMBED", "BASE", "META", "FORM", "STYLE"]
                    .includes(el.tagName)) bad.push(el.tagName);
                for (const attr of el.attributes) {
                  if (attr.name.startsWith("on") || attr.name === "style" || attr.name === "srcdoc")
                    bad.push(attr.name);
                  if (/^\\s*(javascript|data|vbscript):/i.test(attr.value)) bad.push(attr.value);
                }
              }
              return bad;
            }"""
        )
        assert dom == [], (PAYLOADS[n], dom)
    assert hits == [] and dialogs == []
    context.close()
