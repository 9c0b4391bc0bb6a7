"""The patient's reminder choices and what is coming up: GET/PUT /api/v1/me/reminders."""

from __future__ import annotations

from datetime import time

from flask import jsonify
from flask_login import current_user

from kap.api.io import read_body
from kap.api.operations import operation
from kap.api.schemas.reminders import ReminderChoices, Reminders
from kap.models import Role
from kap.services.errors import Invalid
from kap.services.reminders.calendar import ensure_feed, revoke_feed
from kap.services.reminders.overview import ReminderOverview, reminder_overview
from kap.services.reminders.preferences import preferences_of, save_preferences

PATIENT_ONLY = (Role.PATIENT,)
#: The service's field names as the API's body names them.
BODY_FIELDS = {
    "push": "channels",
    "email": "channels",
    "quiet_start": "quiet_hours",
    "quiet_end": "quiet_hours",
}
CALENDAR_CHANNEL = (
    "true makes the private calendar URL (GET /api/v1/me/calendar answers it); false "
    "revokes it, and the old URL answers 404 at once."
)


def _answer(overview: ReminderOverview):
    preference = overview.preference
    quiet = None
    if preference.quiet_start is not None and preference.quiet_end is not None:
        quiet = {"start": f"{preference.quiet_start:%H:%M}", "end": f"{preference.quiet_end:%H:%M}"}
    return jsonify(
        Reminders.answer(
            {
                "channels": {
                    "push": preference.push,
                    "email": preference.email,
                    "calendar": overview.calendar,
                },
                "quiet_hours": quiet,
                "upcoming": [
                    {"kind": item.kind, "send_at": item.send_at, "channel": item.channel}
                    for item in overview.on_channels
                ],
            }
        )
    )


@operation(
    "/me/reminders",
    summary="The patient's reminder channels, quiet hours and the next 14 days of reminders",
    tag="Reminders",
    roles=PATIENT_ONLY,
    description=(
        "upcoming has one entry per planned reminder and channel that is on, by send_at "
        "(after quiet hours). Push and e-mail never carry what a reminder is about."
    ),
    responses={200: ("The choices and what is coming up.", Reminders)},
)
def get_reminders():
    """The patient's choices and upcoming reminders per channel."""
    return _answer(reminder_overview(current_user))


def _parse_clock(text: str) -> time:
    return time.fromisoformat(text)  # HH:MM, checked by the body's pattern


@operation(
    "/me/reminders",
    "PUT",
    summary="Choose reminder channels and quiet hours",
    tag="Reminders",
    roles=PATIENT_ONLY,
    body=ReminderChoices,
    description=(
        "Fields left out stay as they are; quiet_hours null removes them. Quiet hours are "
        "local clinic time, start and end different (22:00 to 07:00 spans midnight). "
        "channels.calendar is the private calendar feed: " + CALENDAR_CHANNEL
    ),
    responses={200: ("The choices as stored and what is coming up.", Reminders)},
)
def put_reminders():
    """Store the patient's channels and quiet hours; answer as GET does."""
    body = read_body(ReminderChoices)
    current = preferences_of(current_user)
    channels = body.channels
    push = current.push if channels is None or channels.push is None else channels.push
    email = current.email if channels is None or channels.email is None else channels.email
    start, end = current.quiet_start, current.quiet_end
    if "quiet_hours" in body.model_fields_set:
        quiet = body.quiet_hours
        start, end = (_parse_clock(quiet.start), _parse_clock(quiet.end)) if quiet else (None, None)
    try:
        save_preferences(current_user, push=push, email=email, quiet_start=start, quiet_end=end)
    except Invalid as error:
        fields: dict[str, list[str]] = {}
        for name, messages in error.fields.items():
            fields.setdefault(BODY_FIELDS.get(name, name), []).extend(messages)
        raise Invalid(error.message, fields) from None
    # After the choices are valid and stored, so a refused PUT changes nothing.
    # Both are idempotent: on keeps the URL there is, off with none changes nothing.
    calendar = None if channels is None else channels.calendar
    if calendar is True:
        ensure_feed(current_user)
    elif calendar is False:
        revoke_feed(current_user)
    return _answer(reminder_overview(current_user))
