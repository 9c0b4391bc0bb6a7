"""The patient's private calendar link.

It is the calendar channel of the reminder choices: GET makes it if there is
none, DELETE revokes it (the old URL answers 404 at once). The feed itself is served by
kap/main/calendar_feed.py.
"""

from __future__ import annotations

from flask import jsonify
from flask_login import current_user

from kap.api.operations import operation
from kap.api.schemas.calendar import CalendarLink
from kap.models import Role
from kap.services.reminders.calendar import ensure_feed, revoke_feed

PATIENT_ONLY = (Role.PATIENT,)


@operation(
    "/me/calendar",
    summary="The private calendar (.ics) link, made if there is none",
    tag="Sessions",
    roles=PATIENT_ONLY,
    description=(
        "The feed lists the patient's sessions from a week ago to 180 days ahead (title "
        '"Appointment at <clinic>", nothing clinical) with alarms at the reminder times. '
        "Making it turns the calendar channel of the reminder choices on."
    ),
    responses={200: ("The link.", CalendarLink)},
)
def get_calendar():
    """The patient's feed URL; the first call makes it."""
    return jsonify(url=ensure_feed(current_user))


@operation(
    "/me/calendar",
    "DELETE",
    summary="Revoke the calendar link (the old URL answers 404 at once)",
    tag="Sessions",
    roles=PATIENT_ONLY,
    description="204 whether or not there was a link; a later GET makes a new one.",
    responses={204: ("Revoked (or there was none).", None)},
)
def delete_calendar():
    """Revoke the patient's feed."""
    revoke_feed(current_user)
    return "", 204
