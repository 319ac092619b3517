"""Rendered pages shared by every visitor who would get the same page, kept per process.

A live code's join page is the same for everyone sent to the same group of the same campaign;
rendering it (Jinja, the Markdown of the rules) cost more than counting the scan. The key is
everything the page is made of, the rows' fields themselves rather than a version number kept
beside them: a change to the campaign or the group makes a new key, so no page is ever stale,
and no other code path has to remember to bump anything. Old keys fall out (LRU, bounded).

A visitor's own form token is not part of a shared page: the page holds a slot, filled for
each response. A form whose token lives in the session (Flask-WTF's csrf_token()) cannot be
shared at all, so such a page is rendered for its visitor alone.
"""

import secrets
import threading
from collections import OrderedDict

from flask import current_app, render_template, request

from miniapp_api.i18n import current_locale
from miniapp_api.web.memberform import member_form_token

SIZE = 512
# Unguessable, so no campaign text can contain it and be mistaken for the slot.
TOKEN_SLOT = f"qb-token-slot-{secrets.token_hex(16)}"


class Unshareable(Exception):
    """The page asked for something that belongs to one visitor alone."""


class PageCache:
    def __init__(self, size: int = SIZE):
        self.size = size
        self.pages: OrderedDict[tuple, str] = OrderedDict()
        self.lock = threading.Lock()
        self.renders = 0  # pages rendered for the cache: what the tests count

    def get(self, key: tuple) -> str | None:
        with self.lock:
            page = self.pages.get(key)
            if page is not None:
                self.pages.move_to_end(key)
            return page

    def put(self, key: tuple, page: str) -> None:
        with self.lock:
            self.renders += 1
            self.pages[key] = page
            self.pages.move_to_end(key)
            while len(self.pages) > self.size:
                self.pages.popitem(last=False)


def _session_token():
    raise Unshareable("a session-bound CSRF token")


def render_shared(key: tuple, template: str, **context) -> str:
    """render_template(template, **context), from the cache when `key` (with the template,
    the page's language and the app's mount point) was rendered before. `key` must hold every
    value the context is made of."""
    cache: PageCache = current_app.extensions["page_cache"]
    full_key = (template, current_locale(), request.script_root, key)
    page = cache.get(full_key)
    if page is None:
        try:
            page = render_template(
                template,
                member_form_token=lambda: TOKEN_SLOT,
                csrf_token=_session_token,
                **context,
            )
        except Unshareable:
            return render_template(template, **context)
        cache.put(full_key, page)
    if TOKEN_SLOT in page:
        page = page.replace(TOKEN_SLOT, member_form_token())
    return page


def register(app):
    app.extensions["page_cache"] = PageCache()
