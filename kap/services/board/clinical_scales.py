"""The clinical scales recorded at monitoring checks, in words: MOAA/S sedation, dissociation.

Pure lookups, the only home of these labels and thresholds: the discharge rule (what is
"clear"), the board's flags and forms, the printable record and the API description.
"""

from __future__ import annotations

#: Modified Observer's Assessment of Alertness/Sedation (MOAA/S). The one wording of the
#: scale: the board's form, the board rows, the printed record and the API all read it here.
SEDATION_LABELS = {
    5: "Responds readily to name in normal tone",
    4: "Lethargic response to name",
    3: "Responds only after name is called loudly or repeatedly",
    2: "Responds only after mild prodding or shaking",
    1: "Responds only after painful trapezius squeeze",
    0: "No response",
}
#: Back to baseline: the only MOAA/S score at which a patient is clear to leave.
SEDATION_CLEAR = 5

DISSOCIATION_LABELS = {
    "none": "None",
    "mild": "Mild",
    "moderate": "Moderate",
    "severe": "Severe",
}
#: Dissociation a patient may go home with.
DISSOCIATION_CLEAR = ("none", "mild")


def sedation_text(score: int | None) -> str:
    """'5: Responds readily to name', or '' when not recorded."""
    if score is None:
        return ""
    label = SEDATION_LABELS.get(score)
    return f"{score}: {label}" if label else str(score)


def dissociation_text(level: str | None) -> str:
    """'Mild', or '' when not recorded."""
    if not level:
        return ""
    return DISSOCIATION_LABELS.get(level, level.capitalize())


def respiratory_text(concern: bool | None) -> str:
    """'Concern noted' / 'No concern', or '' when not recorded."""
    if concern is None:
        return ""
    return "Concern noted" if concern else "No concern"
