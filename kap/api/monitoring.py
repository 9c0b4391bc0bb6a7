"""What clinicians record at a session over the API: administrations and monitoring checks.

Therapists and clinic admins of the session's clinic (the board's scope); a patient gets
403, another clinic 404. ``given_by`` and ``recorded_by`` are ``{id, name}`` objects (null
once that colleague's account is gone); doses are JSON numbers.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask_login import current_user

from kap.api import bp
from kap.api.io import iso, json_body
from kap.models import MedicationAdministration, Role, SessionObservation, User
from kap.services.board import administrations, observations
from kap.services.board.vitals import STATE_FIELDS, VITALS, observation_flags, vitals_limits
from kap.services.errors import Invalid
from kap.services.sessions.flow import parse_device_time
from kap.web.roles import api_roles

CLINICIANS = (Role.THERAPIST, Role.CLINIC_ADMIN)


def _person(user: User | None) -> dict[str, Any] | None:
    return {"id": user.id, "name": user.name} if user is not None else None


def administration_json(given: MedicationAdministration) -> dict[str, Any]:
    """The administration shape of the API (the note is not echoed)."""
    return {
        "id": given.id,
        "medication": given.medication,
        "route": given.route,
        "dose": administrations.dose_number(given.dose),
        "unit": given.unit,
        "lot": given.lot,
        "at": iso(given.given_at),
        "given_by": _person(given.given_by),
    }


def check_json(observation: SessionObservation, clinic) -> dict[str, Any]:
    """A reading with its flags: vitals 'high'/'low'; sedation below 5 and a respiratory
    concern 'attention'; only flagged fields are present."""
    return {
        "id": observation.id,
        "kind": observation.kind,
        "recorded_at": iso(observation.recorded_at),
        "recorded_by": _person(observation.recorded_by),
        **{name: getattr(observation, name) for name in (*VITALS, *STATE_FIELDS)},
        "note": observation.note or "",
        "flags": observation_flags(observation, vitals_limits(clinic)),
    }


def _whole_number(body: dict, name: str, problems: dict) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        problems[name] = ["A whole number."]
        return None
    return value


def _check_values(body: dict) -> tuple[dict, str]:
    """The reading's values and note from a JSON body, or Invalid naming the fields."""
    problems: dict[str, list[str]] = {}
    values: dict[str, Any] = {
        name: _whole_number(body, name, problems) for name in (*VITALS, "sedation")
    }
    dissociation = body.get("dissociation")
    if dissociation is not None and not isinstance(dissociation, str):
        problems["dissociation"] = ["One of none, mild, moderate, severe."]
        dissociation = None
    values["dissociation"] = dissociation
    concern = body.get("respiratory_concern")
    if concern is not None and not isinstance(concern, bool):
        problems["respiratory_concern"] = ["true or false."]
        concern = None
    values["respiratory_concern"] = concern
    note = body.get("note")
    if note is not None and not isinstance(note, str):
        problems["note"] = ["Text, please."]
    if problems:
        raise Invalid("Some values need another look.", problems)
    return values, note or ""


@bp.route("/sessions/<int:session_id>/administrations", methods=["POST"])
@api_roles(*CLINICIANS)
def post_administration(session_id: int):
    """Record what was given: {medication, route, dose, unit, lot?, at?, note?} → 201."""
    body = json_body()
    fields = {name: body.get(name) for name in ("medication", "route", "dose", "unit", "lot")}
    fields["note"] = body.get("note")
    fields["at"] = parse_device_time(body.get("at"))
    given = administrations.record_administration(current_user, session_id, fields)
    return jsonify(administration=administration_json(given)), 201


@bp.route("/sessions/<int:session_id>/checks", methods=["POST"])
@api_roles(*CLINICIANS)
def post_check(session_id: int):
    """Record a monitoring reading: {kind, vitals?, sedation?, dissociation?,
    respiratory_concern?, note?} → 201 with its flags."""
    body = json_body()
    kind = body.get("kind")
    if not isinstance(kind, str):
        raise Invalid("kind is required.", {"kind": ["pre_dose, post_dose, check or final."]})
    values, note = _check_values(body)
    observation = observations.record_observation(
        current_user, session_id, kind=kind, values=values, note=note
    )
    return jsonify(check=check_json(observation, current_user.clinic)), 201
