"""Clinic admin forms."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from kap.models import PATTERN_LABELS, CoursePattern, Role
from kap.services.sessions.course_dates import WEEKDAY_NAMES


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


ROLE_CHOICES = choices(
    [
        (Role.PATIENT.value, "Patient"),
        (Role.THERAPIST.value, "Therapist"),
        (Role.CLINIC_ADMIN.value, "Clinic admin"),
    ]
)

#: Time zones offered first; any IANA zone is accepted.
COMMON_TIMEZONES = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Toronto",
    "America/Vancouver",
    "America/Halifax",
    "America/Mexico_City",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Amsterdam",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Stockholm",
    "Europe/Zurich",
    "Europe/Athens",
    "Asia/Jerusalem",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Perth",
    "Australia/Adelaide",
    "Australia/Sydney",
    "Australia/Brisbane",
    "Pacific/Auckland",
    "UTC",
]


@cache
def timezone_choices() -> list[SelectChoice]:
    """Common zones first, then every other IANA zone (any of them may be chosen)."""
    others = sorted(available_timezones() - set(COMMON_TIMEZONES))
    return [
        *(
            SelectChoice(zone, zone.replace("_", " "), optgroup="Common")
            for zone in COMMON_TIMEZONES
        ),
        *(SelectChoice(zone, zone.replace("_", " "), optgroup="All time zones") for zone in others),
    ]


class MultiCheckboxField(SelectMultipleField):
    """A group of checkboxes, each with its own label."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class PersonForm(FlaskForm):
    name = StringField(
        "Name", validators=[DataRequired("Enter the person's name."), Length(max=200)]
    )
    email = EmailField(
        "Email", validators=[DataRequired("Enter an email address."), Length(max=254)]
    )
    role = RadioField(
        "Role",
        choices=ROLE_CHOICES,
        default=Role.PATIENT.value,
        validators=[InputRequired("Choose a role.")],
    )
    #: For a patient: their care team, set in the same step (the view fills the choices).
    therapists = MultiCheckboxField("Care team: therapists who will see this patient", coerce=int)


class CareTeamForm(FlaskForm):
    therapists = MultiCheckboxField("Therapists caring for this patient", coerce=int)


class ScheduleCourseForm(FlaskForm):
    template_id = SelectField(
        "Template", coerce=int, validators=[InputRequired("Choose a template.")]
    )
    pattern = RadioField(
        "Pattern",
        choices=choices((p.value, PATTERN_LABELS[p]) for p in CoursePattern),
        default=CoursePattern.SIX_OVER_THREE_WEEKS.value,
        validators=[InputRequired("Choose a pattern.")],
    )
    start_date = DateField("First date", validators=[Optional()])
    weekdays = MultiCheckboxField(
        "Weekdays (choose two)",
        coerce=int,
        choices=choices(enumerate(WEEKDAY_NAMES)),
    )
    clock = TimeField("Time of day", validators=[Optional()])
    custom_dates = TextAreaField(
        "Custom dates, one per line (e.g. 2026-12-01 10:00)", validators=[Length(max=2000)]
    )
    location_label = StringField("Room or label (optional)", validators=[Length(max=80)])
    #: Shown only after a room clash was reported (kap/services/sessions/booking_conflicts.py).
    book_anyway = BooleanField("Book anyway (double-book the room on purpose)")
    room_clash = False  # set by the view when the service reported one


class BoosterForm(FlaskForm):
    template_id = SelectField(
        "Template", coerce=int, validators=[InputRequired("Choose a template.")]
    )
    day = DateField("Date", validators=[InputRequired("Choose a date.")])
    clock = TimeField("Time", validators=[InputRequired("Choose a time.")])
    location_label = StringField("Room or label (optional)", validators=[Length(max=80)])
    #: Shown only after a room clash was reported (kap/services/sessions/booking_conflicts.py).
    book_anyway = BooleanField("Book anyway (double-book the room on purpose)")
    room_clash = False  # set by the view when the service reported one


class RescheduleForm(FlaskForm):
    day = DateField("New date", validators=[InputRequired("Choose a date.")])
    clock = TimeField("New time", validators=[InputRequired("Choose a time.")])
    #: Shown only after a room clash was reported (kap/services/sessions/booking_conflicts.py).
    book_anyway = BooleanField("Book anyway (double-book the room on purpose)")
    room_clash = False  # set by the view when the service reported one


class CancelForm(FlaskForm):
    reason = StringField("Reason (optional)", validators=[Length(max=200)])


class SettingsForm(FlaskForm):
    name = StringField(
        "Clinic name", validators=[DataRequired("Enter the clinic's name."), Length(max=200)]
    )
    timezone = SelectField("Time zone", choices=lambda: timezone_choices())
    fasting_hours = IntegerField(
        "Hours without food before a session", validators=[InputRequired(), NumberRange(0, 24)]
    )
    clear_liquids_hours = IntegerField(
        "Hours without liquids before a session", validators=[InputRequired(), NumberRange(0, 24)]
    )
    substance_free_hours = IntegerField(
        "Hours without alcohol, cannabis or sedatives",
        validators=[InputRequired(), NumberRange(0, 168)],
    )
    start_window_minutes = IntegerField(
        "Session mode can start (minutes before the booked time)",
        validators=[
            InputRequired("Enter a whole number of minutes from 0 to 720."),
            NumberRange(0, 720, "Enter a whole number of minutes from 0 to 720."),
        ],
    )
    phone = StringField(
        "Clinic phone number (optional)",
        validators=[Length(max=40, message="Keep the number to 40 characters.")],
        render_kw={"inputmode": "tel", "autocomplete": "tel"},
    )
