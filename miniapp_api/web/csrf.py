"""Flask-WTF's CSRF protection on every form, asked only about requests it can refuse."""

from flask import current_app, request
from flask_wtf.csrf import CSRFProtect


class UnsafeMethodsCSRFProtect(CSRFProtect):
    def protect(self, apply_exemptions=False):
        # A GET is never checked: Flask-WTF would look up the view's exemptions first.
        if request.method not in current_app.config["WTF_CSRF_METHODS"]:
            return
        super().protect(apply_exemptions)
