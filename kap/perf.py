"""Speed for the production profile: compressed responses, long-lived fingerprinted static files.

Compression (Flask-Compress): HTML, CSS, JavaScript, JSON and SVG go out as zstd, brotli or
gzip, whichever the browser accepts first. Static files are read into memory before that
(they are small) so they are compressed whole, with a Content-Length and a strong ETag.

Fingerprints: with ``STATIC_FINGERPRINT`` on (the default in production),
``url_for('static', filename='js/api.js')`` gives ``/static/v-<digest>/js/api.js``, where the
digest covers every file under ``static/``. The digest is a folder, not a query string, so an
ES module's relative ``import './x.js'`` and a stylesheet's relative ``url()`` inherit it: the
whole tree changes URL together and every file can be cached for a year
(``Cache-Control: public, max-age=31536000, immutable``). Plain ``/static/...`` URLs keep
working and are revalidated (ETag), and a stale digest (an old page after a deploy) gets the
current file without the long cache. The endpoint stays ``static``, so session loading and
the no-store rule skip it as before.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path

from flask import Flask, Response, current_app, send_from_directory
from flask_compress import Compress

#: What "forever" means for a fingerprinted file (one year, the longest value caches honour).
IMMUTABLE = "public, max-age=31536000, immutable"
#: ``v-`` and 12 hex digits, then the real path.
FINGERPRINTED = re.compile(r"^v-([0-9a-f]{12})/(.+)$")
#: How long a computed digest is trusted before the folder is looked at again (seconds).
RECHECK_SECONDS = 2.0


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
    digest = current_app.extensions["kap_static_digest"]
    current = False
    if match:
        current = match.group(1) == digest.value()
        filename = match.group(2)
    response = send_from_directory(current_app.static_folder or "", filename, max_age=None)
    if current:
        response.headers["Cache-Control"] = IMMUTABLE
        response.headers.pop("Expires", None)
    else:
        response.headers["Cache-Control"] = "no-cache"
    if response.status_code == 200:
        # Small files: read them so Flask-Compress compresses the whole body at once.
        response.direct_passthrough = False
        response.make_sequence()
    elif response.status_code == 206:
        response.headers["Content-Encoding"] = "identity"  # never compress part of a file
    return response


def init_app(app: Flask) -> None:
    """Turn on compression and fingerprinted static URLs for ``app`` (once)."""
    if "kap_perf" in app.extensions:
        return
    app.extensions["kap_perf"] = True
    app.config.setdefault("STATIC_FINGERPRINT", app.config.get("ENV_NAME") == "production")
    app.config.setdefault(
        "COMPRESS_MIMETYPES",
        [
            "text/html",
            "text/css",
            "text/javascript",
            "application/javascript",
            "application/json",
            "application/manifest+json",
            "image/svg+xml",
            "text/plain",
        ],
    )
    app.extensions["kap_compress"] = Compress(app)  # one per app: it keeps the app's settings
    app.extensions["kap_static_digest"] = StaticDigest(app.static_folder or "")
    app.view_functions["static"] = serve_static

    @app.url_defaults
    def fingerprint_static(endpoint: str, values: dict) -> None:
        if (
            endpoint == "static"
            and current_app.config["STATIC_FINGERPRINT"]
            and isinstance(values.get("filename"), str)
        ):
            values["filename"] = static_url_filename(values["filename"])
