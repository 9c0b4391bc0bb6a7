"""A file the browser saves rather than shows (exports, signed copies, records).

Signed-in responses are never cached (``kap/web/headers.py`` sets ``private, no-store`` on
all of them), so a download needs only its type and its name.
"""

from __future__ import annotations

from flask import Response


def attachment(body: str | bytes, *, mimetype: str, filename: str) -> Response:
    """``body`` as a download called ``filename``."""
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
