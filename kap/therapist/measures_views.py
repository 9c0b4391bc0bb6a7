"""Downloads for the care team: measures as CSV, the whole record as FHIR."""

from __future__ import annotations

import csv
import io
import json

from flask_login import current_user

from kap.models.base import utcnow
from kap.services.measures import checkins as measures
from kap.services.people.fhir_export import patient_bundle
from kap.therapist import bp
from kap.web.downloads import attachment

COLUMNS = ("date", "time", "instrument", "score", "severity", "change_from_baseline")

# A cell starting with one of these runs as a formula in spreadsheet programs (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> str:
    """``value`` as a cell a spreadsheet shows as text: a leading ' defuses formula starts."""
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def _change_words(change: int | None) -> str:
    # Words, not "-3": a signed number would have to be defused into "'-3" (see csv_safe).
    if change is None:
        return "baseline"
    if change == 0:
        return "no change"
    return f"down {-change}" if change < 0 else f"up {change}"


@bp.route("/patients/<int:patient_id>/measures.csv")
def measures_csv(patient_id: int):
    """Download a patient's PHQ-9 and GAD-7 history as CSV (an audited export)."""
    rows = measures.export_rows(current_user, patient_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        cells = (row["date"], row["time"], row["instrument"], row["score"], row["severity"])
        writer.writerow([csv_safe(cell) for cell in (*cells, _change_words(row["change"]))])
    filename = f"measures-patient-{patient_id}-{utcnow():%Y-%m-%d}.csv"
    return attachment(buffer.getvalue(), mimetype="text/csv", filename=filename)


@bp.route("/patients/<int:patient_id>/record.fhir.json")
def fhir_record(patient_id: int):
    """Download a care-team patient's record as a FHIR R4 Bundle (an audited export)."""
    bundle = patient_bundle(current_user, patient_id)
    filename = f"kap-record-patient-{patient_id}.fhir.json"
    body = json.dumps(bundle, ensure_ascii=False, indent=2)
    return attachment(body, mimetype="application/fhir+json", filename=filename)
