"""Qunbook's mini-app service: the live tools the handbook's playbooks call for.

This module imports nothing at the top, so importing any part of the package (the command
line for `qunbook --help`, the rules in a script) does not pay for Flask; the factory
imports the web app's parts when it builds one.
"""


def create_app(test_config=None):
    from flask import Flask

    from miniapp_api.config import configure, instance_dir, trust_proxies

    app = Flask(__name__, instance_path=instance_dir())
    configure(app, test_config)
    register_database(app)
    register_web(app)
    register_capabilities(app)
    register_commands(app)
    trust_proxies(app)  # the outermost layer: everything inside sees the client's address
    return app


def register_database(app):
    from miniapp_api.db import db, open_database
    from miniapp_api.web import schema

    db.initialize(open_database(app.config["DATABASE_URL"]))

    @app.before_request
    def connect():
        db.connect(reuse_if_open=True)

    @app.teardown_request
    def close(exc):
        # Hands the connection back to the pool; teardown runs even when a view failed.
        if not db.is_closed():
            db.close()

    schema.register(app)  # after connect: it asks the database for its version


def register_web(app):
    """Server-side sessions, CSRF tokens on every form, the page's language, security
    headers, friendly errors, numbers in paths read by the bounded `<int:…>` converter, every
    text checked and in NFC, WeChat's way back to members' pages, archived campaigns' pages
    closed."""
    from miniapp_api import markdown_text
    from miniapp_api.web import (
        accesslog,
        archived,
        csrf,
        errors,
        headers,
        inputs,
        language,
        localtime,
        memberform,
        pagecache,
        params,
        proxies,
        wechat,
    )
    from miniapp_api.web.sessions import DatabaseSessionInterface

    app.session_interface = DatabaseSessionInterface()
    csrf.UnsafeMethodsCSRFProtect(app)
    language.register(app)  # Chinese, or English when the staff member or browser asks
    headers.register(app)
    errors.register(app)
    markdown_text.register(app)
    localtime.register(app)
    memberform.register(app)  # the member forms' token, signed for the visitor: no session row
    pagecache.register(app)  # pages many visitors share, rendered once per process
    params.register(app)
    proxies.register(app)  # X-Forwarded-For with no proxy trusted: warned once, in 需要处理
    accesslog.register(app)  # the keyed hash of the address, for the server's access log
    inputs.register(app)
    archived.register(app)  # an archived campaign's public pages: one friendly page
    app.register_blueprint(wechat.bp)  # /wx/back: WeChat web authorisation's callback
    app.json.ensure_ascii = False  # Chinese stays readable in the API's answers


def register_capabilities(app):
    """One blueprint per capability."""
    from miniapp_api.accounts import views as accounts
    from miniapp_api.api import views as api
    from miniapp_api.checkins import views as checkins
    from miniapp_api.console import views as console
    from miniapp_api.handbook import views as handbook
    from miniapp_api.invitations import views as invitations
    from miniapp_api.livecode import views as livecode
    from miniapp_api.people import views as people
    from miniapp_api.posters import views as posters
    from miniapp_api.referrals import views as referrals
    from miniapp_api.web import memberform

    app.register_blueprint(livecode.bp)  # /j: the live code a poster points at
    app.wsgi_app = livecode.ScanLane(app, app.wsgi_app)  # its busiest request, lean
    app.register_blueprint(posters.bp)  # /posters: channel posters
    app.register_blueprint(referrals.bp)  # /r: members' sign-up, poster, progress
    app.register_blueprint(invitations.bp)  # /vip: personal VIP invitations
    app.register_blueprint(checkins.bp)  # /c: challenges (打卡); /t: event tickets
    app.register_blueprint(accounts.bp)  # /console/login, account, API tokens
    app.register_blueprint(console.bp)  # /console: the staff console
    app.register_blueprint(people.bp)  # /console/people: a person's data, export and erase
    app.register_blueprint(handbook.bp)  # /handbook: the built handbook
    # The API authenticates by bearer token, never by cookie, so CSRF cannot reach it.
    app.extensions["csrf"].exempt(api.bp)
    app.register_blueprint(api.bp)  # /api/v1
    # The forms visitors who are not staff see check the token signed for the visitor
    # (web/memberform.py), so that no visitor gets a session row.
    memberform.exempt_member_forms(app)


def register_commands(app):
    from miniapp_api import cli

    for command in cli.ALL:
        app.cli.add_command(command)
