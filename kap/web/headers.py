"""Security headers for every response, set in one place (Flask-Talisman is unmaintained).

The Content-Security-Policy allows nothing inline: scripts are ES modules from this origin
and data reaches them through data- attributes or JSON blocks. Session mode plays generated
audio from blob: URLs, so media-src allows blob:.
"""

from __future__ import annotations

from flask import Flask, Response, request, session

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

#: Only what session mode needs: keeping the screen awake, playing sound, going full screen.
PERMISSIONS_POLICY = ", ".join(
    [
        "camera=()",
        "microphone=()",
        "geolocation=()",
        "payment=()",
        "usb=()",
        "autoplay=(self)",
        "fullscreen=(self)",
        "screen-wake-lock=(self)",
    ]
)

HSTS = "max-age=63072000; includeSubDomains"

#: Static scripts and stylesheets are only ever loaded by a page, never shown as one, and hold
#: nothing private: they get nosniff (which makes a browser refuse one sent with the wrong
#: type) and no more, as nginx sends them in production (deploy/nginx/kap.conf). The page's
#: own CSP, permissions, framing, opener and referrer policies govern what they do (a module
#: script's or stylesheet's CSP is ignored; the service worker, whose CSP counts, is /sw.js, a
#: view), its HSTS covers the host, and same-origin resource policy would guard no secret.
#: Session mode loads 19 of them: this took 10.6 KB off its first load over HTTP/1.1
#: (DESIGN §5). SVG keeps the full set: it can be opened as a document.
SUBRESOURCE_TYPES = frozenset({"text/javascript", "text/css"})


def init_app(app: Flask) -> None:
    """Register the after-request hook.

    The headers every response carries are put together once, here: setting them one by one
    on every request cost more than the rest of the hook.
    """
    subresources = {"X-Content-Type-Options": "nosniff"}
    documents = {
        # No view sets a policy of its own: the access matrix checks every header comes once.
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        **subresources,
        "Referrer-Policy": "same-origin",
        "Permissions-Policy": PERMISSIONS_POLICY,
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "X-Frame-Options": "DENY",
    }
    if app.config.get("ENV_NAME") == "production":
        documents["Strict-Transport-Security"] = HSTS

    # No view sets these, so they are appended, not set one by one (setting a header first
    # looks for it among the others, and werkzeug answers a header it does not find with an
    # exception, which costs more than the rest of the hook; the access matrix checks each
    # comes once).
    document_items = list(documents.items())
    subresource_items = list(subresources.items())

    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        endpoint = request.endpoint  # read through the proxy once: each read costs
        if endpoint == "static" and response.mimetype in SUBRESOURCE_TYPES:
            headers.extend(subresource_items)
            return response  # no patient data, cacheable: nothing below applies
        headers.extend(document_items)
        # Patient data must never sit in a shared or back-button cache (SECURITY.md). Static
        # files carry no patient data and stay cacheable (and need no user lookup).
        # Read from the session's data, not the user row: after a view's commit the user is
        # expired, and reloading it here may meet a connection that just dropped (a stored
        # write answered 500 instead of a retryable 503).
        if endpoint != "static" and session.get("_user_id"):
            headers["Cache-Control"] = "private, no-store"
        return response
