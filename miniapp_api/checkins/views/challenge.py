"""A challenge's pages for members: /c/<campaign>."""

from miniapp_api.checkins.blueprint import bp  # noqa: F401
