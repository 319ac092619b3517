"""The OpenAPI 3.0 description of /api/v1, as data.

Its limits are taken from the rules the API calls (slug and channel-code patterns, text
lengths), so the description cannot drift from what the API accepts; a schemathesis test
checks every answer against it.
"""

from miniapp_api.checkins.rules import MAX_DAYS as MAX_CHALLENGE_DAYS
from miniapp_api.console.stats import MAX_DAYS
from miniapp_api.livecode.rules import CHANNEL_CODE, SLUG
from miniapp_api.models import MAX_INT
from miniapp_api.playbooks import LIMITS, templates


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _text(limit: int, min_length: int = 0) -> dict:
    return {"type": "string", "minLength": min_length, "maxLength": limit}


def _errors(*codes: int) -> dict:
    return {
        str(code): {
            "description": DESCRIPTIONS[code],
            "content": {"application/json": {"schema": _ref("Error")}},
        }
        for code in codes
    }


# The error's machine code by status, for a refusal without a more specific one.
ERROR_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    409: "conflict",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    500: "server_error",
    503: "unavailable",
}
# The specific codes a refusal carries instead of its status's (ERROR_CODES) where it has one;
# a rule's refusal carries its own `code` when the rule gives one (else "invalid").
SPECIFIC_CODES = {
    "campaign_not_found": "No campaign with that slug.",
    "channel_not_found": "No channel with that code in the campaign.",
    "group_not_found": "No group with that id in the campaign.",
    "activity_not_found": "No activity with that id in the campaign.",
    "no_challenge": "The campaign has no check-in challenge.",
    "read_only_token": "A trainer's token may read but not change.",
    "not_json": "The body is not valid JSON.",
    "not_an_object": "The body is not a JSON object.",
    "unknown_fields": "The body has fields the endpoint does not take.",
    "missing_fields": "The body lacks a required field.",
    "wrong_type": "A field has the wrong JSON type.",
    "out_of_range": "A number is outside the range the field or parameter takes.",
    "control_character": "A text value holds a control character.",
    "unknown_template": "No campaign template with that key.",
    "title_required": "A campaign needs a title or a template.",
    "nothing_to_change": "The body changes nothing.",
    # Refusals by the set-up rules, which carry their own code (livecode.rules.Refused).
    "refused": "The set-up rules refuse the change; the message says why.",
    "unprintable_text": "Text a poster cannot print (an emoji, a rare character).",
    "keep_instead": "The campaign or channel holds member data: archive it instead.",
    "deleted_already": "The campaign or channel was deleted a moment ago.",
    "uri_too_long": "The URL is too long (414, answered by the server before the app).",
    "headers_too_large": "The request headers are too large (431, likewise).",
}


def _code_description() -> str:
    by_status = ", ".join(f"{status} {code}" for status, code in sorted(ERROR_CODES.items()))
    specific = "; ".join(f"{code}: {meaning}" for code, meaning in SPECIFIC_CODES.items())
    return (
        "A stable machine code for programs (the message, in English, is for people). "
        f"Where a refusal has a specific code: {specific}. A refusal by the set-up rules "
        "(422, 409, 404) carries the rule's own code where it has one, else the status's. "
        f"Otherwise the status's code: {by_status}."
    )


DESCRIPTIONS = {
    401: "No valid bearer token.",
    403: "The token's role may not change anything (trainer).",
    404: "No such campaign, group, activity or challenge.",
    405: "Method not allowed on this URL.",
    413: "Body too large.",
    415: "The body is not JSON.",
    409: "It holds member data: archive it instead of deleting it.",
    422: "The body or a parameter breaks a rule; the message says what to do.",
}
READ_ERRORS = (401, 404, 405, 422)
WRITE_ERRORS = (401, 403, 404, 405, 413, 415, 422)
# Archive, restore and delete take no body.
STATE_ERRORS = (401, 403, 404, 405, 422)


def _ok(code: int, schema: dict, description: str = "OK") -> dict:
    return {
        str(code): {"description": description, "content": {"application/json": {"schema": schema}}}
    }


def _body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


SLUG_PARAM = {
    "name": "slug",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": SLUG.pattern, "maxLength": 64},
}
ACTIVITY_PARAM = {
    "name": "activity_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_INT},
}
CHANNEL_PARAM = {
    "name": "code",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": CHANNEL_CODE.pattern, "maxLength": 32},
}
GROUP_PARAM = {
    "name": "group_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_INT},
}


def _campaign_text(title_min: int) -> dict:
    return {
        "title": _text(LIMITS["title"], title_min),
        "promise": _text(LIMITS["promise"]),
        "description": _text(LIMITS["description"]),
        "rules": _text(LIMITS["rules"]),
        "staff_contact": _text(LIMITS["staff_contact"]),
    }


def openapi_document(public_url: str) -> dict:
    campaign_props = {
        "slug": {"type": "string"},
        "title": {"type": "string"},
        "promise": {"type": "string"},
        "description": {"type": "string"},
        "rules": {"type": "string"},
        "staff_contact": {"type": "string"},
        "template": {"type": "string"},
        "join_url": {"type": "string"},
        "all_full_since": {"type": "string", "format": "date-time", "nullable": True},
        "created_at": {"type": "string", "format": "date-time"},
        "archived_at": {"type": "string", "format": "date-time", "nullable": True},
    }
    group_props = {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "position": {"type": "integer"},
        "cutoff": {"type": "integer", "minimum": 1},
        "sent": {"type": "integer", "minimum": 0},
        "active": {"type": "boolean"},
        "qr_generated_at": {"type": "string", "format": "date-time", "nullable": True},
        "qr_expires_at": {"type": "string", "format": "date-time", "nullable": True},
        "open": {"type": "boolean"},
    }
    counts = {"type": "integer", "minimum": 0}
    schemas = {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["status", "code", "message"],
                    "properties": {
                        "status": {"type": "integer"},
                        "code": {"type": "string", "description": _code_description()},
                        "message": {
                            "type": "string",
                            "description": "What went wrong and what to do, in English.",
                        },
                    },
                }
            },
        },
        "Campaign": {
            "type": "object",
            "required": list(campaign_props),
            "properties": campaign_props,
            "additionalProperties": False,
        },
        "Channel": {
            "type": "object",
            "required": ["code", "label", "join_url", "archived_at"],
            "properties": {
                "code": {"type": "string"},
                "label": {"type": "string"},
                "join_url": {"type": "string"},
                "archived_at": {"type": "string", "format": "date-time", "nullable": True},
            },
            "additionalProperties": False,
        },
        "Group": {
            "type": "object",
            "required": list(group_props),
            "properties": group_props,
            "additionalProperties": False,
        },
        "Stats": {
            "type": "object",
            "required": ["funnel", "channels", "days"],
            "properties": {
                "funnel": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["key", "label", "count"],
                        "properties": {
                            "key": {"type": "string"},
                            "label": {"type": "string"},
                            "count": counts,
                        },
                    },
                },
                "channels": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["code", "label", "scans", "sent", "full", "bots"],
                        "properties": {
                            "code": {"type": "string"},
                            "label": {"type": "string"},
                            **{k: counts for k in ("scans", "sent", "full", "bots")},
                        },
                    },
                },
                "days": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["day", "scans", "sent", "full"],
                        "properties": {
                            "day": {"type": "string", "format": "date"},
                            **{k: counts for k in ("scans", "sent", "full")},
                        },
                    },
                },
            },
        },
    }

    share = {"type": "number", "minimum": 0, "maximum": 1, "nullable": True}
    activity_props = {
        "id": {"type": "integer"},
        "kind": {"type": "string", "enum": ["day", "event", "call"]},
        "number": {"type": "integer", "minimum": 1, "nullable": True},
        "title": {"type": "string"},
        "starts_at": {"type": "string", "format": "date-time", "nullable": True},
        "called": counts,
        "responded": counts,
        "stickiness": share,
        "started": {"type": "boolean"},
    }
    group_figure_props = {
        "group_id": {"type": "integer", "nullable": True},
        "group": {"type": "string"},
        "called": counts,
        "responded": counts,
        "stickiness": share,
    }
    challenge_props = {
        "days": {"type": "integer", "minimum": 1, "maximum": MAX_CHALLENGE_DAYS},
        "starts_on": {"type": "string", "format": "date"},
        "ends_on": {"type": "string", "format": "date"},
        "timezone": {"type": "string"},
        "task": {"type": "string"},
        "finish_days": {"type": "integer", "minimum": 1},
        "reward": {"type": "string"},
        "makeup_cards": counts,
        "makeup_window": counts,
        "hidden": {"type": "boolean"},
        "today": {"type": "integer"},
        "participants": counts,
        "checked_in_today": counts,
        "finishers": counts,
        "created_at": {"type": "string", "format": "date-time"},
    }
    schemas["Activity"] = {
        "type": "object",
        "description": "A dated call members answer: stickiness = responded / called "
        "(null when nobody was called).",
        "required": list(activity_props),
        "properties": activity_props,
        "additionalProperties": False,
    }
    schemas["ActivityDetail"] = {
        "type": "object",
        "required": [*activity_props, "groups"],
        "properties": {
            **activity_props,
            "groups": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": list(group_figure_props),
                    "properties": group_figure_props,
                    "additionalProperties": False,
                },
            },
        },
        "additionalProperties": False,
    }
    schemas["Challenge"] = {
        "type": "object",
        "required": list(challenge_props),
        "properties": challenge_props,
        "additionalProperties": False,
    }

    def items(name: str) -> dict:
        return {
            "type": "object",
            "required": ["items"],
            "properties": {"items": {"type": "array", "items": _ref(name)}},
        }

    new_campaign = {
        "type": "object",
        "required": ["slug"],
        "additionalProperties": False,
        "properties": {
            "slug": {"type": "string", "pattern": SLUG.pattern, "maxLength": 64},
            "template": {"type": "string", "enum": list(templates())},
            **_campaign_text(1),
        },
    }
    edit_campaign = {
        "type": "object",
        "additionalProperties": False,
        "properties": _campaign_text(1),
    }
    new_channel = {
        "type": "object",
        "required": ["code", "label"],
        "additionalProperties": False,
        "properties": {
            "code": {"type": "string", "pattern": CHANNEL_CODE.pattern, "maxLength": 32},
            "label": _text(60, 1),
        },
    }
    new_group = {
        "type": "object",
        "required": ["name"],
        "additionalProperties": False,
        "properties": {
            "name": _text(60, 1),
            "cutoff": {"type": "integer", "minimum": 1, "maximum": MAX_INT},
        },
    }
    edit_group = {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": False,
        "properties": {
            "cutoff": {"type": "integer", "minimum": 1, "maximum": MAX_INT},
            "sent": {"type": "integer", "minimum": 0, "maximum": MAX_INT},
            "active": {"type": "boolean"},
            "position": {"type": "integer", "minimum": -MAX_INT, "maximum": MAX_INT},
        },
    }
    paging = [
        {
            "name": "page",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 10**6},
        },
        {
            "name": "per_page",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 100},
        },
    ]
    campaign_list = {
        "type": "object",
        "required": ["items", "page", "per_page", "total"],
        "properties": {
            "items": {"type": "array", "items": _ref("Campaign")},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "total": {"type": "integer"},
        },
    }
    paths = {
        "/campaigns": {
            "get": {
                "summary": "Campaigns, newest first",
                "parameters": paging,
                "responses": {**_ok(200, campaign_list), **_errors(*READ_ERRORS)},
            },
            "post": {
                "summary": "Create a campaign, by hand or from a playbook template",
                "requestBody": _body(new_campaign),
                "responses": {**_ok(201, _ref("Campaign"), "Created"), **_errors(*WRITE_ERRORS)},
            },
        },
        "/campaigns/{slug}": {
            "parameters": [SLUG_PARAM],
            "get": {
                "summary": "One campaign",
                "responses": {**_ok(200, _ref("Campaign")), **_errors(*READ_ERRORS)},
            },
            "patch": {
                "summary": "Change a campaign's text (Markdown is sanitised on public pages)",
                "requestBody": _body(edit_campaign),
                "responses": {**_ok(200, _ref("Campaign")), **_errors(*WRITE_ERRORS)},
            },
            "delete": {
                "summary": "Delete a campaign without member data: no members, no counted "
                "visits, no answered invitations, no check-ins (409 otherwise: archive it)",
                "responses": {"204": {"description": "Deleted"}, **_errors(409, *STATE_ERRORS)},
            },
        },
        "/campaigns/{slug}/archive": {
            "parameters": [SLUG_PARAM],
            "post": {
                "summary": "Archive: public pages close with a friendly page, the attention list "
                "drops it, figures stay readable (no change if archived already)",
                "responses": {**_ok(200, _ref("Campaign")), **_errors(*STATE_ERRORS)},
            },
        },
        "/campaigns/{slug}/restore": {
            "parameters": [SLUG_PARAM],
            "post": {
                "summary": "Put an archived campaign back to work",
                "responses": {**_ok(200, _ref("Campaign")), **_errors(*STATE_ERRORS)},
            },
        },
        "/campaigns/{slug}/channels/{code}/archive": {
            "parameters": [SLUG_PARAM, CHANNEL_PARAM],
            "post": {
                "summary": "Archive a channel: its poster still leads to the campaign, counted "
                "without the channel",
                "responses": {**_ok(200, _ref("Channel")), **_errors(*STATE_ERRORS)},
            },
        },
        "/campaigns/{slug}/channels/{code}/restore": {
            "parameters": [SLUG_PARAM, CHANNEL_PARAM],
            "post": {
                "summary": "Count an archived channel's scans under it again",
                "responses": {**_ok(200, _ref("Channel")), **_errors(*STATE_ERRORS)},
            },
        },
        "/campaigns/{slug}/channels/{code}": {
            "parameters": [SLUG_PARAM, CHANNEL_PARAM],
            "delete": {
                "summary": "Delete a channel nobody has scanned (409 otherwise: archive it)",
                "responses": {"204": {"description": "Deleted"}, **_errors(409, *STATE_ERRORS)},
            },
        },
        "/campaigns/{slug}/channels": {
            "parameters": [SLUG_PARAM],
            "get": {
                "summary": "The campaign's channels with their join URLs",
                "responses": {**_ok(200, items("Channel")), **_errors(*READ_ERRORS)},
            },
            "post": {
                "summary": "Add a channel (one per poster placement)",
                "requestBody": _body(new_channel),
                "responses": {**_ok(201, _ref("Channel"), "Created"), **_errors(*WRITE_ERRORS)},
            },
        },
        "/campaigns/{slug}/groups": {
            "parameters": [SLUG_PARAM],
            "get": {
                "summary": "The campaign's groups in live-code order",
                "responses": {**_ok(200, items("Group")), **_errors(*READ_ERRORS)},
            },
            "post": {
                "summary": "Add a group (upload its QR in the console)",
                "requestBody": _body(new_group),
                "responses": {**_ok(201, _ref("Group"), "Created"), **_errors(*WRITE_ERRORS)},
            },
        },
        "/campaigns/{slug}/groups/{group_id}": {
            "parameters": [SLUG_PARAM, GROUP_PARAM],
            "patch": {
                "summary": "Correct the count, change the cut-off, switch on or off, reorder",
                "requestBody": _body(edit_group),
                "responses": {**_ok(200, _ref("Group")), **_errors(*WRITE_ERRORS)},
            },
        },
        "/campaigns/{slug}/stats": {
            "parameters": [SLUG_PARAM],
            "get": {
                "summary": "Funnel, per channel, and per local day",
                "parameters": [
                    {
                        "name": "days",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_DAYS},
                    }
                ],
                "responses": {**_ok(200, _ref("Stats")), **_errors(*READ_ERRORS)},
            },
        },
        "/campaigns/{slug}/activities": {
            "parameters": [SLUG_PARAM],
            "get": {
                "summary": "Challenge days in order, then events and calls: called, responded "
                "and stickiness of each",
                "responses": {**_ok(200, items("Activity")), **_errors(*READ_ERRORS)},
            },
        },
        "/campaigns/{slug}/activities/{activity_id}": {
            "parameters": [SLUG_PARAM, ACTIVITY_PARAM],
            "get": {
                "summary": "One activity's figures, also per group the live code sent members to",
                "responses": {**_ok(200, _ref("ActivityDetail")), **_errors(*READ_ERRORS)},
            },
        },
        "/campaigns/{slug}/challenge": {
            "parameters": [SLUG_PARAM],
            "get": {
                "summary": "The campaign's check-in challenge: settings, participants, finishers",
                "responses": {**_ok(200, _ref("Challenge")), **_errors(*READ_ERRORS)},
            },
        },
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Qunbook API",
            "version": "1",
            "description": "Campaigns, channels, groups and figures of the Qunbook mini-app, "
            "and the stickiness of its activities (challenge days, events). "
            "Authenticate with a personal token from the console (API tokens). Every error is "
            "JSON: {error: {status, code, message}}; programs read the code, people the "
            "English message.",
        },
        "servers": [{"url": f"{public_url}/api/v1"}],
        "security": [{"bearerAuth": []}],
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
        },
        "paths": paths,
    }
