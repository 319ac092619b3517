"""The console's blueprint, on its own so that each page module can add its views to it
without importing the others."""

from flask import Blueprint

from miniapp_api.accounts.access import template_helpers

bp = Blueprint("console", __name__, url_prefix="/console")
bp.app_context_processor(template_helpers)
