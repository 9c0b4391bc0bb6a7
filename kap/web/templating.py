"""Jinja filters shared by every template: times in the clinic's zone, durations."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, g, url_for
from flask_login import current_user

from kap.services.sessions.playlist import format_duration
from kap.timezones import to_local
from kap.web.markdown import render_markdown


def _zone() -> str:
    """The signed-in person's clinic time zone (UTC signed out), looked up once a request.

    Kept with the user object Flask-Login holds for the request (g._login_user): a page
    calls this for every time it shows, and the current_user proxy is the slow way there.
    """
    cached = g.get("_kap_zone")
    if cached is not None and cached[0] is g.get("_login_user"):
        return cached[1]
    user = current_user._get_current_object()  # loads the user if not loaded yet
    zone = user.clinic.timezone if user.is_authenticated else "UTC"
    g._kap_zone = (g.get("_login_user"), zone)
    return zone


def local_datetime(moment: datetime | None, style: str = "full") -> str:
    """A UTC time as the clinic reads it: 'Mon 23 Nov 2026, 10:00' (or date/time/day)."""
    if moment is None:
        return ""
    local = to_local(moment, _zone())
    formats = {
        "full": "%a %-d %b %Y, %H:%M",
        "date": "%a %-d %b %Y",
        "short": "%a %-d %b, %H:%M",
        "day": "%-d %b",
        "time": "%H:%M",
        "iso_date": "%Y-%m-%d",
        "iso_time": "%H:%M",
    }
    return local.strftime(formats[style])


_SENTINEL = 2_147_483_629  # an id no route will meet in a real URL (a prime below 2**31)


def url_format(endpoint: str, parameter: str, **values: object) -> str:
    """``url_for(endpoint)`` with ``parameter`` left as ``{}``, for ``|fill(id)`` in a loop.

    A page listing 20 entries with four links each builds 4 URLs, not 80.
    """
    url = url_for(endpoint, **{parameter: _SENTINEL}, **values)
    return url.replace(str(_SENTINEL), "{}", 1)


def fill(url: str, value: object) -> str:
    """A url_format pattern with its id filled in (a filter: Jinja calls filters directly,
    where a method call in a template goes through its slower generic call)."""
    return url.replace("{}", str(value), 1)


def iso_utc(moment: datetime | None) -> str:
    """Machine-readable UTC, for <time datetime> and data- attributes."""
    return moment.isoformat().replace("+00:00", "Z") if moment else ""


def init_app(app: Flask) -> None:
    """Register template helpers."""
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.filters["local"] = local_datetime
    app.jinja_env.filters["iso"] = iso_utc
    app.jinja_env.filters["duration"] = format_duration
    app.jinja_env.globals["url_format"] = url_format
    app.jinja_env.globals["clinic_zone"] = _zone
    app.jinja_env.filters["fill"] = fill
    app.jinja_env.filters["markdown"] = render_markdown  # clinic-written Markdown, safely
