"""The shared pure helpers: one phone normaliser for every surface, and the local-time pair."""

from datetime import date, datetime

import pytest

from miniapp_api.db import db
from miniapp_api.invitations.customers import import_customers
from miniapp_api.localtime import to_local, to_utc
from miniapp_api.referrals.rules import ReferralError, clean_phone
from miniapp_api.visitors import normalise_phone


@pytest.mark.parametrize(
    "typed",
    [
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "(138) 0013 8000",
        "+86 138 0013 8000",
        "86 138 0013 8000",  # refused on import before: same person, two answers
        "0086 13800138000",
        "１３８００１３８０００",  # full-width digits from a Chinese keyboard
        "＋８６ １３８００１３８０００",
    ],
)
def test_every_way_of_writing_a_number_gives_the_same_eleven_digits(typed):
    assert normalise_phone(typed) == "13800138000"


@pytest.mark.parametrize(
    "typed",
    [
        "12345",
        "23800138000",
        "138001380001",
        "8613800138",
        "电话",
        "1380013800x",
        "²3800138000",
        "١٣٨٠٠١٣٨٠٠٠",  # Arabic-Indic digits: a \d pattern would take them
        "13800138000\x00",
        "1380013800😀",
        str(2**63),
    ],
)
def test_anything_else_is_refused(typed):
    with pytest.raises(ValueError):
        normalise_phone(typed)


@pytest.mark.parametrize("typed", ["", "   ", None])
def test_empty_is_none(typed):
    assert normalise_phone(typed) is None


@pytest.mark.parametrize(
    "typed",
    [
        "86 138 0013 8000",
        "１３８-００１３-８０００",
        "12345",
        "+86 138 0013 8000",  # refused on import before, as if it were a formula
        "+8613800138000",
        "＋８６ １３８００１３８０００",
    ],
)
def test_sign_up_and_customer_import_agree(app, typed):
    """The same text is accepted (with the same hash) or refused on both surfaces."""
    csv = f"客户编号,姓名,地区,累计消费,最近活跃,手机\nV001,王丽,上海,100,2026-11-01,{typed}\n"
    hashed = []
    with db.connection_context():
        report = import_customers(csv.encode(), hashed.append, today=date(2026, 11, 30))
    try:
        signed_up = clean_phone(typed)
    except ReferralError:
        signed_up = None
    assert hashed == ([signed_up] if signed_up else [])
    assert len(report.errors) == (0 if signed_up else 1)


def test_local_time_and_utc_cross_each_other_in_the_campaigns_zone():
    stored = datetime(2026, 11, 30, 16, 30)  # naive UTC, as every column holds
    shown = to_local(stored, "Asia/Shanghai")
    assert (shown.year, shown.month, shown.day, shown.hour) == (2026, 12, 1, 0)
    assert to_utc(shown.replace(tzinfo=None), "Asia/Shanghai") == stored
    # The day summer time ends in New York, 01:30 happens twice; the first one is taken.
    assert to_utc(datetime(2026, 11, 1, 1, 30), "America/New_York") == datetime(2026, 11, 1, 5, 30)
