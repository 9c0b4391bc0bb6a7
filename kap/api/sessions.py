"""Sessions, scoped per role: a patient's own, a therapist's care list's, an admin's clinic's."""

from flask import jsonify, request, url_for
from flask_login import current_user

from kap.api.io import paged, query_int
from kap.api.operations import operation, paging, query_parameter
from kap.api.schemas.sessions import Calls, SessionDetailAnswer, Sessions
from kap.models import SessionStatus
from kap.models.base import MAX_ID
from kap.services.sessions.data import session_detail, session_summary
from kap.services.sessions.queries import filtered_sessions, get_session_for
from kap.services.sessions.staff_calls import call_data, calls_for


@operation(
    "/sessions",
    summary="Sessions the caller may see",
    tag="Sessions",
    roles=(),
    description=(
        "A patient's own, a therapist's care list's, an admin's clinic's; oldest first, "
        "paged with limit and offset (next_offset is null on the last page)."
    ),
    parameters=[
        query_parameter(
            "patient_id",
            {"type": "integer", "minimum": 1, "maximum": MAX_ID},
            "Only this patient's sessions.",
        ),
        query_parameter("status", {"type": "string", "enum": [s.value for s in SessionStatus]}),
        *paging("sessions"),
    ],
    responses={200: ("The sessions.", Sessions)},
    errors=(400,),
)
def list_sessions():
    """Sessions the caller may see, oldest first; filter by patient_id and status; paged."""
    patient_id = None
    if "patient_id" in request.args:
        patient_id = query_int("patient_id", 0, 1, MAX_ID)
    query = filtered_sessions(
        current_user, patient_id=patient_id, status=request.args.get("status")
    )
    rows, next_offset = paged(query)
    return jsonify(sessions=[session_summary(s) for s in rows], next_offset=next_offset)


def audio_url(audio_id: int) -> str:
    """Where a session's uploaded track is fetched from."""
    return url_for("main.audio", audio_id=audio_id)


def prompt_url(session_id: int, key: str) -> str:
    """Where the session's prompt track is fetched from (the key busts a stale copy)."""
    return url_for("patient.session_prompts", session_id=session_id, v=key)


@operation(
    "/sessions/<int:session_id>",
    summary="One session with everything needed to prepare and run it",
    tag="Sessions",
    roles=(),
    description="The fields at the top level and, identically, under session.",
    responses={200: ("The session.", SessionDetailAnswer)},
    errors=(404,),
)
def get_session(session_id: int):
    """One session with its checklist, intention, playlist, cues and prompts."""
    detail = session_detail(
        get_session_for(current_user, session_id), audio_url, prompt_url, current_user
    )
    # The API contract reads both ways ("the list item plus ..." and the {user: ...} envelope of
    # /me), so the fields are at the top level and, identically, under "session".
    return jsonify(session=detail, **detail)


@operation(
    "/sessions/<int:session_id>/calls",
    summary="The session's Call staff requests, oldest first",
    tag="Sessions",
    roles=(),
    description=(
        "The same list as calls in the session's detail, without the rest of the session: "
        "what session mode polls while a call is open. Scoped like the detail (a patient: "
        "their own sessions)."
    ),
    responses={200: ("The calls.", Calls)},
    errors=(404,),
)
def session_calls(session_id: int):
    """The session's Call staff requests in their real state: what session mode polls."""
    return jsonify(calls=[call_data(call) for call in calls_for(current_user, session_id)])
