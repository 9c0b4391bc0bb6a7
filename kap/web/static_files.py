"""Speed: compressed responses, long-lived fingerprinted static files (create_app turns it on).

Compression, in every profile: pages and API answers (HTML, JSON) go out as zstd, brotli or
gzip at fast levels (Flask-Compress), whichever the browser accepts; static CSS, JavaScript
and SVG are compressed once per file version at brotli's best level (or gzip -9) and kept in
memory, since browsers then cache them for a year.

Fingerprints: with ``STATIC_FINGERPRINT`` on (by default in production only: development and
tests keep plain URLs), ``url_for('static', filename='js/lib/api.js')`` gives
``/static/v-<digest>/js/lib/api.js``, where the digest covers every file under ``static/``. The
digest is a folder, not a query string, so an ES module's relative ``import './x.js'`` and a
stylesheet's relative ``url()`` inherit it: the whole tree changes URL together and every
file can be cached for a year (``Cache-Control: public, max-age=31536000, immutable``, with
no validators: it is never revalidated). Plain ``/static/...`` URLs keep working and are
revalidated (ETag), and a stale digest (an old page after a deploy) gets the current file
without the long cache. The endpoint stays ``static``, so session loading and the no-store
rule skip it as before. The service worker's version includes the digest (kap/pwa/views.py).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

import brotli
from flask import Flask, Response, current_app, request, send_from_directory
from flask_compress import Compress
from werkzeug.security import safe_join

#: What "forever" means for a fingerprinted file (one year, the longest value caches honour).
IMMUTABLE = "public, max-age=31536000, immutable"
#: ``v-`` and 12 hex digits, then the real path.
FINGERPRINTED = re.compile(r"^v-([0-9a-f]{12})/(.+)$")
#: How long a computed digest is trusted before the folder is looked at again (seconds).
RECHECK_SECONDS = 2.0
#: What is worth compressing (the rest, PNG icons and audio, is compressed already).
COMPRESSIBLE_TYPES = (
    "text/html",
    "text/css",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/manifest+json",
    "image/svg+xml",
    "text/plain",
)
#: Below this many bytes compression saves less than its own framing (Flask-Compress's default).
COMPRESS_MIN_SIZE = 500
#: A static file's encodings, at the best levels: each is computed once per file version
#: (here in memory, or at release by kap/web/static_release.py for nginx) and then cached by
#: browsers for a year, so the extra CPU buys a smaller first visit for everyone.
STATIC_ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "br": lambda data: brotli.compress(data, quality=11),
    "gzip": lambda data: gzip.compress(data, compresslevel=9, mtime=0),
}


class StaticDigest:
    """The digest of a static folder, recomputed only when a file's size or mtime changes."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)
        self._key: tuple | None = None
        self._digest = ""
        self._checked = float("-inf")

    def _files(self) -> list[Path]:
        found = []
        for root, dirs, names in os.walk(self.folder):
            dirs.sort()
            found += [Path(root) / name for name in sorted(names)]
        return found

    def value(self) -> str:
        """Twelve hex digits that change whenever any static file does."""
        now = time.monotonic()
        if now - self._checked < RECHECK_SECONDS:
            return self._digest
        self._checked = now
        files = self._files()
        key = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)
        if key != self._key:
            digest = hashlib.sha256()
            for path in files:
                digest.update(str(path.relative_to(self.folder)).encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
            self._key, self._digest = key, digest.hexdigest()[:12]
        return self._digest


def static_url_filename(filename: str) -> str:
    """``filename`` behind the current digest folder (unchanged if it already has one)."""
    if FINGERPRINTED.match(filename):
        return filename
    return f"v-{current_app.extensions['kap_static_digest'].value()}/{filename}"


def serve_static(filename: str) -> Response:
    """The ``static`` endpoint: a fingerprinted path is cached for good, a plain one revalidated."""
    match = FINGERPRINTED.match(filename)
    current = False
    if match:
        current = match.group(1) == current_app.extensions["kap_static_digest"].value()
        filename = match.group(2)
    folder = current_app.static_folder or ""
    # Whole files only (no Range): they are small, and a compressed body has no byte ranges.
    response = send_from_directory(folder, filename, max_age=None, conditional=False)
    response.headers["Cache-Control"] = IMMUTABLE if current else "no-cache"
    for header in ("Expires", "Content-Disposition"):  # bytes on every file, saying nothing
        response.headers.pop(header, None)
    response.direct_passthrough = False
    response.make_sequence()
    _compress_static(response, safe_join(folder, filename) or "")
    if current:
        # Never revalidated (immutable), so validators would only add bytes to every file.
        for header in ("ETag", "Last-Modified"):
            response.headers.pop(header, None)
        return response
    return response.make_conditional(request)


def _compress_static(response: Response, path: str) -> None:
    """Brotli at its best level (or gzip -9), computed once per file version and kept.

    Static files are compressed once and cached by browsers for a year, so spending more
    CPU than for a page (Flask-Compress's fast levels) makes every first visit smaller.
    """
    if response.mimetype not in current_app.config["COMPRESS_MIMETYPES"]:
        return
    if (response.content_length or 0) < current_app.config["COMPRESS_MIN_SIZE"]:
        return
    accepted = request.accept_encodings
    encoding = "br" if accepted["br"] else "gzip" if accepted["gzip"] else None
    response.vary.add("Accept-Encoding")
    if encoding is None:
        return
    stat = os.stat(path)
    key = (path, stat.st_mtime_ns, stat.st_size, encoding)
    cache = current_app.extensions["kap_static_compressed"]
    if key not in cache:
        cache[key] = STATIC_ENCODERS[encoding](response.get_data())
    etag, _ = response.get_etag()
    response.set_data(cache[key])
    response.headers["Content-Encoding"] = encoding  # Flask-Compress leaves it alone
    if etag:
        response.set_etag(f"{etag}-{encoding}")


def _compress_hook(compress: Compress, min_size: int) -> Callable[[Response], Response]:
    """Flask-Compress's after-request hook, skipped for a body too small to be compressed.

    Its hook chooses an algorithm from Accept-Encoding before it looks at the size, which is a
    third of a small answer's cost (a 204, a redirect, an empty JSON list) spent to do nothing.
    Such an answer gets only what the hook would have added to it: ``Vary: Accept-Encoding``.
    """

    def compress_response(response: Response) -> Response:
        length = response.content_length
        if response.is_streamed or length is None or length >= min_size:
            return compress.after_request(response)
        # getlist, not get: werkzeug answers a missing header with an exception, and most
        # answers have no Vary of their own.
        vary = ", ".join(response.headers.getlist("Vary"))
        if not vary:
            response.headers.add("Vary", "Accept-Encoding")
        elif "accept-encoding" not in vary.lower():
            response.headers["Vary"] = f"{vary}, Accept-Encoding"
        return response

    return compress_response


def init_app(app: Flask) -> None:
    """Turn on compression and fingerprinted static URLs for ``app`` (once)."""
    if "kap_perf" in app.extensions:
        return
    app.extensions["kap_perf"] = True
    app.config.setdefault("STATIC_FINGERPRINT", app.config.get("ENV_NAME") == "production")
    app.config.setdefault("COMPRESS_MIMETYPES", list(COMPRESSIBLE_TYPES))
    app.config.setdefault("COMPRESS_MIN_SIZE", COMPRESS_MIN_SIZE)
    # Flask-Compress's hook is registered here, behind a size check of our own.
    app.config.setdefault("COMPRESS_REGISTER", False)
    compress = app.extensions["kap_compress"] = Compress(app)  # one per app: its settings
    if not app.config["COMPRESS_REGISTER"]:
        app.after_request(_compress_hook(compress, app.config["COMPRESS_MIN_SIZE"]))
    app.extensions["kap_static_digest"] = StaticDigest(app.static_folder or "")
    app.extensions["kap_static_compressed"] = {}
    app.view_functions["static"] = serve_static

    @app.url_defaults
    def fingerprint_static(endpoint: str, values: dict) -> None:
        if (
            endpoint == "static"
            and current_app.config["STATIC_FINGERPRINT"]
            and isinstance(values.get("filename"), str)
        ):
            values["filename"] = static_url_filename(values["filename"])
