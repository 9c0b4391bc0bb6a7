"""Serving a file of the media store: whole, by byte ranges, or 304 when unchanged.

Werkzeug does the HTTP: ``make_conditional`` parses Range and If-None-Match and answers 206
with Content-Range, 416 for a range outside the file, or 304; its range wrapper seeks the
store's file to the range's start and reads only what the range covers. The database store's
file fetches one chunk per read (kap/services/media/database.py), so a seek into a 50 MB
track reads a chunk, not the track.
"""

from __future__ import annotations

from flask import Response, abort, current_app, make_response, request
from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.wsgi import FileWrapper

from kap.services.media import MediaMissing, media_store
from kap.web.errors import error_response

#: Bytes handed to the server per iteration of the body.
BLOCK_BYTES = 64 * 1024


def media_response(name: str, *, mimetype: str, etag: str) -> Response:
    """The stored file ``name`` as the answer to this request, seekable and revalidatable.

    Werkzeug's own FileWrapper, not the server's ``wsgi.file_wrapper``: it can seek, so a range
    starts where it should instead of being read from the file's beginning.
    """
    store = media_store()
    try:
        size = store.size(name)
        body = store.open(name)
    except MediaMissing:
        # A row whose bytes are gone (a restore without its media): nothing to play.
        current_app.logger.error("media file missing from the store: %s", name)
        abort(404)
    try:
        response: Response = current_app.response_class(
            FileWrapper(body, BLOCK_BYTES), mimetype=mimetype, direct_passthrough=True
        )
        response.content_length = size
        response.set_etag(etag)
        return response.make_conditional(request, accept_ranges=True, complete_length=size)
    except RequestedRangeNotSatisfiable:
        body.close()
        # The house's error answer, with the length the player should have asked within
        # (the generic HTTP error handler would drop werkzeug's Content-Range).
        return make_response(error_response(416, headers={"Content-Range": f"bytes */{size}"}))
    except BaseException:
        body.close()
        raise
