"""Reading the questionnaire editor's posted fields into a QuestionnaireDraft, as typed."""

from __future__ import annotations

import json
import re
from collections import defaultdict

from werkzeug.datastructures import MultiDict

from kap.services.clinic.instruments import ItemRow, QuestionnaireDraft

_ITEM_FIELD = re.compile(r"^items-(\d{1,3})-([a-z_]+)$")
#: Blank question rows the editor offers below the last one, and how many "Add more" adds.
BLANK_ROWS = 3
MORE_ROWS = 5
MAX_ROWS = 150


def _item_rows(form: MultiDict) -> list[ItemRow]:
    rows: dict[int, dict[str, str]] = defaultdict(dict)
    for key in form:
        match = _ITEM_FIELD.match(key)
        if match:
            rows[int(match.group(1))][match.group(2)] = form.get(key, "")
    return [
        ItemRow(
            id=row.get("id", ""),
            text=row.get("text", ""),
            kind=row.get("kind", "choice"),
            options=row.get("options", ""),
            minimum=row.get("minimum", ""),
            maximum=row.get("maximum", ""),
            required=row.get("required") == "y",
            scored=row.get("scored") == "y",
            review=row.get("review", ""),
            review_if_answered=row.get("review_if_answered") == "y",
            alert_at_least=row.get("alert_at_least", ""),
            section=row.get("section", ""),
            alert_kind=row.get("alert_kind", ""),
        )
        for row in (rows[index] for index in sorted(rows)[:MAX_ROWS])
    ]


def _band_keys(text: str) -> dict[str, str]:
    try:
        keys = json.loads(text or "{}")
    except ValueError:
        return {}
    if not isinstance(keys, dict):
        return {}
    return {k: v[:30] for k, v in keys.items() if isinstance(k, str) and isinstance(v, str)}


def draft_from_form(form: MultiDict) -> QuestionnaireDraft:
    """Everything the editor posted; nothing is dropped, even when invalid."""
    based_on = form.get("based_on", "")
    return QuestionnaireDraft(
        code=form.get("code", ""),
        name=form.get("name", ""),
        title=form.get("title", ""),
        question=form.get("question", ""),
        source=form.get("source", ""),
        scored=form.get("scored") == "y",
        bands=form.get("bands", ""),
        band_keys=_band_keys(form.get("band_keys", "")),
        response=form.get("response", ""),
        remission_below=form.get("remission_below", ""),
        includes=form.get("includes", ""),
        review_scores=form.get("review_scores", ""),
        items=_item_rows(form),
        based_on=int(based_on) if based_on.isdigit() else 0,
    )


def with_blank_rows(draft: QuestionnaireDraft, blank: int = BLANK_ROWS) -> QuestionnaireDraft:
    """The draft with ``blank`` empty question rows at its end (at most MAX_ROWS in all)."""
    trailing = 0
    for row in reversed(draft.items):
        if not row.blank:
            break
        trailing += 1
    while trailing < blank and len(draft.items) < MAX_ROWS:
        draft.items.append(ItemRow())
        trailing += 1
    return draft
