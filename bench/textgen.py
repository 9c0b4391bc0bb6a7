"""Plausible patient and clinician text of realistic lengths, from a fixed seed.

Sentences are drawn from small pools written in the voice of integration journals, session
intentions, replies and clinical notes; lengths follow a log-normal shape (most entries a few
paragraphs, a few long ones), which is what makes page weight and rendering time realistic.
"""

from __future__ import annotations

import math
import random

JOURNAL_SENTENCES = [
    "The music felt like weather passing over me.",
    "I saw my grandmother's kitchen again, the yellow light over the table.",
    "For a while there was no body at all, only colour and a slow hum.",
    "I noticed I was holding my breath every time I thought about work.",
    "Letting it go felt like setting down a bag I had carried for years.",
    "Tired today, and a little raw, but not in a bad way.",
    "I cried near the end and I am not sure why; it felt clean.",
    "The heaviness was still there, but it had edges, like I could walk around it.",
    "I want to talk about my brother in our next session.",
    "Walked by the river this morning and actually heard the birds.",
    "Sleep was better last night than it has been in weeks.",
    "The old thought came back at lunch: that I am too much for people.",
    "This time I could watch it come and go instead of believing it.",
    "My partner said I seemed lighter at dinner.",
    "I keep coming back to the image of a door left open.",
    "There was a moment of fear when the room seemed to tilt, and then it passed.",
    "I felt held by something bigger than me, which is hard to put into words.",
    "Today was flat again, grey and slow, and I am trying not to panic about it.",
    "I made the phone call I had been avoiding for a month.",
    "I noticed how often I apologise for things that are not my fault.",
    "The integration prompts helped: what stood out most was the silence.",
    "I was kinder to myself when I burned the toast, which sounds silly but matters.",
    "I want to remember that the sadness and the relief came together.",
    "Work was loud and I felt the old tightness in my chest by the afternoon.",
    "I breathed the way we practised and it eased a little.",
    "Part of me wants the next session to come faster, part of me is nervous.",
    "I drew the shapes I saw; they look childish on paper but they meant something.",
    "My mother called and for once I did not feel twelve years old.",
    "I am noticing the difference between being alone and being lonely.",
    "Mood was low in the morning and better by the evening walk.",
]
INTENTION_SENTENCES = [
    "To understand why I keep pulling away from people I love.",
    "To meet the heaviness with curiosity instead of fear.",
    "To notice what I need, and let myself have it.",
    "To be with whatever comes up without trying to fix it.",
    "To look at the grief I have been avoiding since last spring.",
    "To feel at home in my body, even for a few minutes.",
    "To let go of the need to control how this goes.",
    "To ask what the anxiety is trying to protect.",
    "To rest, and to trust the people in the room.",
    "To find some compassion for the younger version of me.",
]
COMMENT_SENTENCES = [
    "Thank you for sharing this.",
    "The image of the open door seems important; let's stay with it next time.",
    "It sounds like you were able to watch the thought rather than become it.",
    "That is real progress, even if it felt small.",
    "Let's make time for your brother in our next session.",
    "Notice how your body responded; we can build on that.",
    "It makes sense that the flat days feel scary after a good week.",
    "Keep writing like this; it helps us see the pattern together.",
    "I am glad the breathing helped.",
    "We can go slowly with this.",
]
NOTE_SENTENCES = [
    "Patient arrived on time, fasting confirmed, ride home arranged.",
    "Vitals stable before and after dosing.",
    "Reported mild nausea at twenty minutes, resolved without medication.",
    "Dissociation moderate; patient remained comfortable and responsive.",
    "Integration discussion focused on family relationships and self-criticism.",
    "PHQ-9 trending down since the second session.",
    "No suicidal ideation reported; safety plan reviewed and unchanged.",
    "Discussed sleep hygiene and continued journaling between sessions.",
    "Plan: continue course as scheduled, review at session six.",
    "Patient describes improved mood and energy, more engagement at work.",
]


def _lognormal_length(rng: random.Random, median: int, sigma: float, low: int, high: int) -> int:
    return int(min(high, max(low, rng.lognormvariate(math.log(median), sigma))))


def _text(rng: random.Random, pool: list[str], length: int, paragraph_every: int = 0) -> str:
    parts: list[str] = []
    size = 0
    while size < length:
        sentence = rng.choice(pool)
        parts.append(sentence)
        size += len(sentence) + 1
        if paragraph_every and len(parts) % paragraph_every == 0:
            parts.append("\n\n")
    return " ".join(parts).replace(" \n\n ", "\n\n").strip()


def journal_body(rng: random.Random) -> str:
    """An integration journal entry: median about 600 characters, up to 5,000."""
    return _text(rng, JOURNAL_SENTENCES, _lognormal_length(rng, 600, 0.7, 60, 5000), 5)


def intention(rng: random.Random) -> str:
    """A session intention: one to three sentences."""
    return _text(rng, INTENTION_SENTENCES, rng.randint(40, 220))


def comment(rng: random.Random) -> str:
    """A therapist's comment or a patient's reply: a few sentences."""
    return _text(rng, COMMENT_SENTENCES, _lognormal_length(rng, 160, 0.5, 30, 800))


def clinical_note(rng: random.Random) -> str:
    """A clinical note: median about 400 characters."""
    return _text(rng, NOTE_SENTENCES, _lognormal_length(rng, 400, 0.5, 80, 2000), 4)


FIRST_NAMES = [
    "Alex", "Sam", "Jordan", "Riley", "Casey", "Morgan", "Taylor", "Jamie", "Robin", "Avery",
    "Quinn", "Skyler", "Charlie", "Drew", "Emerson", "Finley", "Harper", "Kai", "Logan", "Parker",
    "Reese", "Rowan", "Sage", "Tatum", "Blake", "Dakota", "Elliot", "Hayden", "Jesse", "Marley",
]  # fmt: skip
LAST_NAMES = [
    "Lee", "Jordan", "Rivera", "Okafor", "Nguyen", "Patel", "Kim", "Garcia", "Smith", "Novak",
    "Hale", "Park", "Silva", "Cohen", "Murphy", "Rossi", "Khan", "Fischer", "Dubois", "Larsen",
    "Mendes", "Sato", "Walsh", "Ibrahim", "Costa", "Berg", "Adeyemi", "Moreau", "Quinn", "Reyes",
]  # fmt: skip


def person_name(number: int) -> str:
    """A distinct, stable name for person ``number``."""
    first = FIRST_NAMES[number % len(FIRST_NAMES)]
    last = LAST_NAMES[(number // len(FIRST_NAMES)) % len(LAST_NAMES)]
    return f"{first} {last} {number}"
