"""The staff console at /console: campaigns and their groups, dashboards, referrals, VIP
invitations, check-ins, events with their doors and tickets, and the audit log. Every view
needs a logged-in staff member."""

from miniapp_api.console.blueprint import bp
from miniapp_api.console.views import (  # noqa: F401  (each module adds its pages to bp)
    audit,
    campaigns,
    checkins,
    dashboard,
    events,
    invitations,
    referrals,
)

__all__ = ["bp"]
