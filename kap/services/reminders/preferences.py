"""A patient's reminder choices: which channels send, and the quiet hours.

Reminders are opt-in: with no saved row every channel is off. The calendar channel is not
stored here: it is on while the patient has a private calendar feed (``calendar.has_feed``).
"""

from __future__ import annotations

from datetime import time

from kap.extensions import db
from kap.models import User
from kap.models.reminders import ReminderPreference
from kap.services import audit
from kap.services.errors import Invalid, NotFound
from kap.services.unit_of_work import use_case

BOTH_OR_NEITHER = "Give both times, or leave both empty for no quiet hours."
SAME_TIMES = "Quiet hours must start and end at different times."


def preferences_of(user: User) -> ReminderPreference:
    """The user's saved choices, or an unsaved row with everything off (never added)."""
    saved = db.session.get(ReminderPreference, user.id)
    if saved is not None:
        return saved
    return ReminderPreference(user_id=user.id, push=False, email=False)


def _errors(
    push: object, email: object, quiet_start: object, quiet_end: object
) -> dict[str, list[str]]:
    """Each bad field and why (empty when all are good)."""
    errors: dict[str, list[str]] = {}
    for name, value in (("push", push), ("email", email)):
        if not isinstance(value, bool):
            errors[name] = ["Choose on or off."]
    for name, value in (("quiet_start", quiet_start), ("quiet_end", quiet_end)):
        if value is not None and not isinstance(value, time):
            errors[name] = ["A time of day, like 22:00."]
    if errors:
        return errors
    if (quiet_start is None) != (quiet_end is None):
        missing = "quiet_start" if quiet_start is None else "quiet_end"
        errors[missing] = [BOTH_OR_NEITHER]
    elif quiet_start is not None and quiet_start == quiet_end:
        errors["quiet_end"] = [SAME_TIMES]
    return errors


def _describe(preference: ReminderPreference) -> str:
    """The choices in words for the audit log (no clinical content)."""

    def on(flag: bool) -> str:
        return "on" if flag else "off"

    quiet = (
        f"{preference.quiet_start:%H:%M}-{preference.quiet_end:%H:%M}"
        if preference.quiet_start is not None and preference.quiet_end is not None
        else "none"
    )
    return f"push {on(preference.push)}, e-mail {on(preference.email)}, quiet hours {quiet}"


@use_case
def save_preferences(
    user: User,
    *,
    push: bool,
    email: bool,
    quiet_start: time | None,
    quiet_end: time | None,
) -> ReminderPreference:
    """Store the patient's channels and quiet hours (local clinic time), audited.

    Quiet hours are both set or both empty, and start and end differ (22:00 to 07:00 spans
    midnight). Raises Invalid naming each bad field (push, email, quiet_start, quiet_end), and
    NotFound for anyone but a patient: only patients get reminders.
    """
    if not user.is_patient:
        raise NotFound("No such patient.")
    if errors := _errors(push, email, quiet_start, quiet_end):
        raise Invalid(next(iter(errors.values()))[0], errors)
    preference = db.session.get(ReminderPreference, user.id)
    if preference is None:
        preference = ReminderPreference(user_id=user.id)
        db.session.add(preference)
    preference.push = push
    preference.email = email
    preference.quiet_start = quiet_start.replace(second=0, microsecond=0) if quiet_start else None
    preference.quiet_end = quiet_end.replace(second=0, microsecond=0) if quiet_end else None
    db.session.flush()
    audit.record(
        "reminders.update",
        actor=user,
        clinic_id=user.clinic_id,
        subject_type="reminder_preferences",
        subject_id=user.id,
        patient_id=user.id,
        detail=_describe(preference),
    )
    return preference
