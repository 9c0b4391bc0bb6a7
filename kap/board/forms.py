"""Board forms. Many sessions share one page, so each form's ids carry the session's id."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from kap.services.board.administrations import (
    MAX_LOT,
    MAX_MEDICATION,
    MAX_NOTE,
    ROUTES,
    UNITS,
)
from kap.services.board.clinical_scales import DISSOCIATION_LABELS, SEDATION_LABELS
from kap.services.board.discharge import MAX_DRIVER_LENGTH, MAX_REASON_LENGTH
from kap.services.board.observations import MAX_NOTE_LENGTH
from kap.services.board.vitals import KINDS

NUMERIC = {"inputmode": "numeric", "autocomplete": "off"}


def scoped(form: FlaskForm, scope: str) -> FlaskForm:
    """Give every field of ``form`` an id starting with ``scope`` (names stay plain)."""
    for field in form:
        field.id = f"{scope}-{field.name}"
        field.label.field_id = field.id
    return form


class ClinicalStateForm(FlaskForm):
    """Sedation (MOAA/S), dissociation and breathing; the service says which a kind needs."""

    sedation = SelectField(
        "Sedation (MOAA/S)",
        choices=[SelectChoice("", "Not assessed")]
        + [SelectChoice(str(level), f"{level}: {text}") for level, text in SEDATION_LABELS.items()],
        validate_choice=False,
    )
    dissociation = RadioField(
        "Dissociation",
        choices=[SelectChoice(value, label) for value, label in DISSOCIATION_LABELS.items()],
        validate_choice=False,
    )
    respiratory_concern = RadioField(
        "Breathing",
        choices=[SelectChoice("no", "No concern"), SelectChoice("yes", "Concern about breathing")],
        validate_choice=False,
    )

    def state(self) -> dict:
        """The clinical state as the service takes it (None for what was not recorded)."""
        sedation = self.sedation.data
        return {
            "sedation": int(sedation) if sedation and sedation.isdigit() else None,
            "dissociation": self.dissociation.data or None,
            "respiratory_concern": {"yes": True, "no": False}.get(self.respiratory_concern.data),
        }


class VitalsForm(ClinicalStateForm):
    """A reading: blood pressure, heart rate, SpO2 and the clinical state."""

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

    def values(self) -> dict:
        return {
            "systolic": self.systolic.data,
            "diastolic": self.diastolic.data,
            "heart_rate": self.heart_rate.data,
            "spo2": self.spo2.data,
            **self.state(),
        }


class CheckForm(ClinicalStateForm):
    """A monitoring check: the patient was seen now (at least one thing recorded)."""

    note = StringField("Note", validators=[Length(max=MAX_NOTE_LENGTH)])

    def values(self) -> dict:
        return self.state()


class CheckInForm(FlaskForm):
    """Staff check-in: the photo ID tick (pre-dose vitals are checked by the service)."""

    photo_id_checked = BooleanField("Photo ID checked")


class AdministrationForm(FlaskForm):
    """What was given. The dose is always typed by the clinician: never pre-filled."""

    medication = StringField("Medication", validators=[Length(max=MAX_MEDICATION)])
    route = RadioField(
        "Route",
        choices=[SelectChoice(value, label) for value, label in ROUTES.items()],
        validate_choice=False,
    )
    dose = StringField(
        "Dose", render_kw={"inputmode": "decimal", "autocomplete": "off", "spellcheck": "false"}
    )
    unit = SelectField(
        "Unit",
        choices=[SelectChoice("", "Choose a unit")] + [SelectChoice(unit, unit) for unit in UNITS],
        validate_choice=False,
    )
    lot = StringField("Lot (optional)", validators=[Length(max=MAX_LOT)])
    given_time = TimeField("Time given (empty: now)", validators=[Optional()])
    note = TextAreaField("Note (optional)", validators=[Length(max=MAX_NOTE)])

    def fields(self) -> dict:
        """The administration as the service takes it (``at`` is set by the view)."""
        return {
            "medication": self.medication.data,
            "route": self.route.data,
            "dose": self.dose.data,
            "unit": self.unit.data,
            "lot": self.lot.data,
            "note": self.note.data,
        }


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
    #: What the confirmation page showed: the counted final check and its concern codes.
    confirmed_final = HiddenField()
    confirmed_concerns = HiddenField()
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
