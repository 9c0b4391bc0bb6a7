"""The app as ``make bench`` serves it: the production profile, reachable over plain http.

Identical to ``KAP_ENV=production`` (secrets required, HSTS, fingerprinted static files,
compression, PostgreSQL and Redis from the environment) except one thing: the session
cookie is not marked Secure (nor named with the __Host- prefix, which requires Secure),
because the benchmark talks to 127.0.0.1 without TLS and a Secure cookie would never be sent
back. Never deploy this module: use ``wsgi:app``.
"""

from kap import create_app
from kap.config import ProductionConfig


class BenchConfig(ProductionConfig):
    """Production, except that cookies also travel over http (for 127.0.0.1 only)."""

    SESSION_COOKIE_SECURE = False
    SESSION_COOKIE_NAME = "kap_session"


app = create_app(BenchConfig())


@app.route("/bench/bare")
def bare_route() -> str:
    """A route that does nothing of its own, served by the app itself: what every request of
    this app costs at least (sign-in session lookup, security headers, compression check).
    The journal's throughput is judged against it (DESIGN §5); bench/bare_app.py is a bare
    Flask app, reported beside it."""
    return "ok"
