"""Event tickets for members: /t/<token>, and the door poster's page."""

from miniapp_api.checkins.blueprint import bp  # noqa: F401
