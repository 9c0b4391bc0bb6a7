"""What clinicians record at a session over the API: administrations and monitoring checks.

Therapists and clinic admins of the session's clinic (the board's scope); a patient gets
403, another clinic 404. ``given_by`` and ``recorded_by`` are ``{id, name}`` objects (null
once that colleague's account is gone); doses are JSON numbers.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask_login import current_user

from kap.api.io import read_body
from kap.api.operations import operation
from kap.api.schemas.common import iso
from kap.api.schemas.monitoring import (
    Administration,
    AdministrationAnswer,
    CheckAnswer,
    NewAdministration,
    NewCheck,
)
from kap.models import Role, SessionObservation, User
from kap.services.board import administrations, observations
from kap.services.board.vitals import STATE_FIELDS, VITALS, observation_flags, vitals_limits
from kap.services.sessions.flow import parse_device_time

CLINICIANS = (Role.THERAPIST, Role.CLINIC_ADMIN)
#: What a reading records besides its kind and note.
VALUES = (*VITALS, *STATE_FIELDS)


def _person(user: User | None) -> dict[str, Any] | None:
    return {"id": user.id, "name": user.name} if user is not None else None


def check_json(observation: SessionObservation, clinic) -> dict[str, Any]:
    """A reading with its flags: vitals 'high'/'low'; sedation below 5 and a respiratory
    concern 'attention'; only flagged fields are present."""
    return {
        "id": observation.id,
        "kind": observation.kind,
        "recorded_at": iso(observation.recorded_at),
        "recorded_by": _person(observation.recorded_by),
        **{name: getattr(observation, name) for name in VALUES},
        "note": observation.note or "",
        "flags": observation_flags(observation, vitals_limits(clinic)),
    }


@operation(
    "/sessions/<int:session_id>/administrations",
    "POST",
    summary="Record a medication given at the session",
    tag="Sessions",
    roles=CLINICIANS,
    body=NewAdministration,
    description=(
        "Therapists and admins of the session's clinic (another clinic: 404). Several per "
        "session (a booster dose). The time given (at, ISO 8601 with a zone; default now) "
        "may be at most 5 minutes ahead and not before the session's local day. 409 once "
        "the session is cancelled or discharged. The note is kept encrypted and not echoed."
    ),
    responses={201: ("Recorded.", AdministrationAnswer)},
    errors=(404, 409),
)
def post_administration(session_id: int):
    """Record what was given: {medication, route, dose, unit, lot?, at?, note?} → 201."""
    fields = read_body(NewAdministration).values()
    fields["at"] = parse_device_time(fields["at"])
    given = administrations.record_administration(current_user, session_id, fields)
    data = Administration.answer(given)
    return jsonify(administration=data), 201


@operation(
    "/sessions/<int:session_id>/checks",
    "POST",
    summary="Record a monitoring reading (vitals, sedation, dissociation, breathing)",
    tag="Sessions",
    roles=CLINICIANS,
    body=NewCheck,
    description=(
        "pre_dose: systolic, diastolic and heart_rate (spo2 optional). post_dose and final: "
        "those, plus sedation, dissociation and respiratory_concern. check: at least one of "
        "the vitals (blood pressure as a pair), sedation, dissociation, respiratory_concern "
        "or note. post_dose, check and final are refused (400 on kind) before dosing. 409 "
        "once the session is cancelled or discharged."
    ),
    responses={201: ("Recorded.", CheckAnswer)},
    errors=(404, 409),
)
def post_check(session_id: int):
    """Record a monitoring reading: {kind, vitals?, sedation?, dissociation?,
    respiratory_concern?, note?} → 201 with its flags."""
    body = read_body(NewCheck)
    observation = observations.record_observation(
        current_user,
        session_id,
        kind=body.kind,
        values=body.values(VALUES),
        note=body.note or "",
    )
    return jsonify(check=check_json(observation, current_user.clinic)), 201
