"""Which instruments a clinic uses: the ones shipped with the app and the clinic's own.

A clinic's own questionnaire (or its own version of the intake) is a row per version in
``clinic_instruments``; the newest unarchived version is the one patients answer, and every
stored answer is read against the version it was given to. A clinic's own code never shadows
a shipped instrument's (PHQ-9 is always the published PHQ-9), except ``intake``, which a
clinic is meant to make its own.
"""

from __future__ import annotations

from sqlalchemy import select

from kap.extensions import db
from kap.models import ClinicInstrument
from kap.services.errors import Invalid
from kap.services.measures.scoring import BUILT_IN, Instrument, parse_definition

#: The shipped instrument a clinic may replace with its own version.
REPLACEABLE = frozenset({"intake"})


def _from_row(row: ClinicInstrument) -> Instrument:
    return parse_definition({**row.definition, "version": row.version}, clinic_id=row.clinic_id)


def _own_rows(clinic_id: int, code: str | None = None) -> list[ClinicInstrument]:
    query = select(ClinicInstrument).where(ClinicInstrument.clinic_id == clinic_id)
    if code is not None:
        query = query.where(ClinicInstrument.code == code)
    return list(db.session.scalars(query.order_by(ClinicInstrument.code, ClinicInstrument.version)))


def _newest(rows: list[ClinicInstrument]) -> dict[str, ClinicInstrument]:
    newest: dict[str, ClinicInstrument] = {}
    for row in rows:  # in version order, so the last one wins
        newest[row.code] = row
    return newest


def instruments_for(clinic_id: int, kind: str = "measure") -> list[Instrument]:
    """The instruments of ``kind`` a clinic offers: shipped ones first, then its own.

    Each appears once, at its newest version; archived ones of the clinic's own are left out.
    """
    own = {
        code: row for code, row in _newest(_own_rows(clinic_id)).items() if row.archived_at is None
    }
    shipped = [
        own.pop(code) if code in REPLACEABLE and code in own else instrument
        for code, instrument in BUILT_IN.items()
    ]
    listed = [item if isinstance(item, Instrument) else _from_row(item) for item in shipped]
    listed += [_from_row(row) for code, row in sorted(own.items()) if code not in BUILT_IN]
    return [instrument for instrument in listed if instrument.kind == kind]


def instrument_for(clinic_id: int, code: object, version: int | None = None) -> Instrument:
    """The instrument ``code`` as the clinic uses it (its newest version, or ``version``).

    Archived questionnaires stay readable by version (their answers are on record). Invalid
    naming ``instrument`` when the clinic has no such questionnaire.
    """
    if isinstance(code, str) and code:
        if code in BUILT_IN and code not in REPLACEABLE:
            shipped = BUILT_IN[code]
            if version is None or version == shipped.version:
                return shipped
        else:
            rows = _own_rows(clinic_id, code)
            if version is not None:
                rows = [row for row in rows if row.version == version]
            elif rows and rows[-1].archived_at is not None:
                rows = []
            if rows:
                return _from_row(rows[-1])
            if code in BUILT_IN and version in (None, BUILT_IN[code].version):
                return BUILT_IN[code]
    codes = ", ".join(instrument.code for instrument in instruments_for(clinic_id))
    message = f"Choose a questionnaire: {codes}."
    raise Invalid(message, {"instrument": [message]})
