"""The command line speaks the locale's language: Chinese under zh_*, English under anything
else (en_US, C), and one language per run, the rules' refusals included. Click's own framing
("Usage:", "Error:", "Invalid value for …") stays English."""

import re

import pytest
from helpers import make_campaign, make_group

CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")
LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

CHINESE = [{"LANGUAGE": "zh_CN.UTF-8"}, {"LANG": "zh_CN.UTF-8"}]
ENGLISH = [{"LANGUAGE": "en_US.UTF-8"}, {"LANG": "en_US.UTF-8"}, {"LANG": "C"}, {}]


@pytest.fixture
def speak(monkeypatch):
    """speak({"LANG": …}): the locale a person's terminal has, and nothing else set."""

    def set_locale(environ):
        for name in LOCALE_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        for name, value in environ.items():
            monkeypatch.setenv(name, value)

    return set_locale


def said(result) -> str:
    """The command's own words: the output without what staff typed (titles, names)."""
    return result.output.replace("门店会员群", "").replace("一群", "")


@pytest.mark.parametrize("environ", CHINESE)
def test_a_chinese_locale_gets_chinese_messages(runner, speak, environ):
    speak(environ)
    done = runner.invoke(args=["create-campaign", "store", "门店会员群"])
    assert done.exit_code == 0, done.output
    assert "已创建活动 store：https://qun.example.cn/j/store" in done.output
    assert "Created" not in done.output

    missing = runner.invoke(args=["update-group", "store", "42", "--cutoff", "5"])
    assert missing.exit_code == 1
    assert "store 里没有群 '42'：请看 `qunbook list-groups`。" in missing.output
    assert "No group" not in missing.output

    nothing = runner.invoke(args=["restore", "store"])
    assert nothing.output.strip() == "没有归档：没有改动。"


@pytest.mark.parametrize("environ", ENGLISH)
def test_any_other_locale_gets_english_messages(runner, speak, environ):
    speak(environ)
    done = runner.invoke(args=["create-campaign", "store", "门店会员群"])
    assert done.exit_code == 0, done.output
    assert "Created campaign store: https://qun.example.cn/j/store" in done.output
    assert not CJK.search(said(done))

    missing = runner.invoke(args=["update-group", "store", "42", "--cutoff", "5"])
    assert missing.exit_code == 1
    assert "No group '42' in store: see `qunbook list-groups`." in missing.output
    assert not CJK.search(said(missing))


def test_a_refused_value_is_said_in_the_locales_language(runner, speak):
    make_campaign(slug="store")
    speak({"LANG": "zh_CN.UTF-8"})
    refused = runner.invoke(args=["add-group", "store", "一群", "--cutoff", "十"])
    assert refused.exit_code == 2
    assert "'十' 不是 " in refused.output and "之间的整数" in refused.output
    speak({"LANG": "C.UTF-8"})
    refused = runner.invoke(args=["add-group", "store", "一群", "--cutoff", "十"])
    assert "'十' is not a whole number from" in refused.output


def test_a_list_in_chinese_keeps_its_columns(runner, speak):
    group = make_group(make_campaign(slug="store"), "一群", qr_age=None)
    speak({"LANG": "zh_CN.UTF-8"})
    listed = runner.invoke(args=["list-groups", "store"])
    assert f"#{group.id:<4} 一群  0/200  未上传二维码" in listed.output
    stats = runner.invoke(args=["stats", "store"])
    assert "  渠道                    扫码    进群    满员  机器人" in stats.output
    assert not re.search(r"\b(scans|sent|channel)\b", stats.output)


@pytest.mark.parametrize(
    ("environ", "chinese"), [({"LANG": "zh_CN.UTF-8"}, True), ({"LANG": "en_US.UTF-8"}, False)]
)
def test_the_rules_refusals_come_in_the_command_lines_language(runner, speak, environ, chinese):
    """No mixed languages: a refusal the rules make (an unknown campaign, a taken slug) is said
    in the same language as the command's own messages."""
    make_campaign(slug="store")
    speak(environ)
    for args in (["add-group", "nope", "一群"], ["create-campaign", "store", "门店会员群"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1
        message = said(result).removeprefix("Error: ")
        assert bool(CJK.search(message)) is chinese, message
