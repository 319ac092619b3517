"""The JSON API at /api/v1 (placeholder: being written now, issue 4)."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
