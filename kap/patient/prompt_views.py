"""The session's prompt track, for the patient's phone (kap/services/audio/prompt_track.py)."""

from flask import abort
from flask_login import current_user

from kap.patient import bp
from kap.services.audio import prompt_track
from kap.services.sessions.flow import own_session
from kap.web.media import media_response


@bp.route("/sessions/<int:session_id>/prompts.m4a")
def session_prompts(session_id: int):
    """The chimes and spoken prompts of the patient's session, seekable via HTTP ranges."""
    session = own_session(current_user, session_id)
    plan = prompt_track.plan_for(session.template_version)
    if plan is None:
        abort(404)
    # Signed-in answers are no-store (kap/web/headers.py): the phone keeps its own copy in its
    # device store for offline use, and revalidates with the ETag.
    # Range and If-None-Match: players seek, phones revalidate cheaply.
    return media_response(
        prompt_track.track_name(plan), mimetype=prompt_track.CONTENT_TYPE, etag=plan.key
    )
