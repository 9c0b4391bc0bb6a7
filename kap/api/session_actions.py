"""What a patient does to their session: tick items, set the intention, change phase, call staff."""

from flask import jsonify
from flask_login import current_user

from kap.api import bp
from kap.api.io import iso, json_body
from kap.models import Role
from kap.services.errors import Invalid
from kap.services.sessions import flow as session_flow
from kap.services.sessions.data import session_summary
from kap.services.sessions.staff_calls import call_data, call_of_alert
from kap.web.roles import api_roles


def _phase_times(session) -> dict:
    return {
        "started_at": iso(session.session_started_at),
        "downtime_started_at": iso(session.downtime_started_at),
        "integration_started_at": iso(session.integration_started_at),
        "completed_at": iso(session.completed_at),
    }


@bp.route("/sessions/<int:session_id>/checklist/<int:item_id>", methods=["PUT"])
@api_roles(Role.PATIENT)
def put_checklist_item(session_id: int, item_id: int):
    """Tick or untick a preparation item: {"checked": true|false}."""
    checked = json_body().get("checked")
    if not isinstance(checked, bool):
        raise Invalid("checked must be true or false.", {"checked": ["true or false."]})
    session_flow.set_item_checked(current_user, session_id, item_id, checked)
    session = session_flow.own_session(current_user, session_id)
    return jsonify(
        item={"id": item_id, "checked": checked},
        missing_required=[item.id for item in session_flow.missing_required(session)],
    )


@bp.route("/sessions/<int:session_id>/intention", methods=["PUT"])
@api_roles(Role.PATIENT)
def put_intention(session_id: int):
    """Set the intention text (until the session starts)."""
    session = session_flow.set_intention(current_user, session_id, json_body().get("text"))
    return jsonify(intention=session.intention, updated_at=iso(session.intention_updated_at))


@bp.route("/sessions/<int:session_id>/phase", methods=["POST"])
@api_roles(Role.PATIENT)
def post_phase(session_id: int):
    """Move to the next phase: {"phase": "session"|"downtime"|"integration"|"complete", "at"?}.

    409 when out of order or when required preparation is unticked. Re-sending the current
    phase answers 200 and changes nothing (safe to retry).
    """
    body = json_body()
    at = session_flow.parse_device_time(body.get("at"))
    session, changed = session_flow.advance_phase(current_user, session_id, body.get("phase"), at)
    return jsonify(session={**session_summary(session), **_phase_times(session)}, changed=changed)


@bp.route("/sessions/<int:session_id>/call-staff", methods=["POST"])
@api_roles(Role.PATIENT)
def post_call_staff(session_id: int):
    """Ask clinic staff to come now: {"client_id"?, "at"?}. Once per client_id.

    The answer carries the call's state too (a retry may find it acknowledged already).
    """
    body = json_body()
    client_id = body.get("client_id")
    if client_id is not None and (not isinstance(client_id, str) or not 0 < len(client_id) <= 64):
        raise Invalid("client_id is up to 64 characters.", {"client_id": ["Up to 64 characters."]})
    at = session_flow.parse_device_time(body.get("at"))
    alert, created = session_flow.call_staff(current_user, session_id, client_id, at)
    return jsonify(
        alert={"id": alert.id, "kind": alert.kind, "created_at": iso(alert.created_at)},
        call=call_data(call_of_alert(alert)),
    ), (201 if created else 200)
