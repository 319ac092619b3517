"""People's rights in the console, for admins: look a person up, download what is held about
them, erase them after a confirmation page. Every step is a POST: a phone number never goes
into a URL (nor the access log), and opening a link never changes anything. The forms after
the lookup carry the person's non-personal reference (row ids), not what was typed."""

import json

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from miniapp_api.accounts.access import current_staff, staff_required
from miniapp_api.i18n import _
from miniapp_api.models import Campaign, Customer, Member
from miniapp_api.people import rules
from miniapp_api.visitors import phone_hash

bp = Blueprint("people", __name__, url_prefix="/console/people")


def _confirm_words() -> set[str]:
    """What an admin types to confirm: the word in their language, or the Chinese one."""
    return {str(_("删除")), "删除"}  # i18n: content


@bp.get("/")
@staff_required("admin")
def lookup():
    return render_template("people/lookup.html", form={}, error=None)


@bp.post("/")
@staff_required("admin")
def find():
    key = current_app.config["HASH_KEY"]
    by = request.form.get("by", "")
    try:
        person = rules.find(by, request.form.get("value"), lambda number: phone_hash(key, number))
    except rules.PersonError as error:
        # What was typed goes back into the form, except a phone number.
        form = {"by": by, "value": "" if by == "phone" else request.form.get("value", "")}
        status = 404 if isinstance(error, rules.NotFound) else 400
        return render_template("people/lookup.html", form=form, error=str(error)), status
    return _person_page(person)


def _person_page(person: rules.Person, template="people/person.html", error=None, status=200):
    members = (
        Member.select(Member, Campaign)
        .join(Campaign)
        .where(Member.id.in_(list(person.member_ids)))
        .order_by(Member.id)
    )
    customers = Customer.select().where(Customer.id.in_(list(person.customer_ids)))
    page = render_template(
        template,
        person=person,
        members=list(members),
        customers=list(customers.order_by(Customer.id)),
        plan=rules.plan(person),
        labels=rules.TABLE_LABELS,
        error=error,
    )
    return page, status


def _person_or_redirect():
    try:
        return rules.by_reference(request.form.get("person")), None
    except rules.PersonError as error:
        flash(str(error), "error")
        return None, redirect(url_for("people.lookup"))


@bp.post("/export")
@staff_required("admin")
def export():
    person, elsewhere = _person_or_redirect()
    if person is None:
        return elsewhere
    data = rules.export(person)
    rules.record(
        current_staff(),
        "person.export",
        person,
        rows=sum(len(rows) for rows in data["tables"].values()),
        via="console",
    )
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True),
        mimetype="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="person-{person.reference}.json"',
            "Cache-Control": "no-store",
        },
    )


@bp.post("/confirm")
@staff_required("admin")
def confirm():
    person, elsewhere = _person_or_redirect()
    if person is None:
        return elsewhere
    return _person_page(person, "people/confirm.html")


@bp.post("/erase")
@staff_required("admin")
def erase():
    person, elsewhere = _person_or_redirect()
    if person is None:
        return elsewhere
    if request.form.get("confirm", "").strip() not in _confirm_words():
        error = _("没有删除：请在框里输入「%(word)s」确认。", word=_("删除"))
        return _person_page(person, "people/confirm.html", error=error, status=400)
    config = current_app.config
    done = rules.erase(
        person,
        current_staff(),
        poster_cache=config["POSTER_CACHE_DIR"],
        public_url=config["PUBLIC_URL"],
        via="console",
    )
    flash(
        _(
            "已删除 person:%(reference)s 的数据：%(removed)s 行删除，%(kept)s 行匿名保留。",
            reference=person.reference,
            removed=sum(done.removed.values()),
            kept=sum(done.anonymised.values()),
        ),
        "info",
    )
    return redirect(url_for("people.lookup"))
