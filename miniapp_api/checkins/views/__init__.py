"""Check-in pages for members: the challenge (/c/<campaign>: today's task, the 打卡 button,
streak, calendar, leaderboard, wall, share card) and event tickets (/t/<token>, the door
poster's page)."""

from miniapp_api.checkins.blueprint import bp
from miniapp_api.checkins.views import (  # noqa: F401  (each module adds its pages to bp)
    challenge,
    tickets,
)

__all__ = ["bp"]
