"""Jinja filters shared by every template: times in the clinic's zone, durations."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from flask_login import current_user

from kap.services.playlist import format_duration
from kap.services.scheduling import to_local


def _zone() -> str:
    if current_user and current_user.is_authenticated:
        return current_user.clinic.timezone
    return "UTC"


def local_datetime(moment: datetime | None, style: str = "full") -> str:
    """A UTC time as the clinic reads it: 'Mon 23 Nov 2026, 10:00' (or date/time/day)."""
    if moment is None:
        return ""
    local = to_local(moment, _zone())
    formats = {
        "full": "%a %-d %b %Y, %H:%M",
        "date": "%a %-d %b %Y",
        "short": "%a %-d %b, %H:%M",
        "time": "%H:%M",
        "iso_date": "%Y-%m-%d",
        "iso_time": "%H:%M",
    }
    return local.strftime(formats[style])


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
