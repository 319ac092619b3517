"""Staff-written Markdown: formatting survives, nothing executable does."""

import pytest
from markupsafe import Markup

from miniapp_api.markdown_text import plain_text, render_markdown

REL = 'rel="noopener noreferrer nofollow"'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("**进群**领券", "<p><strong>进群</strong>领券</p>"),
        (
            "*每周四* _晚八点_ `ABC123`",
            "<p><em>每周四</em> <em>晚八点</em> <code>ABC123</code></p>",
        ),
        ("1. 不发广告\n2. 周四活动", "<ol>\n<li>不发广告</li>\n<li>周四活动</li>\n</ol>"),
        ("- 育儿\n- 好物", "<ul>\n<li>育儿</li>\n<li>好物</li>\n</ul>"),
        ("### 群规", "<h3>群规</h3>"),
        ("#### 细则", "<h4>细则</h4>"),
        # The page owns h1 (campaign title) and h2 (群规): staff headings fold below them.
        ("# 大标题\n\n## 小标题", "<h3>大标题</h3>\n<h3>小标题</h3>"),
        ("###### 脚注", "<h4>脚注</h4>"),
        ("第一行\n第二行", "<p>第一行<br>\n第二行</p>"),
        ("> 引用", "<blockquote>\n<p>引用</p>\n</blockquote>"),
        ("上\n\n---\n\n下", "<p>上</p>\n<hr>\n<p>下</p>"),
        (
            "欢迎加入「宝妈互助群」！请遵守：不刷屏、不拉人；有问题@群主。",
            "<p>欢迎加入「宝妈互助群」！请遵守：不刷屏、不拉人；有问题@群主。</p>",
        ),
        ("满 100 减 20 & 5 < 6", "<p>满 100 减 20 &amp; 5 &lt; 6</p>"),
        ("", ""),
        ("   \n\n ", ""),
        (None, ""),
    ],
)
def test_formatting_is_kept(text, expected):
    rendered = render_markdown(text)
    assert isinstance(rendered, Markup)
    assert str(rendered) == expected


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "JAVASCRIPT:alert(1)",
        "java\tscript:alert(1)",
        "&#106;avascript:alert(1)",
        "javascript&#58;alert(1)",
        "&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "DaTa:text/html,x",
        "vbscript:msgbox(1)",
        "VBScript:msgbox(1)",
        "file:///etc/passwd",
        "//evil.example/x",
        "\\\\evil.example/x",
        "/\\evil.example/x",
        "/console/login",
        "evil.example",
    ],
)
def test_only_absolute_http_https_mailto_links_keep_their_href(link):
    html = str(render_markdown(f"[点我]({link})"))
    assert "href" not in html, html
    lowered = html.lower()
    for word in ("javascript", "script:", "data:", "vbscript", "file:", "evil", "console"):
        assert word not in lowered, html
    assert "点我" in html


@pytest.mark.parametrize(
    "raw",
    [
        '<a href="javascript:alert(1)">点我</a>',
        '<a href="  javascript:alert(1)">点我</a>',
        '<a href="jav&#x09;ascript:alert(1)">点我</a>',
        '<a href="//evil.example">点我</a>',
    ],
)
def test_raw_html_links_obey_the_same_schemes(raw):
    html = str(render_markdown(raw))
    assert "href" not in html and "点我" in html, html


@pytest.mark.parametrize(
    ("text", "href"),
    [
        ("[官网](https://qun.example.cn/a?b=1)", "https://qun.example.cn/a?b=1"),
        ("[门店](http://shop.example.cn/店)", "http://shop.example.cn/店"),
        ("[大写](HTTPS://QUN.EXAMPLE.CN)", "HTTPS://QUN.EXAMPLE.CN"),
        ("[邮件](mailto:kefu@example.cn)", "mailto:kefu@example.cn"),
        ("<https://qun.example.cn>", "https://qun.example.cn"),
    ],
)
def test_web_links_are_kept_with_a_safe_rel(text, href):
    html = str(render_markdown(text))
    assert f'<a href="{href}" {REL}>' in html, html


def test_every_link_gets_the_rel_even_when_staff_set_their_own():
    html = str(
        render_markdown(
            '<a href="https://a.cn" rel="opener" target="_blank">a</a> [b](https://b.cn)'
        )
    )
    assert html.count(REL) == 2 and "opener" not in html.replace("noopener", "")
    assert "target" not in html


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
        '<svg onload="alert(1)"><animate onbegin="alert(1)"/></svg>',
        '<details open ontoggle="alert(1)">x</details>',
        '<meta http-equiv="refresh" content="0;url=https://evil.example">',
        '<base href="https://evil.example/">',
        '<form action="https://evil.example"><button formaction="javascript:alert(1)">x</button>',
        "<template><img src=x onerror=alert(1)></template>",
        '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
        '[链接](https://a.cn "标题" onmouseover="alert(1)")',
        '<p title="x" lang="en" class="qr" id="main">x</p>',
        "<scr\x00ipt>alert(1)</script>",
    ],
)
def test_raw_html_images_and_attributes_do_not_survive(raw):
    html = str(render_markdown(raw)).lower()
    for forbidden in (
        "<script", "<img", "<iframe", "<style", "<svg", "<meta", "<base", "<form", "<button",
        "<template", "<details", " on", "style=", "src=", "title=", "class=", "id=", "lang=",
        "javascript:", "evil.example",
    ):  # fmt: skip
        assert forbidden not in html, (forbidden, html)


def test_raw_html_text_is_escaped_not_interpreted():
    assert str(render_markdown("<b>粗</b> &lt;i&gt; <unknown>字</unknown>")) == (
        "<p>粗 &lt;i&gt; 字</p>"
    )


def test_results_are_cached_for_the_hot_join_page():
    render_markdown.cache_clear()
    first = render_markdown("**缓存**测试")
    assert render_markdown("**缓存**测试") is first
    assert render_markdown.cache_info().hits == 1


def test_plain_text_for_posters():
    assert (
        plain_text("**进群**领券 & <b>每周四</b>\n\n[官网](https://a.cn)")
        == "进群领券 & 每周四 官网"
    )
    assert plain_text("") == ""
