"""What a new template starts with: a clinic's preparation rules written out, editable."""

from __future__ import annotations

from typing import TypedDict

from kap.models import Clinic, DoseRoute

SOUNDSCAPE_KEYS = ("C", "D", "E", "F", "G", "A", "Bb")
SOUNDSCAPE_TEXTURES = ("drone", "pad", "waves", "bells")
TEXTURE_LABELS = {
    "drone": "Warm drone",
    "pad": "Soft pad",
    "waves": "Slow waves",
    "bells": "Distant bells",
}

DEFAULT_INTENTION_PROMPTS = [
    "What would you like to explore or understand in this session?",
    "Is there something you are ready to set down or let go of?",
    "How would you like to treat yourself during and after the session?",
]

DEFAULT_INTEGRATION_PROMPTS = [
    "What stood out most from the session?",
    "What feelings came up, and where did you notice them in your body?",
    "Was there an image, memory or insight you want to remember?",
    "What is one small thing you would like to carry into this week?",
]

#: Minutes of monitored observation before discharge, by route (esketamine: two hours).
DEFAULT_OBSERVATION_MINUTES = {
    DoseRoute.IV_INFUSION: 60,
    DoseRoute.IM_INJECTION: 60,
    DoseRoute.ESKETAMINE_NASAL: 120,
    DoseRoute.ORAL_LOZENGE: 60,
}
#: Minutes after dosing of the protocol's post-dose vitals (esketamine REMS: about 40).
DEFAULT_POST_DOSE_CHECK_MINUTES = {
    DoseRoute.IV_INFUSION: 0,
    DoseRoute.IM_INJECTION: 0,
    DoseRoute.ESKETAMINE_NASAL: 40,
    DoseRoute.ORAL_LOZENGE: 0,
}
#: Whether staff check the patient in (ID, pre-dose vitals) before session mode unlocks.
DEFAULT_REQUIRES_CHECK_IN = {
    DoseRoute.IV_INFUSION: True,
    DoseRoute.IM_INJECTION: True,
    DoseRoute.ESKETAMINE_NASAL: True,
    DoseRoute.ORAL_LOZENGE: False,
}


class ChecklistDefault(TypedDict):
    """A preparation item a new template starts with."""

    text: str
    help_text: str
    required: bool
    day_of: bool


class TrackDefault(TypedDict):
    """A generated soundscape a new template's playlist starts with."""

    title: str
    kind: str
    key: str
    texture: str
    seed: int
    duration_seconds: int


class CueDefault(TypedDict):
    """An eye-mask prompt a new template starts with."""

    at_seconds: int
    text: str
    chime: bool


def default_checklist(clinic: Clinic) -> list[ChecklistDefault]:
    """Set-and-setting items written with the clinic's own numbers."""
    return [
        {
            "text": f"No food for {clinic.fasting_hours} hours before my session",
            "help_text": "An empty stomach lowers the chance of nausea during the session.",
            "required": True,
            "day_of": True,
        },
        {
            "text": f"No liquids in the last {clinic.clear_liquids_hours} hours before my session",
            "help_text": (
                "Small sips of water with your usual medicines are fine unless told otherwise."
            ),
            "required": True,
            "day_of": True,
        },
        {
            "text": (
                f"No alcohol, cannabis or sedatives for {clinic.substance_free_hours} hours "
                "before and after my session"
            ),
            "help_text": "Ketamine taken with alcohol can be dangerous, even fatal.",
            "required": True,
            "day_of": True,
        },
        {
            "text": "I have reviewed my medications with the clinic",
            "help_text": (
                "Benzodiazepines and lamotrigine can weaken ketamine's effect; clarithromycin "
                "and grapefruit juice can make a low dose act like a high one. Tell the clinic "
                "about anything new."
            ),
            "required": True,
            "day_of": False,
        },
        {
            "text": "A ride home is arranged, and I will not drive until the next day after sleep",
            "help_text": "Ketamine affects coordination and judgement for hours after a session.",
            "required": True,
            "day_of": True,
        },
        {
            "text": "My room is quiet, with an eye mask and headphones ready",
            "help_text": "Music and darkness help you turn inward and stay undisturbed.",
            "required": False,
            "day_of": False,
        },
    ]


def default_playlist() -> list[TrackDefault]:
    """Forty minutes of generated soundscapes: no licences, no downloads."""
    return [
        {
            "title": "Arrival",
            "kind": "soundscape",
            "key": "D",
            "texture": "drone",
            "seed": 11,
            "duration_seconds": 600,
        },
        {
            "title": "Open sky",
            "kind": "soundscape",
            "key": "A",
            "texture": "pad",
            "seed": 23,
            "duration_seconds": 900,
        },
        {
            "title": "Tide",
            "kind": "soundscape",
            "key": "F",
            "texture": "waves",
            "seed": 37,
            "duration_seconds": 900,
        },
    ]


def default_cues() -> list[CueDefault]:
    """Gentle eye-mask prompts across the default playlist."""
    return [
        {"at_seconds": 30, "text": "Settle in. Let your breath slow down.", "chime": True},
        {
            "at_seconds": 600,
            "text": "Whatever comes, you can let it pass like weather.",
            "chime": True,
        },
        {"at_seconds": 1800, "text": "You are safe. Your care team is close by.", "chime": True},
    ]
