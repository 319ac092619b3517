"""The check-in pages' blueprint, on its own so that the challenge pages and the ticket and
door pages can each add their views to it without importing the other."""

from flask import Blueprint

bp = Blueprint("checkins", __name__)
