"""Campaign templates: a campaign set up the way a handbook playbook runs it.

The templates are data (assets/campaign_templates.json); each names the handbook page that
teaches it, and that page links back to the console with the template's key.
"""

import functools
import json
from pathlib import Path

from . import livecode
from .db import db
from .models import Campaign

TEMPLATES = Path(__file__).resolve().parent.parent / "assets" / "campaign_templates.json"
FIELDS = ("title", "promise", "description", "rules")


@functools.cache
def templates() -> dict[str, dict]:
    return json.loads(TEMPLATES.read_text(encoding="utf-8"))


def template(key: str | None) -> dict | None:
    return templates().get(key or "")


def create_from_template(key: str, slug: str, **fields) -> Campaign:
    """A campaign with the template's text (overridden by `fields`), channels and groups,
    all or nothing."""
    chosen = template(key)
    if chosen is None:
        raise livecode.SetupError(f"No template {key!r}: pick one from the list.")
    values = {name: fields.get(name) or chosen[name] for name in FIELDS}
    values["staff_contact"] = fields.get("staff_contact", "")
    with db.atomic():
        campaign = livecode.create_campaign(slug, template=key, **values)
        for code, label in chosen["channels"]:
            livecode.add_channel(campaign, code, label)
        for name, cutoff in chosen["groups"]:
            livecode.add_group(campaign, name, cutoff=cutoff)
    return campaign
