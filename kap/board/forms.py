"""Board forms. Many sessions share one page, so each form's ids carry the session's id."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from kap.services.board_actions import MAX_NOTE_LENGTH
from kap.services.discharge import MAX_DRIVER_LENGTH, MAX_REASON_LENGTH
from kap.services.vitals import KINDS

NUMERIC = {"inputmode": "numeric", "autocomplete": "off"}


def scoped(form: FlaskForm, scope: str) -> FlaskForm:
    """Give every field of ``form`` an id starting with ``scope`` (names stay plain)."""
    for field in form:
        field.id = f"{scope}-{field.name}"
        field.label.field_id = field.id
    return form


class VitalsForm(FlaskForm):
    """Blood pressure, heart rate and SpO2; the service checks ranges and required values."""

    kind = RadioField(
        "Reading",
        choices=[SelectChoice(value, label) for value, label in KINDS.items()],
        validate_choice=False,
    )
    systolic = IntegerField("Systolic (mmHg)", validators=[Optional()], render_kw=NUMERIC)
    diastolic = IntegerField("Diastolic (mmHg)", validators=[Optional()], render_kw=NUMERIC)
    heart_rate = IntegerField("Heart rate (bpm)", validators=[Optional()], render_kw=NUMERIC)
    spo2 = IntegerField("SpO2 (%, if measured)", validators=[Optional()], render_kw=NUMERIC)
    note = StringField("Note (optional)", validators=[Length(max=MAX_NOTE_LENGTH)])

    def values(self) -> dict[str, int | None]:
        return {
            "systolic": self.systolic.data,
            "diastolic": self.diastolic.data,
            "heart_rate": self.heart_rate.data,
            "spo2": self.spo2.data,
        }


class CheckForm(FlaskForm):
    """A monitoring check: the patient was seen now."""

    note = StringField("Note (optional)", validators=[Length(max=MAX_NOTE_LENGTH)])


class ButtonForm(FlaskForm):
    """Acknowledge a call: CSRF protection and nothing else."""


class DischargeForm(FlaskForm):
    """Discharge: the ride home, any override reason, then a confirmation step.

    The first post checks and shows the confirmation page; that page posts again with
    ``step=confirm`` and the box ticked. Lengths are the service's to check.
    """

    driver = StringField(
        "Who is driving the patient home?",
        render_kw={"autocomplete": "off", "maxlength": MAX_DRIVER_LENGTH},
    )
    override_reason = TextAreaField(
        "Why may the patient leave anyway? (override reason)",
        render_kw={"rows": 3, "maxlength": MAX_REASON_LENGTH},
    )
    step = HiddenField()
    seen_patient = BooleanField("I have seen the patient and they are ready to leave")

    @property
    def confirming(self) -> bool:
        return self.step.data == "confirm"


class ReopenForm(FlaskForm):
    """Reopen a discharge within the window, with a reason."""

    reason = TextAreaField(
        "Why is the discharge reopened?", render_kw={"rows": 2, "maxlength": MAX_REASON_LENGTH}
    )


class ResolveCallForm(FlaskForm):
    """Close a Call staff alert with what was done."""

    note = TextAreaField("What was done", validators=[Length(max=2000)])
