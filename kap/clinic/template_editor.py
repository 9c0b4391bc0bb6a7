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
