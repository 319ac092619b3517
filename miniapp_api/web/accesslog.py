"""What the access log may say about a request: the keyed hash of the client's address (the
one the app uses, behind a trusted proxy the forwarded one), never the address itself.

The app puts the hash in the request's WSGI environ, where the server's logger
(web/worker.py's AccessLogger) reads it once the response is sent: the logger needs neither
the HASH_KEY nor the proxy settings.
"""

from miniapp_api.web.visitor import ip_hash


def register(app):
    @app.before_request
    def hash_for_the_log():
        ip_hash()  # kept in request.environ[ADDRESS_HASH]
