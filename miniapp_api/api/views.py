"""The JSON API at /api/v1: campaigns, channels, groups and their figures, and the activities
(challenge days, events) with their stickiness, for scripts and other systems. Staff
authenticate with a personal bearer token (console → API tokens), never a cookie, so CSRF cannot
reach it. Every answer is JSON, errors included."""

import functools

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import BadRequest, HTTPException

from miniapp_api import playbooks
from miniapp_api.accounts.roles import EDITORS
from miniapp_api.accounts.rules import audit, staff_for_token
from miniapp_api.api.schema import ERROR_CODES, MAX_INT, openapi_document
from miniapp_api.checkins import overview, stickiness
from miniapp_api.checkins import rules as checkins
from miniapp_api.console import stats
from miniapp_api.livecode import lifecycle
from miniapp_api.livecode import rules as livecode
from miniapp_api.livecode.places import with_sent
from miniapp_api.livecode.rules import Refused, SetupError
from miniapp_api.models import Campaign, Channel, Group, utcnow
from miniapp_api.web.errors import answer_in_json
from miniapp_api.web.inputs import InputRefused
from miniapp_api.web.params import NumberRefused, query_number

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_PER_PAGE = 100
HINTS = {
    400: "The request could not be read: check the URL and the JSON body.",
    401: "Send a personal API token: 'Authorization: Bearer qbk_…' (console → API tokens).",
    403: "Your role may read but not change: ask an admin or operator.",
    404: "No such resource: check the campaign slug and the ids (GET /api/v1/campaigns).",
    405: "This URL does not take that method: see /api/v1/openapi.json.",
    413: "The body is too large: send at most 16 MB.",
    415: "Send the body as JSON with 'Content-Type: application/json'.",
    500: "Something went wrong on our side; nothing was changed. Try again later.",
}


class ApiError(Exception):
    """A refusal: its status, its English message and, where it has one, a specific machine
    code (else the status's own, ERROR_CODES)."""

    def __init__(self, status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def error_response(status: int, message: str | None = None, code: str | None = None):
    body = {
        "error": {
            "status": status,
            "code": code or ERROR_CODES.get(status, "error"),
            "message": message or HINTS.get(status, "See /api/v1/openapi.json."),
        }
    }
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="qunbook"'
    return response


answer_in_json(bp, error_response)


@bp.errorhandler(ApiError)
def api_error(error):
    return error_response(error.status, error.message, error.code or _rule_code(error))


def _rule_code(error: ApiError) -> str | None:
    """The code of the rule's refusal an ApiError was raised from (by _rules, _lifecycle),
    when the rule gives one; else the status's own code ("invalid" for a 422)."""
    refusal = error.__cause__ or error.__context__
    code = getattr(refusal, "code", None) if isinstance(refusal, SetupError) else None
    return code if isinstance(code, str) and code else None


@bp.errorhandler(InputRefused)
def input_refused(error):
    """A control character, or a JSON number beyond the columns (web/inputs.py): a 422 with
    its own code, ahead of the app's handler."""
    return error_response(422, error.message, error.code)


@bp.errorhandler(NumberRefused)
def number_refused(error):
    """A query number (read by web.params.query_number) that is not a whole number in range."""
    return error_response(
        422,
        f"'{error.field}' must be a whole number from {error.low} to {error.high}.",
        "out_of_range",
    )


@bp.errorhandler(HTTPException)
def http_error(error):
    return error_response(error.code or 500)


# ---------------------------------------------------------------- auth and input


@bp.before_request
def authenticate():
    if request.endpoint == "api.openapi":
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    staff = staff_for_token(token.strip()) if scheme.lower() == "bearer" else None
    if staff is None:
        return error_response(401)
    g.api_staff = staff
    return None


def editor(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if g.api_staff.role not in EDITORS:
            raise ApiError(
                403, "Trainers' tokens are read-only: ask an admin or operator.", "read_only_token"
            )
        return view(*args, **kwargs)

    return wrapped


def json_body(fields: dict[str, type], required: tuple[str, ...] = ()) -> dict:
    """The request's JSON object, checked against field name → type; nothing else allowed."""
    if not request.is_json:
        raise ApiError(415, HINTS[415])
    try:
        body = request.get_json()
    except (BadRequest, RecursionError):  # json.loads recurses once per level of nesting
        raise ApiError(
            422,
            'The body is not valid JSON: send one JSON object, e.g. {"title": "…"}.',
            "not_json",
        ) from None
    if not isinstance(body, dict):
        raise ApiError(422, 'The body must be a JSON object, e.g. {"title": "…"}.', "not_an_object")
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise ApiError(
            422,
            f"Unknown field(s): {', '.join(unknown)}. Allowed: {', '.join(fields)}.",
            "unknown_fields",
        )
    missing = [name for name in required if name not in body]
    if missing:
        raise ApiError(422, f"Missing field(s): {', '.join(missing)}.", "missing_fields")
    for name, value in body.items():
        kind = fields[name]
        # JSON true/false are ints in Python; a count of `true` is a mistake, not 1.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ApiError(422, f"'{name}' must be {_kind_name(kind)}.", "wrong_type")
        if kind is int and not -MAX_INT <= value <= MAX_INT:
            raise ApiError(
                422, f"'{name}' must be between -{MAX_INT} and {MAX_INT}.", "out_of_range"
            )
    return body


def _kind_name(kind: type) -> str:
    return {str: "a string", int: "a whole number", bool: "true or false"}[kind]


def _rules(call, *args, **kwargs):
    """Run a set-up rule; its refusal becomes a 422 carrying the rule's own advice."""
    try:
        return call(*args, **kwargs)
    except SetupError as error:
        raise ApiError(422, str(error)) from None


# ---------------------------------------------------------------- representations


def iso(moment) -> str | None:
    return moment.isoformat(timespec="seconds") + "Z" if moment else None


def campaign_json(c: Campaign) -> dict:
    return {
        "slug": c.slug,
        "title": c.title,
        "promise": c.promise,
        "description": c.description,
        "rules": c.rules,
        "staff_contact": c.staff_contact,
        "template": c.template,
        "join_url": livecode.join_url(current_app.config["PUBLIC_URL"], c.slug),
        "all_full_since": iso(c.all_full_since),
        "created_at": iso(c.created_at),
        "archived_at": iso(c.archived_at),
    }


def channel_json(campaign: Campaign, ch: Channel) -> dict:
    public_url = current_app.config["PUBLIC_URL"]
    return {
        "code": ch.code,
        "label": ch.label,
        "join_url": livecode.join_url(public_url, campaign.slug, ch.code),
        "archived_at": iso(ch.archived_at),
    }


def group_json(group: Group, now) -> dict:
    expires = livecode.qr_expires_at(group)
    return {
        "id": group.id,
        "name": group.name,
        "position": group.position,
        "cutoff": group.cutoff,
        "sent": group.sent,
        "active": group.active,
        "qr_generated_at": iso(group.qr_generated_at),
        "qr_expires_at": iso(expires),
        "open": bool(
            group.active and group.sent < group.cutoff and expires is not None and expires > now
        ),
    }


def _campaign(slug: str) -> Campaign:
    campaign = Campaign.get_or_none(Campaign.slug == slug) if livecode.SLUG.match(slug) else None
    if campaign is None:
        raise ApiError(
            404,
            f"No campaign '{slug}': list them with GET /api/v1/campaigns.",
            "campaign_not_found",
        )
    return campaign


def _groups(campaign: Campaign):
    columns = [f for f in Group._meta.sorted_fields if f is not Group.qr_image]
    return (
        with_sent(Group.select(*columns))
        .where(Group.campaign == campaign)
        .order_by(Group.position, Group.id)
    )


# ---------------------------------------------------------------- endpoints


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document(current_app.config["PUBLIC_URL"]))


@bp.get("/campaigns")
def list_campaigns():
    per_page = query_number("per_page", 20, 1, MAX_PER_PAGE)
    total = Campaign.select().count()
    page = query_number("page", 1, 1, 10**6)
    rows = (
        Campaign.select()
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    items = [campaign_json(c) for c in rows]
    return jsonify(items=items, page=page, per_page=per_page, total=total)


CAMPAIGN_TEXT = {
    "title": str,
    "promise": str,
    "description": str,
    "rules": str,
    "staff_contact": str,
}


@bp.post("/campaigns")
@editor
def create_campaign():
    body = json_body({"slug": str, "template": str, **CAMPAIGN_TEXT}, required=("slug",))
    slug = body.pop("slug")
    key = body.pop("template", "")
    if key:
        if playbooks.template(key) is None:
            choices = ", ".join(playbooks.templates())
            raise ApiError(
                422,
                f"No template '{key}': use one of {choices}, or leave it out.",
                "unknown_template",
            )
        campaign = _rules(
            playbooks.create_from_template,
            key,
            slug,
            timezone=current_app.config["TIMEZONE"],
            **body,
        )
    else:
        if "title" not in body:
            raise ApiError(422, "Give a title, or a template to take it from.", "title_required")
        text = _rules(playbooks.campaign_text, body)
        campaign = _rules(livecode.create_campaign, slug, **text)
    audit(g.api_staff, "campaign.create", f"campaign:{campaign.slug}", template=key, via="api")
    return jsonify(campaign_json(Campaign.get_by_id(campaign.id))), 201


@bp.get("/campaigns/<slug>")
def get_campaign(slug):
    return jsonify(campaign_json(_campaign(slug)))


@bp.patch("/campaigns/<slug>")
@editor
def edit_campaign(slug):
    campaign = _campaign(slug)
    body = json_body(CAMPAIGN_TEXT)
    current = {name: getattr(campaign, name) for name in CAMPAIGN_TEXT}
    changes = _rules(playbooks.campaign_text, {**current, **body})
    changed = sorted(n for n, v in changes.items() if current.get(n) != v)
    if changed:  # sending the text it already has is no change, so no audit entry either
        Campaign.update(**changes).where(Campaign.id == campaign.id).execute()
        audit(g.api_staff, "campaign.edit", f"campaign:{slug}", fields=changed, via="api")
    return jsonify(campaign_json(Campaign.get_by_id(campaign.id)))


@bp.get("/campaigns/<slug>/channels")
def list_channels(slug):
    campaign = _campaign(slug)
    channels = campaign.channels.order_by(Channel.id)
    return jsonify(items=[channel_json(campaign, ch) for ch in channels])


@bp.post("/campaigns/<slug>/channels")
@editor
def add_channel(slug):
    campaign = _campaign(slug)
    body = json_body({"code": str, "label": str}, required=("code", "label"))
    channel = _rules(livecode.add_channel, campaign, body["code"], body["label"])
    audit(
        g.api_staff,
        "channel.create",
        f"campaign:{slug}",
        code=channel.code,
        label=channel.label,
        via="api",
    )
    return jsonify(channel_json(campaign, channel)), 201


@bp.delete("/campaigns/<slug>")
@editor
def delete_campaign(slug):
    campaign = _campaign(slug)
    _lifecycle(lifecycle.delete_campaign, campaign)
    audit(g.api_staff, "campaign.delete", f"campaign:{slug}", title=campaign.title, via="api")
    return "", 204


@bp.post("/campaigns/<slug>/archive", defaults={"action": "archive"})
@bp.post("/campaigns/<slug>/restore", defaults={"action": "restore"})
@editor
def change_campaign(slug, action):
    campaign = _campaign(slug)
    change = lifecycle.archive_campaign if action == "archive" else lifecycle.restore_campaign
    if change(campaign.id):  # already so: no change, no audit entry
        audit(g.api_staff, f"campaign.{action}", f"campaign:{slug}", via="api")
    return jsonify(campaign_json(Campaign.get_by_id(campaign.id)))


def _channel(campaign: Campaign, code: str) -> Channel:
    channel = Channel.get_or_none((Channel.campaign == campaign) & (Channel.code == code))
    if channel is None:
        raise ApiError(
            404, f"No channel '{code}' in '{campaign.slug}': list them first.", "channel_not_found"
        )
    return channel


@bp.delete("/campaigns/<slug>/channels/<code>")
@editor
def delete_channel(slug, code):
    campaign = _campaign(slug)
    channel = _channel(campaign, code)
    _lifecycle(lifecycle.delete_channel, channel)
    audit(g.api_staff, "channel.delete", f"campaign:{slug}", code=code, via="api")
    return "", 204


@bp.post("/campaigns/<slug>/channels/<code>/archive", defaults={"action": "archive"})
@bp.post("/campaigns/<slug>/channels/<code>/restore", defaults={"action": "restore"})
@editor
def change_channel(slug, code, action):
    campaign = _campaign(slug)
    channel = _channel(campaign, code)
    change = lifecycle.archive_channel if action == "archive" else lifecycle.restore_channel
    if change(channel.id):
        audit(g.api_staff, f"channel.{action}", f"campaign:{slug}", code=code, via="api")
    return jsonify(channel_json(campaign, Channel.get_by_id(channel.id)))


def _lifecycle(call, *args):
    """A delete the rules refuse: 409 with the English advice (archive instead)."""
    try:
        call(*args)
    except lifecycle.KeepInstead as error:
        raise ApiError(409, str(error)) from None
    except Refused as error:  # deleted a moment ago by someone else
        raise ApiError(404, str(error)) from None


@bp.get("/campaigns/<slug>/groups")
def list_groups(slug):
    now = utcnow()
    return jsonify(items=[group_json(grp, now) for grp in _groups(_campaign(slug))])


@bp.post("/campaigns/<slug>/groups")
@editor
def add_group(slug):
    campaign = _campaign(slug)
    body = json_body({"name": str, "cutoff": int}, required=("name",))
    group = _rules(livecode.add_group, campaign, body["name"], cutoff=body.get("cutoff", 200))
    audit(
        g.api_staff,
        "group.create",
        f"group:{group.id}",
        campaign=slug,
        name=group.name,
        cutoff=group.cutoff,
        via="api",
    )
    return jsonify(group_json(livecode.group_with_count(group.id), utcnow())), 201


@bp.patch("/campaigns/<slug>/groups/<int:group_id>")
@editor
def update_group(slug, group_id):
    campaign = _campaign(slug)
    # The <int:…> converter (web.params) takes no id beyond MAX_INT: such a URL is a 404.
    group = _groups(campaign).where(Group.id == group_id).first()
    if group is None:
        raise ApiError(
            404, f"No group {group_id} in '{slug}': see GET …/{slug}/groups.", "group_not_found"
        )
    body = json_body({"cutoff": int, "sent": int, "active": bool, "position": int})
    if not body:
        raise ApiError(
            422, "Nothing to change: give cutoff, sent, active or position.", "nothing_to_change"
        )
    updated = _rules(livecode.update_group, group, **body)
    audit(
        g.api_staff,
        "group.update",
        f"group:{group.id}",
        campaign=slug,
        name=updated.name,
        via="api",
        **body,
    )
    return jsonify(group_json(updated, utcnow()))


@bp.get("/campaigns/<slug>/stats")
def campaign_stats(slug):
    campaign = _campaign(slug)
    days = query_number("days", 30, 1, stats.MAX_DAYS)
    return jsonify(stats.campaign_stats(campaign, current_app.config["TIMEZONE"], days))


# ---------------------------------------------------------------- check-ins (read-only)


def activity_json(figure: stickiness.Figure) -> dict:
    return {
        "id": figure.activity_id,
        "kind": figure.kind,
        "number": figure.number,
        "title": figure.title,
        "starts_at": iso(figure.starts_at),
        "called": figure.called,
        "responded": figure.responded,
        "stickiness": figure.stickiness,
        "started": figure.started,
    }


@bp.get("/campaigns/<slug>/activities")
def list_activities(slug):
    """Challenge days in order, then events and calls by start: each with its stickiness;
    those still to come have called nobody yet (called 0, stickiness null, started false)."""
    campaign = _campaign(slug)
    figures = stickiness.figures(campaign.id, now=utcnow())
    return jsonify(items=[activity_json(f) for f in figures])


@bp.get("/campaigns/<slug>/activities/<int:activity_id>")
def get_activity(slug, activity_id):
    campaign = _campaign(slug)
    now = utcnow()
    figures = stickiness.figures(campaign.id, now=now)
    found = next((f for f in figures if f.activity_id == activity_id), None)
    if found is None:
        raise ApiError(
            404,
            f"No activity {activity_id} in '{slug}': see GET …/{slug}/activities.",
            "activity_not_found",
        )
    groups = [
        {
            "group_id": row["group_id"],
            "group": row["group"],
            "called": row["called"],
            "responded": row["responded"],
            "stickiness": row["stickiness"],
        }
        for row in stickiness.by_group(campaign.id, activity_id, now=now)
    ]
    return jsonify({**activity_json(found), "groups": groups})


@bp.get("/campaigns/<slug>/challenge")
def get_challenge(slug):
    campaign = _campaign(slug)
    challenge = checkins.challenge_of(campaign.id)
    if challenge is None:
        raise ApiError(
            404,
            f"'{slug}' has no challenge: set one up in the console (Check-in challenge).",
            "no_challenge",
        )
    figures = overview.challenge_figures(challenge, utcnow())
    return jsonify(
        {
            **checkins.settings_of(challenge),
            "ends_on": checkins.date_of(challenge, challenge.days).isoformat(),
            "today": figures["today"],
            "participants": figures["participants"],
            "checked_in_today": figures["checked_in_today"],
            "finishers": figures["finishers"],
            "created_at": iso(challenge.created_at),
        }
    )
