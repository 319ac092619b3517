"""Numbers typed into links and forms: one parser (miniapp_api/web/params.py), and every
integer the app reads, in a path, a query string or a form, fed what is not a number in range,
answers a clear 4xx, never a 500.

Path numbers are found in the URL map. Query and form numbers are listed in NUMBERS below, and
test_every_number_a_view_reads_is_listed reads the views' source, so a number read through
web.params by a new or changed view cannot be missed."""

import ast
import inspect
import re
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from helpers import make_campaign, make_challenge, make_group, make_staff, stored_group

from miniapp_api.accounts.rules import issue_api_token
from miniapp_api.checkins import events
from miniapp_api.models import MAX_INT, Activity, ApiToken, AuditEntry, Staff
from miniapp_api.numbers import whole_number

PACKAGE = Path(__file__).resolve().parents[2] / "miniapp_api"
# Hostile too: a NUL byte, an emoji, and 2**63, one past the largest 64-bit integer.
BAD = ["²", "-1", "1e9", "٣", "9" * 300, "7\x00", "😀", str(2**63)]
INT_PARAM = re.compile(r"<int(?:\([^)]*\))?:(\w+)>")
ANY_PARAM = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")

QUERY, FORM = "query", "form"
# endpoint → number → (where it is read, other fields the view needs before it reads it)
NUMBERS = {
    "api.list_campaigns": {"page": (QUERY, {}), "per_page": (QUERY, {})},
    "api.campaign_stats": {"days": (QUERY, {})},
    "console.campaigns": {"page": (QUERY, {})},
    "console.archived_campaigns": {"page": (QUERY, {})},
    "console.audit": {"page": (QUERY, {})},
    "console.dashboard": {"days": (QUERY, {})},
    "console.referrals": {"page": (QUERY, {})},
    "console.event_tickets": {"page": (QUERY, {})},
    "console.vip_page": {
        "page": (QUERY, {}),
        "min_purchase": (QUERY, {"preview": "1"}),
        "active_days": (QUERY, {"preview": "1"}),
    },
    "console.add_group": {"cutoff": (FORM, {"name": "新群"})},
    "console.update_group": {"cutoff": (FORM, {}), "sent": (FORM, {}), "position": (FORM, {})},
    "console.referral_settings": {
        "max_per_hour": (FORM, {}),
        "max_per_day": (FORM, {}),
        "leaderboard_size": (FORM, {}),
    },
    "console.vip_settings": {"valid_days": (FORM, {})},
    "console.vip_invite": {"min_purchase": (FORM, {}), "active_days": (FORM, {})},
    "checkins.challenge": {"done": (QUERY, {})},
    "checkins.make_up": {"day": (FORM, {})},
    "checkins.wall": {"before": (QUERY, {})},
    "console.challenge": {"before": (QUERY, {})},
    "console.save_challenge": {
        "days": (FORM, {}),
        "finish_days": (FORM, {}),
        "makeup_cards": (FORM, {}),
        "makeup_window": (FORM, {}),
    },
    "console.add_event": {"capacity": (FORM, {})},
    "console.save_event": {"capacity": (FORM, {})},
}
# The one value of BAD some number takes as it is: a group's order number may be negative.
TAKEN = {("console.update_group", "position"): {"-1"}}


# ---------------------------------------------------------------- the parser


@pytest.mark.parametrize(
    ("text", "low", "high", "value"),
    [
        ("7", 1, 90, 7),
        (" 7 ", 1, 90, 7),
        ("007", 1, 90, 7),
        ("-3", -5, 5, -3),
        ("0", 0, 0, 0),
        ("90", 1, 90, 90),
        ("91", 1, 90, None),
        ("0", 1, 90, None),
        ("-1", 0, 90, None),
        ("²", 0, 90, None),  # "²".isdigit() is True, int("²") raises
        ("٣", 0, 90, None),  # int("٣") == 3
        ("１", 0, 90, None),  # full-width one: int() reads it too
        ("1e9", 0, MAX_INT, None),
        ("+5", 0, 90, None),
        ("1_000", 0, 10**6, None),  # int() takes the underscore
        ("9" * 300, 0, MAX_INT, None),
        ("9" * 19, 0, 10**19, None),  # at most 18 digits are read at all
        ("", 0, 90, None),
        (None, 0, 90, None),
    ],
)
def test_whole_number_takes_ascii_digits_in_range_only(text, low, high, value):
    assert whole_number(text, low, high) == value


# ---------------------------------------------------------------- every number the app reads


@pytest.fixture
def admin(app, client, staff_actions):
    """An admin logged in with CSRF off (every form is posted bare), an API token, and a
    campaign `store` with one group; returns (client, API headers, group)."""
    app.config["WTF_CSRF_ENABLED"] = False
    make_staff("boss", "admin")
    assert staff_actions.login("boss").status_code == 302
    token = issue_api_token(Staff.get(Staff.username == "boss"), "tests")
    campaign = make_campaign(slug="store")
    group = make_group(campaign, "一群")
    events.create_event(campaign, title="门店见面会", starts_at=datetime(2026, 12, 20, 6))
    make_challenge(campaign=campaign)  # the member pages of a challenge read numbers too
    return client, {"Authorization": f"Bearer {token}"}, group


def _url(rule: str, values: dict) -> str:
    return ANY_PARAM.sub(lambda m: quote(str(values.get(m[2], "store")), safe=""), rule)


def _answers_a_clear_404(response, url):
    assert response.status_code == 404, (url, response.status_code)
    if url.startswith("/api/v1/"):
        assert response.get_json()["error"]["status"] == 404, url
    else:
        assert response.mimetype == "text/html", url
        assert "没有找到这个页面" in response.get_data(as_text=True), url


ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def test_every_number_in_a_path_is_ascii_digits_up_to_max_int(app, admin):
    """From the URL map: "٣" is not 3 and 300 digits are no id (SQLite cannot even compare
    them: OverflowError), so any of BAD in place of an <int:…> is a 404, for every method.
    "٣" becomes the id of a row that exists, written in Arabic-Indic digits, so a converter
    that read it would find the row."""
    client, api_headers, group = admin
    ids = {"group_id": group.id, "token_id": ApiToken.get().id}
    checked = set()
    for rule in app.url_map.iter_rules():
        for name in INT_PARAM.findall(rule.rule):
            existing = str(ids.get(name, 1)).translate(ARABIC_INDIC)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                for bad in (existing if value == "٣" else value for value in BAD):
                    url = _url(rule.rule, {"group_id": group.id, name: bad})
                    response = client.open(url, method=method, headers=api_headers)
                    _answers_a_clear_404(response, url)
                checked.add((rule.endpoint, name))
    # The map has them all, so the list here only proves the walk found some of each kind.
    assert {
        ("livecode.group_qr", "group_id"),
        ("console.update_group", "group_id"),
        ("accounts.revoke_token", "token_id"),
        ("api.update_group", "group_id"),
    } <= checked
    assert stored_group(group.id).sent == 0 and ApiToken.get().revoked_at is None
    assert not AuditEntry.select().where(~AuditEntry.action.startswith("staff.")).exists()


def test_a_number_up_to_max_int_is_looked_up_and_one_past_it_matches_no_route(app, admin):
    client, api_headers, _ = admin
    for number in (MAX_INT, MAX_INT + 1, 10**18 - 1):
        url = f"/api/v1/campaigns/store/groups/{number}"
        response = client.patch(url, json={"sent": 1}, headers=api_headers)
        assert response.status_code == 404
        # At MAX_INT the route matched and the API looked for the group; past it, no route did.
        expected = "No group" if number <= MAX_INT else "No such resource"
        assert expected in response.get_json()["error"]["message"], number


@pytest.mark.parametrize(
    ("endpoint", "name"), [(endpoint, name) for endpoint in NUMBERS for name in NUMBERS[endpoint]]
)
def test_every_number_in_a_query_or_form_answers_a_clear_4xx(app, admin, endpoint, name):
    client, api_headers, group = admin
    where, fields = NUMBERS[endpoint][name]
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    event_id = Activity.get(Activity.kind == "event").id
    url = _url(rule.rule, {"group_id": group.id, "event_id": event_id})
    changes = AuditEntry.select().where(~AuditEntry.action.startswith("staff."))
    for bad in BAD:
        before = changes.count()
        if where == QUERY:
            response = client.get(url, query_string={**fields, name: bad}, headers=api_headers)
        else:
            response = client.post(url, data={**fields, name: bad})
        if bad in TAKEN.get((endpoint, name), ()):
            assert response.status_code == 302, (name, bad)
            continue
        shown = bad if len(bad) <= 20 else bad[:20] + "…"
        if "\x00" in bad:  # refused by the gate for all text (web/inputs.py), naming the field
            assert response.status_code == (422 if url.startswith("/api/v1/") else 400), bad
            assert f"{name}" in response.get_data(as_text=True), bad
        elif url.startswith("/api/v1/"):
            assert response.status_code == 422, (name, bad)
            message = response.get_json()["error"]["message"]
            assert message.startswith(f"'{name}' must be a whole number from "), (name, bad)
        else:
            assert response.status_code == 400, (name, bad)
            assert response.mimetype == "text/html"
            page = response.get_data(as_text=True)
            # Names the field in Chinese, says what to type and what it got.
            assert re.search(f"「[^」]+」要填 [^（]+（收到的是「{re.escape(shown)}」）", page), bad
        assert changes.count() == before, (name, bad)  # refused: nothing stored


def _numbers_read_by_each_function() -> dict[tuple[str, str], set[str]]:
    """(module, function) → the names of the numbers it reads through web.params, itself or
    by calling a function of its own module or one it imports by name."""
    readers = {"query_number": 0, "form_number": 0, "number_in": 1}  # → the name's position
    reads, calls = {}, {}
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if module == "miniapp_api.web.params":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {
            alias.asname or alias.name: node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("miniapp_api")
            for alias in node.names
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef):
                continue
            key = (module, node.name)
            reads[key], calls[key] = set(), set()
            for call in ast.walk(node):
                if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
                    continue
                called = call.func.id
                if called in readers:
                    argument = call.args[readers[called]]
                    reads[key].add(argument.value if isinstance(argument, ast.Constant) else "?")
                else:
                    calls[key].add((imported.get(called, module), called))
    changed = True
    while changed:
        changed = False
        for key, callees in calls.items():
            for callee in callees:
                if not reads.get(callee, set()) <= reads[key]:
                    reads[key] |= reads[callee]
                    changed = True
    return reads


def test_every_number_a_view_reads_is_listed(app):
    reads = _numbers_read_by_each_function()
    found = {}
    for endpoint, view in app.view_functions.items():
        view = inspect.unwrap(view)
        names = reads.get((view.__module__, view.__name__), set())
        if names:
            found[endpoint] = names
    assert "?" not in set().union(*found.values()), "read numbers by a literal name"
    assert found == {endpoint: set(numbers) for endpoint, numbers in NUMBERS.items()}


def test_every_numeric_field_of_the_console_is_listed():
    listed = {name for numbers in NUMBERS.values() for name in numbers}
    fields = set()
    for template in (PACKAGE / "templates").rglob("*.html"):
        fields |= set(re.findall(r'name="(\w+)" inputmode="numeric"', template.read_text()))
    assert fields and fields <= listed


def test_no_view_parses_a_number_by_itself():
    """int(), .isdigit() and type=int in a view would bypass web.params."""
    views = [*PACKAGE.glob("*/views.py"), *PACKAGE.glob("console/views/*.py")]
    assert len(views) >= 12
    for path in views:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                assert not (isinstance(func, ast.Name) and func.id == "int"), path
                assert not (isinstance(func, ast.Attribute) and func.attr == "isdigit"), path
                assert not any(k.arg == "type" for k in node.keywords), path
