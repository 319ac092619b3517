"""Staff-written Markdown: formatting survives, nothing executable does."""

import pytest

from miniapp_api.markdown_text import plain_text, render_markdown


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("**进群**领券", "<p><strong>进群</strong>领券</p>"),
        ("1. 不发广告\n2. 周四活动", "<ol>\n<li>不发广告</li>\n<li>周四活动</li>\n</ol>"),
        ("- 育儿\n- 好物", "<ul>\n<li>育儿</li>\n<li>好物</li>\n</ul>"),
        ("### 群规", "<h3>群规</h3>"),
        ("第一行\n第二行", "<p>第一行<br>\n第二行</p>"),
        ("> 引用", "<blockquote>\n<p>引用</p>\n</blockquote>"),
        ("", ""),
        ("   ", ""),
        (None, ""),
    ],
)
def test_formatting_is_kept(text, expected):
    assert str(render_markdown(text)) == expected


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "vbscript:msgbox(1)",
        "&#106;avascript:alert(1)",
    ],
)
def test_links_other_than_http_https_mailto_lose_their_href(link):
    html = str(render_markdown(f"[点我]({link})"))
    assert "href" not in html or 'href="http' in html
    assert "javascript" not in html.lower() and "data:" not in html and "vbscript" not in html


def test_web_links_are_kept_with_a_safe_rel():
    html = str(render_markdown("[官网](https://qun.example.cn/a?b=1) [邮件](mailto:a@b.cn)"))
    assert 'href="https://qun.example.cn/a?b=1"' in html and 'href="mailto:a@b.cn"' in html
    assert html.count('rel="noopener noreferrer nofollow"') == 2


@pytest.mark.parametrize(
    "raw",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="https://a.cn" onclick="alert(1)">x</a>',
        "<iframe src=https://evil.example></iframe>",
        "<style>body{display:none}</style>",
        '<p style="background:url(javascript:alert(1))">x</p>',
        "![图](https://evil.example/x.png)",
    ],
)
def test_raw_html_images_and_attributes_do_not_survive(raw):
    html = str(render_markdown(raw)).lower()
    for forbidden in ("<script", "onerror", "onclick", "<iframe", "<style", "style=", "<img"):
        assert forbidden not in html


def test_plain_text_for_posters():
    assert (
        plain_text("**进群**领券 & <b>每周四</b>\n\n[官网](https://a.cn)")
        == "进群领券 & 每周四 官网"
    )
    assert plain_text("") == ""
