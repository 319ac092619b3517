"""A campaign's referral programme in the console: settings and tiers, the referrals with
their status and reason, held ones to approve or reject, rewards to mark redeemed, CSV."""

import re

from flask import abort, flash, redirect, render_template, request, url_for
from peewee import JOIN, fn

from miniapp_api.accounts.access import can_edit, current_staff, editor_required, staff_required
from miniapp_api.accounts.rules import audit
from miniapp_api.console.blueprint import bp
from miniapp_api.console.pagination import paginate
from miniapp_api.console.views.campaigns import campaign_or_404, page_number, sheet_response
from miniapp_api.i18n import _, lazy_gettext
from miniapp_api.models import Member, Referral, Reward
from miniapp_api.numbers import whole_number
from miniapp_api.referrals import rules
from miniapp_api.web.localtime import local_moment
from miniapp_api.web.params import form_number

STATUS_LABELS = {
    "counted": lazy_gettext("已计数"),
    "held": lazy_gettext("待确认"),
    "pending": lazy_gettext("待进群"),
    "refused": lazy_gettext("不计数"),
    "rejected": lazy_gettext("已拒绝"),
}
# [0-9], not \d: \d takes "٣" and other scripts' digits, which int() reads as another number.
TIER_LINE = re.compile(
    r"^\s*([0-9]{1,5})\s*(?:人|位)?\s*(?:[:：→>=-]+)?\s*(\S.*?)\s*$"  # i18n: content
)


def _program_or_404(campaign):
    program = rules.program_of(campaign.id)
    if program is None:
        abort(404)
    return program


def _referrals_query(campaign, status: str | None):
    friend = Member.alias("friend")
    query = (
        Referral.select(
            Referral, Member.nickname, Member.code, friend.nickname.alias("friend_name")
        )
        .join(Member, on=(Referral.referrer == Member.id))
        .switch(Referral)
        .join(friend, JOIN.LEFT_OUTER, on=(Referral.friend == friend.id))
        .where((Referral.campaign == campaign.id) & (Referral.level == 1))
        .order_by(Referral.created_at.desc(), Referral.id.desc())
    )
    return query.where(Referral.status == status) if status in STATUS_LABELS else query


@bp.get("/campaigns/<slug>/referrals")
@staff_required()
def referrals(slug):
    campaign = campaign_or_404(slug)
    program = rules.program_of(campaign.id)
    status = request.args.get("status")
    number = page_number()
    counts = {}
    page = rewards = None
    if program:
        counts = dict(
            Referral.select(Referral.status, fn.COUNT(Referral.id))
            .where((Referral.campaign == campaign.id) & (Referral.level == 1))
            .group_by(Referral.status)
            .tuples()
        )
        page = paginate(_referrals_query(campaign, status).objects(), number)
        rewards = list(
            Reward.select(Reward, Member.nickname)
            .join(Member)
            .where(Reward.campaign == campaign.id)
            .order_by(Reward.issued_at.desc(), Reward.id.desc())
            .limit(100)
            .objects()
        )
    return render_template(
        "console/campaigns/referrals.html",
        campaign=campaign,
        program=program,
        tiers=rules.tiers_of(campaign.id) if program else [],
        counts=counts,
        status=status if status in STATUS_LABELS else None,
        page=page,
        rewards=rewards,
        labels=STATUS_LABELS,
        reasons=rules.REASONS,
        member_count=campaign.members.count() if program else 0,
    )


def parse_tiers(text: str) -> list[tuple[int, str]]:
    """「3 9 折券」 or 「10 位：帆布袋」, one tier a line."""
    tiers = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        match = TIER_LINE.match(line)
        if not match:
            raise rules.ReferralError(
                _(
                    "第 %(number)s 行「%(line)s」看不懂：每行写人数和奖品，例如「3 9 折券」。",
                    number=number,
                    line=line.strip(),
                )
            )
        tiers.append((whole_number(match[1], 0, 99999), match[2]))
    return tiers


@bp.post("/campaigns/<slug>/referrals/settings")
@editor_required
def referral_settings(slug):
    campaign = campaign_or_404(slug)
    form = request.form
    max_per_hour = form_number("max_per_hour", 10, 1, 10000, label=_("每人每小时最多计入"))
    max_per_day = form_number("max_per_day", 20, 1, 10000, label=_("每人每天最多计入"))
    leaderboard_size = form_number("leaderboard_size", 10, 0, 10000, label=_("排行榜显示前几名"))
    try:
        tiers = parse_tiers(form.get("tiers", ""))
        program = rules.set_up_program(
            campaign,
            tiers=tiers,
            count_on=form.get("count_on", "signup"),
            max_per_hour=max_per_hour,
            max_per_day=max_per_day,
            leaderboard_size=leaderboard_size,
            friend_reward=form.get("friend_reward", ""),
        )
    except rules.ReferralError as error:
        flash(_("没有保存：%(error)s", error=error), "error")
    else:
        audit(
            current_staff(),
            "referral.settings",
            f"campaign:{campaign.slug}",
            count_on=program.count_on,
            max_per_hour=program.max_per_hour,
            max_per_day=program.max_per_day,
            leaderboard_size=program.leaderboard_size,
            friend_reward=program.friend_reward,
            tiers=tiers,
        )
        flash(_("推荐设置已保存。"), "info")
    return redirect(url_for("console.referrals", slug=slug))


@bp.post("/campaigns/<slug>/referrals/<int:referral_id>/decide")
@editor_required
def decide_referral(slug, referral_id):
    campaign = campaign_or_404(slug)
    _program_or_404(campaign)
    approve = request.form.get("decision") == "approve"
    row = Referral.get_or_none((Referral.id == referral_id) & (Referral.campaign == campaign.id))
    if row is None:
        abort(404)
    changed = rules.decide(row.id, approve, current_staff())
    if changed:
        audit(
            current_staff(),
            "referral.approve" if approve else "referral.reject",
            f"referral:{row.id}",
            campaign=campaign.slug,
        )
        flash(_("已计入。") if approve else _("已拒绝，这条推荐不计数。"), "info")
    else:
        flash(_("这条推荐已经处理过了，没有再改动。"), "info")
    return redirect(url_for("console.referrals", slug=slug, status="held"))


@bp.post("/campaigns/<slug>/rewards/<int:reward_id>/redeem")
@editor_required
def redeem_reward(slug, reward_id):
    campaign = campaign_or_404(slug)
    _program_or_404(campaign)
    hand_over(campaign, reward_id)
    return redirect(url_for("console.referrals", slug=slug) + "#rewards")


def hand_over(campaign, reward_id: int) -> None:
    """Mark one of the campaign's rewards redeemed (a referral tier's or a finished
    challenge's), audit it and say so; a second click changes nothing; 404 if not theirs."""
    try:
        changed = rules.redeem(reward_id, campaign.id, current_staff())
    except rules.ReferralError:
        abort(404)
    if changed:
        audit(current_staff(), "reward.redeem", f"reward:{reward_id}", campaign=campaign.slug)
        flash(_("已标记为兑换。"), "info")
    else:
        flash(_("这份奖励之前已经兑换过了。"), "info")


@bp.get("/campaigns/<slug>/referrals.csv", defaults={"kind": "csv"})
@bp.get("/campaigns/<slug>/referrals.xlsx", defaults={"kind": "xlsx"})
@staff_required()
def export_referrals(slug, kind):
    """Every referral (both levels). Nicknames only: no visitor keys, IP or phone hashes."""
    campaign = campaign_or_404(slug)
    _program_or_404(campaign)
    friend = Member.alias("friend")
    rows = (
        Referral.select(
            Referral.created_at,
            Member.nickname,
            Member.code,
            friend.nickname,
            Referral.level,
            Referral.status,
            Referral.reason,
        )
        .join(Member, on=(Referral.referrer == Member.id))
        .switch(Referral)
        .join(friend, JOIN.LEFT_OUTER, on=(Referral.friend == friend.id))
        .where(Referral.campaign == campaign.id)
        .order_by(Referral.created_at, Referral.id)
        .tuples()
        .iterator()
    )
    lines = (
        (
            local_moment(at),
            referrer,
            code,
            friend_name or "",
            level,
            str(STATUS_LABELS.get(status, status)),
            str(rules.REASONS.get(reason, reason)),
        )
        for at, referrer, code, friend_name, level, status, reason in rows
    )
    header = [_("时间"), _("推荐人"), _("推荐码"), _("朋友"), _("级别"), _("状态"), _("原因")]
    return sheet_response(f"{campaign.slug}-referrals", kind, header, lines)


@bp.get("/campaigns/<slug>/rewards.csv", defaults={"kind": "csv"})
@bp.get("/campaigns/<slug>/rewards.xlsx", defaults={"kind": "xlsx"})
@staff_required()
def export_rewards(slug, kind):
    campaign = campaign_or_404(slug)
    _program_or_404(campaign)
    rows = (
        Reward.select(Reward, Member.nickname)
        .join(Member)
        .where(Reward.campaign == campaign.id)
        .order_by(Reward.issued_at, Reward.id)
        .objects()
    )
    # A reward code is what a member shows to be handed the reward: trainers, who only look,
    # do not get it (they could pass it on), as they do not get VIP invitations' links.
    codes = can_edit()
    lines = (
        (
            local_moment(r.issued_at),
            r.nickname,
            r.name,
            *([r.code] if codes else []),
            local_moment(r.redeemed_at),
        )
        for r in rows
    )
    header = [_("发放时间"), _("会员"), _("奖励"), *([_("兑换码")] if codes else []), _("兑换时间")]
    return sheet_response(f"{campaign.slug}-rewards", kind, header, lines)
