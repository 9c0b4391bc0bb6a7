"""What a patient does to their session: tick items, set the intention, change phase, call staff."""

from flask import jsonify
from flask_login import current_user

from kap.api.io import read_body
from kap.api.operations import conflict, operation
from kap.api.schemas.common import iso
from kap.api.schemas.sessions import (
    CallStaff,
    CallStaffAnswer,
    ChecklistAnswer,
    ChecklistTick,
    Intention,
    IntentionAnswer,
    PhaseAnswer,
    PhaseChange,
)
from kap.metrics import count_replay
from kap.models import Role
from kap.services.sessions import flow as session_flow
from kap.services.sessions.data import session_summary
from kap.services.sessions.staff_calls import call_data, call_of_alert

PATIENT_ONLY = (Role.PATIENT,)
PHASE_CONFLICT = (
    "The phase cannot change. error.code: not_today — outside the start window (checked "
    "first, whatever else is missing; the message says when it can start); "
    "consent_required — the template requires a signed consent and the patient has not "
    "signed the clinic's current version; "
    "check_in_required — the template asks for staff check-in and it has not happened; "
    "conflict — out of order, cancelled, or required preparation unticked.",
    conflict(["not_today", "consent_required", "check_in_required", "conflict"]),
)
CHECKLIST_CONFLICT = (
    "error.code: too_early — a day-of item ticked before 00:00 on the day before the "
    "session (the message names the day; unticking is always allowed); conflict — the "
    "session is complete or cancelled.",
    conflict(["too_early", "conflict"]),
)


def _phase_times(session) -> dict:
    return {
        "started_at": iso(session.session_started_at),
        "downtime_started_at": iso(session.downtime_started_at),
        "integration_started_at": iso(session.integration_started_at),
        "completed_at": iso(session.completed_at),
    }


@operation(
    "/sessions/<int:session_id>/checklist/<int:item_id>",
    "PUT",
    summary="Tick or untick a preparation item",
    tag="Sessions",
    roles=PATIENT_ONLY,
    body=ChecklistTick,
    responses={
        200: ("The item's state and the required items still unticked.", ChecklistAnswer),
        409: CHECKLIST_CONFLICT,
    },
    errors=(404,),
)
def put_checklist_item(session_id: int, item_id: int):
    """Tick or untick a preparation item: {"checked": true|false}."""
    checked = read_body(ChecklistTick).checked
    session_flow.set_item_checked(current_user, session_id, item_id, checked)
    session = session_flow.own_session(current_user, session_id)
    return jsonify(
        item={"id": item_id, "checked": checked},
        missing_required=[item.id for item in session_flow.missing_required(session)],
    )


@operation(
    "/sessions/<int:session_id>/intention",
    "PUT",
    summary="Set the intention (until the session starts)",
    tag="Sessions",
    roles=PATIENT_ONLY,
    body=Intention,
    responses={200: ("The intention as stored (trimmed).", IntentionAnswer)},
    errors=(404, 409),
)
def put_intention(session_id: int):
    """Set the intention text (until the session starts)."""
    session = session_flow.set_intention(current_user, session_id, read_body(Intention).text)
    return jsonify(intention=session.intention, updated_at=iso(session.intention_updated_at))


@operation(
    "/sessions/<int:session_id>/phase",
    "POST",
    summary="Move to the next phase",
    tag="Sessions",
    roles=PATIENT_ONLY,
    body=PhaseChange,
    description=(
        "session, downtime, integration, complete — in that order. 409 when out of order or "
        "when required preparation is unticked; re-sending the current phase answers 200 "
        "with changed false. To start (session), in this order: not_today outside "
        "start_window, consent_required, check_in_required, then unticked items. at is "
        "believed for the start only when it lies in the window, is at most 5 minutes ahead "
        "of the server and arrives within 12 hours of the window's end; otherwise the "
        "server's time is used."
    ),
    responses={200: ("The session's state after the change.", PhaseAnswer), 409: PHASE_CONFLICT},
    errors=(404,),
)
def post_phase(session_id: int):
    """Move to the next phase: {"phase": "session"|"downtime"|"integration"|"complete", "at"?}.

    409 when out of order or when required preparation is unticked. Re-sending the current
    phase answers 200 and changes nothing (safe to retry).
    """
    body = read_body(PhaseChange)
    at = session_flow.parse_device_time(body.at)
    session, changed = session_flow.advance_phase(current_user, session_id, body.phase, at)
    if not changed:
        count_replay("phase")
    return jsonify(session={**session_summary(session), **_phase_times(session)}, changed=changed)


@operation(
    "/sessions/<int:session_id>/call-staff",
    "POST",
    summary="Ask clinic staff to come now",
    tag="Sessions",
    roles=PATIENT_ONLY,
    body=CallStaff,
    description="Once per client_id: a retry answers 200 with the first alert.",
    responses={
        201: ("Staff alerted.", CallStaffAnswer),
        200: ("Already alerted for this client_id.", CallStaffAnswer),
    },
    errors=(404,),
)
def post_call_staff(session_id: int):
    """Ask clinic staff to come now: {"client_id"?, "at"?}. Once per client_id.

    The answer carries the call's state too (a retry may find it acknowledged already).
    """
    body = read_body(CallStaff)
    at = session_flow.parse_device_time(body.at)
    alert, created = session_flow.call_staff(current_user, session_id, body.client_id, at)
    if not created:
        count_replay("call_staff")
    return jsonify(
        alert={"id": alert.id, "kind": alert.kind, "created_at": iso(alert.created_at)},
        call=call_data(call_of_alert(alert)),
    ), (201 if created else 200)
