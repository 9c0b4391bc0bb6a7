"""PHQ-9 and GAD-7: the published items, strict scoring, severity bands and change over time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from kap.services.errors import Invalid

# The four answer choices shared by both questionnaires, in score order (index == points).
ANSWER_CHOICES: tuple[str, ...] = (
    "Not at all",
    "Several days",
    "More than half the days",
    "Nearly every day",
)
MAX_ANSWER = len(ANSWER_CHOICES) - 1

# A latest score under this is remission on both instruments (PHQ-9 and GAD-7 alike).
REMISSION_BELOW = 5


@dataclass(frozen=True)
class SeverityBand:
    """An inclusive score range and the severity it means."""

    low: int
    high: int
    severity: str
    label: str

    def contains(self, score: int) -> bool:
        """Whether ``score`` falls inside this band."""
        return self.low <= score <= self.high


@dataclass(frozen=True)
class Instrument:
    """One questionnaire exactly as published, plus how to read its total."""

    key: str
    name: str
    title: str
    question: str
    items: tuple[str, ...]
    choices: tuple[str, ...]
    max_score: int
    bands: tuple[SeverityBand, ...]


def _bands(*rows: tuple[int, int, str, str]) -> tuple[SeverityBand, ...]:
    return tuple(SeverityBand(low, high, severity, label) for low, high, severity, label in rows)


# Item texts follow the public-domain forms (Pfizer; Kroenke, Spitzer, Williams, Löwe).
# Do not "improve" the wording: the scores are only valid for the published text.
PHQ9 = Instrument(
    key="phq9",
    name="PHQ-9",
    title="Patient Health Questionnaire (PHQ-9)",
    question=(
        "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
    ),
    items=(
        "Little interest or pleasure in doing things",
        "Feeling down, depressed, or hopeless",
        "Trouble falling or staying asleep, or sleeping too much",
        "Feeling tired or having little energy",
        "Poor appetite or overeating",
        "Feeling bad about yourself — or that you are a failure or have let yourself or your "
        "family down",
        "Trouble concentrating on things, such as reading the newspaper or watching television",
        "Moving or speaking so slowly that other people could have noticed? Or the opposite — "
        "being so fidgety or restless that you have been moving around a lot more than usual",
        "Thoughts that you would be better off dead or of hurting yourself in some way",
    ),
    choices=ANSWER_CHOICES,
    max_score=27,
    bands=_bands(
        (0, 4, "minimal", "Minimal"),
        (5, 9, "mild", "Mild"),
        (10, 14, "moderate", "Moderate"),
        (15, 19, "moderately_severe", "Moderately severe"),
        (20, 27, "severe", "Severe"),
    ),
)

GAD7 = Instrument(
    key="gad7",
    name="GAD-7",
    title="Generalized Anxiety Disorder 7-item scale (GAD-7)",
    question="Over the last 2 weeks, how often have you been bothered by the following problems?",
    items=(
        "Feeling nervous, anxious or on edge",
        "Not being able to stop or control worrying",
        "Worrying too much about different things",
        "Trouble relaxing",
        "Being so restless that it is hard to sit still",
        "Becoming easily annoyed or irritable",
        "Feeling afraid as if something awful might happen",
    ),
    choices=ANSWER_CHOICES,
    max_score=21,
    bands=_bands(
        (0, 4, "minimal", "Minimal"),
        (5, 9, "mild", "Mild"),
        (10, 14, "moderate", "Moderate"),
        (15, 21, "severe", "Severe"),
    ),
)

# Read-only so no caller can swap an item text or a band at run time.
INSTRUMENTS: Mapping[str, Instrument] = MappingProxyType({PHQ9.key: PHQ9, GAD7.key: GAD7})

# PHQ-9 item 9 (self-harm thoughts) is the 9th answer; any non-zero answer raises an alert.
PHQ9_ITEM9_INDEX = 8


@dataclass(frozen=True)
class ScoredMeasure:
    """A validated set of answers with its total and what the total means."""

    instrument: str
    answers: tuple[int, ...]
    score: int
    severity: str
    severity_label: str
    item9_positive: bool


@dataclass(frozen=True)
class MeasureSummary:
    """Clinical read-outs over a series of totals, first to latest.

    ``change`` and ``percent_change`` (rounded to one decimal) are negative when scores fall.
    Fields that need data are None when there is none; ``response`` and ``remission``
    need a baseline and at least one later score, so they are False for 0 or 1 points.
    """

    instrument: str
    count: int
    baseline: int | None
    latest: int | None
    change: int | None
    percent_change: float | None
    response: bool
    remission: bool
    latest_severity: str | None
    latest_severity_label: str | None


def get_instrument(instrument: object) -> Instrument:
    """The instrument for a key such as ``"phq9"``; Invalid for anything else."""
    if isinstance(instrument, str) and instrument in INSTRUMENTS:
        return INSTRUMENTS[instrument]
    message = "Choose a questionnaire: phq9 or gad7."
    raise Invalid(message, {"instrument": [message]})


def _is_whole_number(value: object) -> bool:
    # bool is a subclass of int, but True is not an answer; 2.0 is not a whole-number answer
    # either — a client that sends floats is confused, and silently coercing hides that.
    return isinstance(value, int) and not isinstance(value, bool)


def severity_for(instrument: str, score: int) -> SeverityBand:
    """The severity band a total ``score`` falls in; Invalid when out of range."""
    spec = get_instrument(instrument)
    if _is_whole_number(score):
        for band in spec.bands:
            if band.contains(score):
                return band
    message = f"A {spec.name} score must be a whole number from 0 to {spec.max_score}."
    raise Invalid(message, {"score": [message]})


def score_answers(instrument: str, answers: object) -> ScoredMeasure:
    """Validate one set of answers (each 0 to 3, in item order) and score it.

    Raises Invalid with ``fields`` naming ``instrument`` or ``answers``; every bad answer
    is reported, numbered from 1 as a person would count the questions.
    """
    spec = get_instrument(instrument)
    expected = len(spec.items)
    # Strings and bytes are sequences too; a JSON body of "0120..." must not pass.
    if not isinstance(answers, list | tuple):
        message = f"Answers must be a list of {expected} numbers, one per question."
        raise Invalid(message, {"answers": [message]})
    if len(answers) != expected:
        message = (
            f"{spec.name} has {expected} questions: expected {expected} answers,"
            f" got {len(answers)}."
        )
        raise Invalid(message, {"answers": [message]})
    problems = [
        f"Answer {number} must be a whole number from 0 to {MAX_ANSWER}."
        for number, value in enumerate(answers, start=1)
        if not (_is_whole_number(value) and 0 <= value <= MAX_ANSWER)
    ]
    if problems:
        message = "Some answers are not valid." if len(problems) > 1 else problems[0]
        raise Invalid(message, {"answers": problems})
    values = tuple(int(value) for value in answers)
    score = sum(values)
    band = severity_for(spec.key, score)
    return ScoredMeasure(
        instrument=spec.key,
        answers=values,
        score=score,
        severity=band.severity,
        severity_label=band.label,
        item9_positive=spec.key == PHQ9.key and values[PHQ9_ITEM9_INDEX] > 0,
    )


def summarize(instrument: str, scores_in_time_order: Sequence[int]) -> MeasureSummary:
    """Baseline, latest, change, response (≥ 50 % drop) and remission (latest < 5).

    The first score is the baseline. A baseline of 0 cannot halve, so it never responds and
    has no percent change.
    """
    spec = get_instrument(instrument)
    scores = list(scores_in_time_order)
    for score in scores:
        severity_for(spec.key, score)  # raises Invalid for anything that is not a total
    if not scores:
        return MeasureSummary(spec.key, 0, None, None, None, None, False, False, None, None)
    baseline, latest = scores[0], scores[-1]
    change = latest - baseline
    percent_change = round(change * 100 / baseline, 1) if baseline else None
    has_follow_up = len(scores) >= 2
    band = severity_for(spec.key, latest)
    return MeasureSummary(
        instrument=spec.key,
        count=len(scores),
        baseline=baseline,
        latest=latest,
        change=change,
        percent_change=percent_change,
        # Integer arithmetic so "exactly half" is never lost to floating point.
        response=has_follow_up and baseline > 0 and latest * 2 <= baseline,
        remission=has_follow_up and latest < REMISSION_BELOW,
        latest_severity=band.severity,
        latest_severity_label=band.label,
    )
