"""The template editor's state between requests: adding, removing and moving a draft's rows.

The editor is one form posted back to itself: each button names an action ('add-cues',
'remove-tracks-2', 'up-checklist-1') that changes the draft in hand and shows it again.
Nothing is saved until "Save" hands the draft to kap.services.clinic.templates.
"""

from __future__ import annotations

from kap.services.clinic.templates import ChecklistRow, CueRow, TemplateDraft, TrackRow

#: Rows a list may grow to from the editor (a clinic's real lists stay far below).
MAX_ROWS = 60

#: The editable lists of a draft and the empty row each one grows by.
LISTS = {
    "checklist": ChecklistRow,
    "intention": str,
    "tracks": TrackRow,
    "cues": CueRow,
    "integration": str,
}
_LIST_ATTRIBUTES = {
    "checklist": "checklist",
    "intention": "intention_prompts",
    "tracks": "tracks",
    "cues": "cues",
    "integration": "integration_prompts",
}


def draft_list(draft: TemplateDraft, name: str) -> list:
    """One of the draft's editable lists by its form name."""
    return getattr(draft, _LIST_ATTRIBUTES[name])


def apply_list_action(draft: TemplateDraft, action: str) -> bool:
    """Add, remove or move a row ('add-cues', 'remove-tracks-2', 'up-checklist-1').

    Returns False for an action it does not know. Nothing is saved.
    """
    parts = action.split("-")
    if len(parts) < 2 or parts[1] not in LISTS:
        return False
    verb, name = parts[0], parts[1]
    rows = draft_list(draft, name)
    if verb == "add" and len(parts) == 2:
        if len(rows) < MAX_ROWS:
            rows.append(LISTS[name]() if LISTS[name] is not str else "")
        return True
    if len(parts) != 3 or not parts[2].isdigit() or int(parts[2]) >= len(rows):
        return False
    index = int(parts[2])
    if verb == "remove":
        rows.pop(index)
    elif verb == "up" and index > 0:
        rows[index - 1], rows[index] = rows[index], rows[index - 1]
    elif verb == "down" and index < len(rows) - 1:
        rows[index + 1], rows[index] = rows[index], rows[index + 1]
    elif verb not in ("up", "down"):
        return False
    return True


#: Field labels for the error summary, by input name (rows are by pattern below).
_FIELD_LABELS = {
    "name": "Name",
    "route": "Route",
    "description": "Description",
    "crossfade_seconds": "Cross-fade",
    "downtime_minutes": "Downtime",
    "observation_minutes": "Observation before discharge",
    "post_dose_check_minutes": "Post-dose vitals check",
    "checkin_instruments": "Asked before each session",
    "after_instruments": "Asked after each session",
    "monthly_instruments": "Asked monthly",
    "reminder_kinds": "Reminders",
    "prompt_fallback": "Prompts without a recording",
    "upload": "Audio file",
}
_ROW_LABELS = {
    ("checklist", "text"): "Checklist item {n}",
    ("checklist", "help_text"): "Checklist item {n}, why it matters",
    ("tracks", "title"): "Track {n} title",
    ("tracks", "kind"): "Track {n} sound",
    ("tracks", "key"): "Track {n} key",
    ("tracks", "texture"): "Track {n} texture",
    ("tracks", "duration"): "Track {n} length",
    ("cues", "at"): "Prompt {n} time",
    ("cues", "text"): "Prompt {n} text",
    ("cues", "recording_id"): "Prompt {n} recording",
}
_PROMPT_LABELS = {"intention": "Intention prompt {n}", "integration": "Integration prompt {n}"}


def field_label(name: str) -> str:
    """What the person calls the field an error is about ('cues-1-at' is 'Prompt 2 time')."""
    parts = name.split("-")
    if len(parts) == 3 and parts[1].isdigit() and (parts[0], parts[2]) in _ROW_LABELS:
        return _ROW_LABELS[(parts[0], parts[2])].format(n=int(parts[1]) + 1)
    if len(parts) == 2 and parts[1].isdigit() and parts[0] in _PROMPT_LABELS:
        return _PROMPT_LABELS[parts[0]].format(n=int(parts[1]) + 1)
    return _FIELD_LABELS.get(name, name.replace("_", " ").capitalize())


def error_summary(errors: dict[str, list[str]]) -> list[tuple[str, str, str]]:
    """(field id, label, message) for each error, in the order the service found them.

    The service checks fields in page order, so the summary reads top to bottom like the form.
    """
    return [(name, field_label(name), " ".join(messages)) for name, messages in errors.items()]
