"""Reading the template editor's posted fields into a TemplateDraft (and back out by name)."""

from __future__ import annotations

import re
from collections import defaultdict

from werkzeug.datastructures import MultiDict

from kap.models import PromptFallback, TrackKind
from kap.services.clinic.templates import ChecklistRow, CueRow, TemplateDraft, TrackRow

_ROW_FIELD = re.compile(r"^(checklist|tracks|cues|contacts)-(\d{1,3})-([a-z_]+)$")
_PROMPT = re.compile(r"^(intention|integration)-(\d{1,3})$")


def _rows(form: MultiDict, name: str) -> list[dict[str, str]]:
    """Rows of a list in the order their indices say (the page renders them in order)."""
    rows: dict[int, dict[str, str]] = defaultdict(dict)
    for key in form:
        match = _ROW_FIELD.match(key)
        if match and match.group(1) == name:
            rows[int(match.group(2))][match.group(3)] = form.get(key, "")
    return [rows[index] for index in sorted(rows)]


def _prompts(form: MultiDict, name: str) -> list[str]:
    found: dict[int, str] = {}
    for key in form:
        match = _PROMPT.match(key)
        if match and match.group(1) == name:
            found[int(match.group(2))] = form.get(key, "")
    return [found[index] for index in sorted(found)]


def _int(text: str, default: int) -> int:
    return int(text) if (text or "").isdigit() else default


def _track(row: dict[str, str]) -> TrackRow:
    kind = row.get("kind", TrackKind.SOUNDSCAPE)
    audio_file_id = None
    if kind.startswith("upload:"):
        audio_file_id = _int(kind.removeprefix("upload:"), -1)
        kind = TrackKind.UPLOAD
    return TrackRow(
        title=row.get("title", ""),
        kind=kind,
        audio_file_id=audio_file_id,
        key=row.get("key", "D"),
        texture=row.get("texture", "drone"),
        seed=_int(row.get("seed", ""), 1),
        duration=row.get("duration", ""),
    )


def draft_from_form(form: MultiDict) -> TemplateDraft:
    """Everything the editor posted, as typed: nothing is dropped, even when invalid."""
    return TemplateDraft(
        name=form.get("name", ""),
        route=form.get("route", ""),
        description=form.get("description", ""),
        crossfade_seconds=form.get("crossfade_seconds", ""),
        downtime_minutes=form.get("downtime_minutes", ""),
        observation_minutes=form.get("observation_minutes", ""),
        post_dose_check_minutes=form.get("post_dose_check_minutes", ""),
        requires_check_in=form.get("requires_check_in") == "y",
        requires_intake=form.get("requires_intake") == "y",
        requires_consent=form.get("requires_consent") == "y",
        checkin_instruments=form.getlist("checkin_instruments"),
        after_instruments=form.getlist("after_instruments"),
        monthly_instruments=form.getlist("monthly_instruments"),
        reminder_kinds=form.getlist("reminder_kinds"),
        checklist=[
            ChecklistRow(
                r.get("text", ""),
                r.get("help_text", ""),
                r.get("required") == "y",
                r.get("day_of") == "y",
            )
            for r in _rows(form, "checklist")
        ],
        intention_prompts=_prompts(form, "intention"),
        tracks=[_track(r) for r in _rows(form, "tracks")],
        cues=[
            CueRow(
                r.get("at", ""),
                r.get("text", ""),
                r.get("chime") == "y",
                _int(r["recording_id"], -1) if r.get("recording_id") else None,
            )
            for r in _rows(form, "cues")
        ],
        prompt_fallback=form.get("prompt_fallback", PromptFallback.GENERATED_VOICE),
        integration_prompts=_prompts(form, "integration"),
    )


def contacts_from_form(form: MultiDict) -> list[dict[str, str]]:
    """The crisis-contact rows of the settings page."""
    return _rows(form, "contacts")
