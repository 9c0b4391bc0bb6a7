"""The app as ``make bench`` serves it: the production profile, reachable over plain http.

Identical to ``KAP_ENV=production`` (secrets required, HSTS, fingerprinted static files,
compression, PostgreSQL and Redis from the environment) except one thing: the session
cookie is not marked Secure, because the benchmark talks to 127.0.0.1 without TLS and a
Secure cookie would never be sent back. Never deploy this module: use ``wsgi:app``.
"""

from kap import create_app, perf
from kap.config import ProductionConfig


class BenchConfig(ProductionConfig):
    """Production, except that cookies also travel over http (for 127.0.0.1 only)."""

    SESSION_COOKIE_SECURE = False


app = create_app(BenchConfig())
perf.init_app(app)  # a no-op once create_app() does it
