"""The patient's private calendar link: turn it on (the URL is shown) and stop it.

Both are buttons on the Reminders page (templates/patient/_calendar_feed.html) that post
here and go back there. The URL itself is read by the partial through
``calendar_link()``, so the Reminders page needs to pass nothing but what it has.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import flash, redirect, url_for
from flask_login import current_user

from kap.patient import bp
from kap.services.reminders.calendar import ensure_feed, feed_url_of, revoke_feed
from kap.web.forms import CsrfOnlyForm


def _back_to_reminders():
    """To the calendar part of the Reminders page (kap/patient/reminder_views.py)."""
    return redirect(url_for("patient.reminders", _anchor="calendar"))


@dataclass(frozen=True)
class CalendarLink:
    """The feed's URL, and the same as webcal:// (calendar apps open that to subscribe)."""

    url: str

    @property
    def webcal(self) -> str:
        return "webcal://" + self.url.split("://", 1)[-1]


def _calendar_link() -> CalendarLink | None:
    url = feed_url_of(current_user)
    return CalendarLink(url) if url else None


@bp.context_processor
def calendar_link_context() -> dict:
    """``calendar_link()`` for the partial: the current link or None (read on demand, so
    other patient pages pay nothing for it)."""
    return {"calendar_link": _calendar_link}


@bp.route("/reminders/calendar", methods=["POST"])
def turn_on_calendar():
    """Make the private calendar link (or keep the one there is) and show it."""
    if CsrfOnlyForm().validate_on_submit():
        ensure_feed(current_user)
        flash("Your calendar link is ready. Add it to your calendar app.", "info")
    return _back_to_reminders()


@bp.route("/reminders/calendar/revoke", methods=["POST"])
def stop_calendar():
    """Delete the link: calendar apps that use it get nothing more."""
    if CsrfOnlyForm().validate_on_submit() and revoke_feed(current_user):
        flash(
            "The calendar link is stopped. Your calendar app will stop updating; "
            "you can make a new link at any time.",
            "info",
        )
    return _back_to_reminders()
