"""Campaign templates: a campaign set up the way a handbook playbook runs it.

The templates are data (assets/campaign_templates.json); each names the handbook page that
teaches it, and that page links back to the console with the template's key. A template's
name and summary are the kit's words, so the file holds them in English too ("en"); what it
fills into a new campaign (title, promise, groups ...) is the campaign's content, as staff
would write it.
"""

import functools
import json
from datetime import datetime, time, timedelta

from miniapp_api import kit
from miniapp_api.checkins import events
from miniapp_api.checkins import rules as checkins
from miniapp_api.db import db
from miniapp_api.i18n import _, current_locale, lazy_gettext
from miniapp_api.livecode import rules as livecode
from miniapp_api.livecode.rules import SLUG, SetupError
from miniapp_api.localtime import to_local, to_utc
from miniapp_api.models import Campaign, utcnow
from miniapp_api.referrals import rules as referrals

TEMPLATES = kit.assets() / "campaign_templates.json"
FIELDS = ("title", "promise", "description", "rules")
LIMITS = {"title": 120, "promise": 2000, "description": 4000, "rules": 4000, "staff_contact": 120}
# The fields' names as the console's form shows them, in the reader's language.
LABELS = {
    "title": lazy_gettext("标题"),
    "promise": lazy_gettext("承诺"),
    "description": lazy_gettext("介绍"),
    "rules": lazy_gettext("群规"),
    "staff_contact": lazy_gettext("群满时联系谁"),
}


@functools.cache
def _stored() -> dict[str, dict]:
    return json.loads(TEMPLATES.read_text(encoding="utf-8"))


def templates() -> dict[str, dict]:
    """{key: template}, in the file's order; each template also carries its own key, and its
    name and summary in the reader's language."""
    locale = current_locale()
    return {
        key: {"key": key, **template, **template.get(locale, {})}
        for key, template in _stored().items()
    }


def template(key: str | None) -> dict | None:
    return templates().get(key or "")


def campaign_text(fields: dict, defaults: dict | None = None) -> dict:
    """The campaign's text fields, trimmed and checked; empty ones take the template's text.
    Messages say what to do, in the language of whoever asked (the API's is English)."""
    values = {}
    for name in (*FIELDS, "staff_contact"):
        value = (fields.get(name) or "").strip() or (defaults or {}).get(name, "")
        if len(value) > LIMITS[name]:
            raise SetupError(
                _(
                    "%(field)s最多 %(limit)s 个字，现在有 %(count)s 个。",
                    field=LABELS[name],
                    limit=LIMITS[name],
                    count=len(value),
                )
            )
        values[name] = value
    if not values["title"]:
        raise SetupError(_("请填写标题。"))
    for name in ("title", "promise"):  # what the posters print
        livecode.check_printable(values[name], str(LABELS[name]), name)
    return values


def create_from_template(
    key: str,
    slug: str,
    *,
    timezone: str = "Asia/Shanghai",
    now: datetime | None = None,
    **fields,
) -> Campaign:
    """A campaign with the template's text (overridden by `fields`), channels and groups, and
    the template's referral programme, challenge or event, all or nothing. A challenge starts
    the day after `now` and an event is dated from it, both in `timezone` (the app's
    TIMEZONE: callers pass it)."""
    chosen = template(key)
    if chosen is None:
        raise SetupError(_("请先从列表里选一个模板。"))
    slug = (slug or "").strip().lower()
    if not SLUG.match(slug):
        raise SetupError(
            _(
                "活码地址「%(slug)s」不能用在链接里：请用 1–64 个小写字母、数字或连字符，"
                "如 store-2026。",
                slug=slug,
            )
        )
    values = campaign_text(fields, chosen)
    try:
        with db.atomic():
            campaign = livecode.create_campaign(slug, template=key, **values)
            for code, label in chosen["channels"]:
                livecode.add_channel(campaign, code, label)
            for name, cutoff in chosen["groups"]:
                livecode.add_group(campaign, name, cutoff=cutoff)
            if "referral" in chosen:
                settings = dict(chosen["referral"])
                tiers = [tuple(tier) for tier in settings.pop("tiers", [])]
                referrals.set_up_program(campaign, tiers=tiers, **settings)
            if "challenge" in chosen:
                _set_up_challenge(campaign, chosen["challenge"], timezone, now or utcnow())
            if "event" in chosen:
                _set_up_event(campaign, chosen["event"], timezone, now or utcnow())
    except (checkins.CheckinError, events.EventError) as error:
        raise SetupError(str(error)) from None
    except SetupError:
        # The unique index refused the slug (perhaps a concurrent request took it).
        if Campaign.select().where(Campaign.slug == slug).exists():
            raise SetupError(
                _("活码地址「%(slug)s」已经被另一个活动用了：请换一个。", slug=slug)
            ) from None
        raise
    return campaign


def _set_up_challenge(campaign: Campaign, settings: dict, timezone: str, now: datetime) -> None:
    """{"days", "starts_in_days", "task", "finish_days", "reward", "makeup_cards",
    "makeup_window"}: the first day is `starts_in_days` local days after today."""
    settings = dict(settings)
    today = to_local(now, checkins.check_timezone(timezone)).date()
    starts_on = today + timedelta(days=settings.pop("starts_in_days", 1))
    checkins.set_up_challenge(campaign, starts_on=starts_on, timezone=timezone, **settings)


def _set_up_event(campaign: Campaign, settings: dict, timezone: str, now: datetime) -> None:
    """{"title", "in_days", "at" ("14:00", local), "place", "capacity"}."""
    settings = dict(settings)
    today = to_local(now, checkins.check_timezone(timezone)).date()
    day = today + timedelta(days=settings.pop("in_days", 14))
    local = datetime.combine(day, time.fromisoformat(settings.pop("at", "14:00")))
    events.create_event(campaign, starts_at=to_utc(local, timezone), **settings)
