"""The app under benchmark, with a bare Flask app mounted beside it as the baseline.

The baseline is a separate Flask app (no database hooks, no templates), so the ratio shows
what the scan (or check-in) endpoint costs over the least a Flask request can cost on the same
server.
"""

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from miniapp_api import create_app

bare = Flask("bare")


@bare.get("/")
def ok():
    return "ok"


@bare.post("/")
def posted():
    return "ok"  # the check-in benchmark's baseline: a POST that reads its form and answers


qunbook = create_app()
qunbook.wsgi_app = DispatcherMiddleware(qunbook.wsgi_app, {"/_bare": bare})
app = qunbook
