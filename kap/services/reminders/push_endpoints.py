"""Which push endpoints the server will ever call: the allow-list against SSRF.

A push subscription's endpoint comes from the browser, i.e. from whoever holds a session: left
unchecked, "send a reminder" would make the server POST to any address, its own network
included. So the endpoint must be https on a host of KAP_PUSH_ALLOWED_HOSTS (the real push
services by default). One rule, checked twice: when a subscription is saved (the API refuses
it) and again before each send (a list narrowed later still holds).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app


def allowed_hosts() -> list[str]:
    """The configured entries, lower-cased: ``host``, ``*.domain`` or ``http://host``."""
    raw = current_app.config.get("PUSH_ALLOWED_HOSTS") or ""
    return [entry.strip().lower() for entry in raw.split(",") if entry.strip()]


def _host_matches(host: str, pattern: str) -> bool:
    """``host`` is ``pattern``, or a subdomain of it when ``pattern`` is ``*.domain``."""
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern


def endpoint_allowed(endpoint: str) -> bool:
    """True when the server may POST to ``endpoint``.

    https to an allowed host; plain http only for a host listed as ``http://host`` and only
    outside production (the tests' local push service). No user name or password in the URL:
    ``https://fcm.googleapis.com@10.0.0.1/`` names host 10.0.0.1, and some clients disagree.
    """
    try:
        parts = urlsplit(endpoint)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        return False
    if not host or parts.username is not None or parts.password is not None:
        return False
    plain_http_allowed = current_app.config.get("ENV_NAME") != "production"
    for entry in allowed_hosts():
        if entry.startswith("http://"):
            if plain_http_allowed and parts.scheme == "http" and host == entry[len("http://") :]:
                return True
        elif parts.scheme == "https" and _host_matches(host, entry):
            return True
    return False
