"""A session as its viewers need it: the shape of the API and of session mode's data block."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from kap.extensions import db
from kap.models import Clinic, TrackKind, TreatmentSession, User
from kap.services.audio import prompt_track
from kap.services.sessions import start_window
from kap.services.sessions.playlist import playlist_length
from kap.services.sessions.staff_calls import StaffCall, call_data, calls_of


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def session_summary(session: TreatmentSession) -> dict[str, Any]:
    """The list shape of the API (plus a few fields clients find useful)."""
    version = session.template_version
    return {
        "id": session.id,
        "patient_id": session.patient_id,
        "scheduled_at": _iso(session.scheduled_at),
        "status": session.status,
        "template_name": version.template.name,
        "template_version": version.number,
        "is_booster": session.is_booster,
        "location_label": session.location_label,
    }


def prompt_audio(
    session: TreatmentSession, prompt_url: Callable[[int, str], str]
) -> dict[str, Any] | None:
    """Where the session's prompt track is and what it is (None when there are no cues)."""
    plan = prompt_track.plan_for(session.template_version)
    if plan is None:
        return None
    return {
        "url": prompt_url(session.id, plan.key),
        "key": plan.key,
        "duration_seconds": plan.duration_seconds,
        "type": prompt_track.CONTENT_TYPE,
    }


def session_detail(
    session: TreatmentSession,
    audio_url: Callable[[int], str],
    prompt_url: Callable[[int, str], str],
    reader: User | None = None,
    calls: list[StaffCall] | None = None,
) -> dict[str, Any]:
    """Everything needed to prepare for and run the session (the API's detail shape).

    ``calls`` are the patient's Call staff requests in their real state (one query, unless the
    caller already has them); ``clinic_phone`` goes with them, so a phone that stored the
    session can say "phone the clinic" when a call cannot be sent offline.
    The intention is for the patient and their care team ("Your care team can read it"): a
    clinic admin as ``reader`` gets it empty: clinic admins do not read what patients write.
    ``prompt_audio`` is the track that sounds the cues on the phone (services/audio).
    ``start_window`` and each item's ``tickable_from`` let the phone (offline too) keep Start
    session and early day-of items disabled; the server checks both again.
    """
    version = session.template_version
    clinic = start_window.clinic_of(session)
    window = start_window.window_for(session, clinic)
    day_of_from = _iso(start_window.day_of_opens_at(session, clinic))
    hide_intention = reader is not None and reader.is_clinic_admin
    ticked = {tick.item_id for tick in session.ticks}
    durations = [track.duration_seconds for track in version.tracks]
    playlist = []
    for track in version.tracks:
        item: dict[str, Any] = {
            "id": track.id,
            "title": track.title,
            "duration_seconds": track.duration_seconds,
            "kind": track.kind,
        }
        if track.kind == TrackKind.UPLOAD and track.audio_file_id is not None:
            item["url"] = audio_url(track.audio_file_id)
        else:
            item["soundscape"] = dict(track.soundscape or {})
        playlist.append(item)
    return {
        **session_summary(session),
        "template_description": version.description,
        "checklist": [
            {
                "id": item.id,
                "text": item.text,
                "help_text": item.help_text,
                "required": item.required,
                "checked": item.id in ticked,
                "day_of": item.day_of,
                "tickable_from": day_of_from if item.day_of else None,
            }
            for item in version.checklist_items
        ],
        "intention": "" if hide_intention else session.intention or "",
        "intention_prompts": list(version.intention_prompts or []),
        "playlist": playlist,
        "playlist_seconds": playlist_length(durations, version.crossfade_seconds),
        "crossfade_seconds": version.crossfade_seconds,
        "cues": [
            {"at_seconds": cue.at_seconds, "text": cue.text, "chime": cue.chime}
            for cue in version.cues
        ],
        "prompt_audio": prompt_audio(session, prompt_url),
        "downtime_minutes": version.downtime_minutes,
        "observation_minutes": version.observation_minutes,
        "integration_prompts": list(version.integration_prompts or []),
        "started_at": _iso(session.session_started_at),
        "downtime_started_at": _iso(session.downtime_started_at),
        "integration_started_at": _iso(session.integration_started_at),
        "completed_at": _iso(session.completed_at),
        "calls": [call_data(call) for call in (calls_of(session) if calls is None else calls)],
        "clinic_phone": db.session.get_one(Clinic, session.clinic_id).phone or "",
        "start_window": {"opens_at": _iso(window.opens_at), "closes_at": _iso(window.closes_at)},
        "requires_check_in": version.requires_check_in,
        "checked_in_at": _iso(session.checked_in_at),
    }
