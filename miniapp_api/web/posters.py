"""Serving a rendered poster: its bytes, with its cache key as the ETag."""

from flask import Response, request

from miniapp_api.posters.rules import Poster


def poster_response(poster: Poster, mimetype: str, cache_control: str) -> Response:
    """A browser revalidating the copy it holds gets 304 Not Modified for as long as nothing
    the poster shows has changed (the key is a hash of what it shows)."""
    response = Response(poster.data, mimetype=mimetype, headers={"Cache-Control": cache_control})
    response.set_etag(poster.key)
    return response.make_conditional(request)
