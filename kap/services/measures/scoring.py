"""The questionnaire engine: instruments as data, strict answers, totals, bands and change.

An instrument is a versioned definition — items, answer options with their points, which
items count, severity bands, which answers raise an alert or need a clinician's review —
read from JSON (``definitions/<code>.json`` ships with the app; a clinic's own live in
``clinic_instruments``). Nothing here knows one instrument from another: PHQ-9's item-9
alert is a line in phq9.json. Pure: no database (``measures.library`` looks instruments up).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from kap.services.errors import Invalid

DEFINITIONS = Path(__file__).with_name("definitions")

KINDS = ("measure", "intake")
ITEM_KINDS = ("choice", "number", "text")
#: Longest free-text answer kept (a list of medications fits many times over).
MAX_TEXT = 4000
#: Whole-number answers are bounded even when a definition gives no maximum.
NUMBER_LIMIT = 1_000_000


@dataclass(frozen=True)
class Option:
    """One answer choice: the points it scores and the words the patient reads."""

    value: int
    label: str
    loinc: str | None = None


@dataclass(frozen=True)
class Item:
    """One question. ``id`` is stable across versions (FHIR's linkId)."""

    id: str
    text: str
    kind: str = "choice"
    options: tuple[Option, ...] = ()
    scored: bool = False
    required: bool = True
    minimum: int | None = None
    maximum: int | None = None
    loinc: str | None = None
    alert_at_least: int | None = None
    alert_kind: str | None = None
    review_values: tuple[int, ...] = ()
    review_at_least: int | None = None
    review_if_answered: bool = False
    section: str = ""

    def label_for(self, value: int | None) -> str:
        """The option's words for a stored value (the number itself for number items)."""
        for option in self.options:
            if option.value == value:
                return option.label
        return "" if value is None else str(value)


@dataclass(frozen=True)
class Band:
    """An inclusive score range and the severity it means."""

    low: int
    high: int
    severity: str
    label: str

    def contains(self, score: int) -> bool:
        """Whether ``score`` falls inside this band."""
        return self.low <= score <= self.high


@dataclass(frozen=True)
class ResponseRule:
    """What counts as a response to treatment: a drop of a percentage or of points."""

    percent_drop: int | None = None
    points_drop: int | None = None

    def met(self, baseline: int, latest: int) -> bool:
        """Whether ``latest`` is a response against ``baseline`` (integer arithmetic)."""
        if self.percent_drop is not None:
            return baseline > 0 and (baseline - latest) * 100 >= baseline * self.percent_drop
        if self.points_drop is not None:
            return baseline - latest >= self.points_drop
        return False


@dataclass(frozen=True)
class Instrument:
    """One version of a questionnaire exactly as published, plus how to read its total."""

    code: str
    version: int
    name: str
    title: str
    question: str
    items: tuple[Item, ...]
    kind: str = "measure"
    max_score: int | None = None
    bands: tuple[Band, ...] = ()
    loinc: str | None = None
    total_loinc: str | None = None
    source: str = ""
    clinic_id: int | None = None
    response: ResponseRule | None = None
    remission_below: int | None = None
    #: Intake only: other instruments asked within it, and totals that need review.
    includes: tuple[str, ...] = ()
    review_scores: Mapping[str, int] = field(default_factory=dict)

    @property
    def scored(self) -> bool:
        """Whether answers add up to a total with severity bands."""
        return self.max_score is not None

    @property
    def built_in(self) -> bool:
        """Shipped with the app (not a clinic's own questionnaire)."""
        return self.clinic_id is None

    @property
    def scored_items(self) -> tuple[Item, ...]:
        """The items that count toward the total."""
        return tuple(item for item in self.items if item.scored)

    def band_for(self, score: int) -> Band:
        """The band a total falls in; Invalid when the instrument cannot produce it."""
        if _is_whole_number(score):
            for band in self.bands:
                if band.contains(score):
                    return band
        message = f"A {self.name} score must be a whole number from 0 to {self.max_score}."
        raise Invalid(message, {"score": [message]})


@dataclass(frozen=True)
class Scored:
    """A validated set of answers with its total, what it means and what it raises."""

    instrument: Instrument
    #: Per item, in item order: the choice's value or the number; None for text or skipped.
    answers: tuple[int | None, ...]
    #: Item id → the text answer, for text items that were answered.
    texts: Mapping[str, str]
    score: int | None
    severity: str | None
    severity_label: str | None
    #: (alert kind, item id) for each answer at or above its item's alert threshold.
    alerts: tuple[tuple[str, str], ...]
    #: Ids of the items whose answers the clinic marked as needing a clinician's review.
    needs_review: tuple[str, ...]


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


# --- reading definitions --------------------------------------------------------------------


class _Problems:
    """Collects what is wrong with a definition, by field, to raise once."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, where: str, message: str) -> None:
        self.fields.setdefault(where, []).append(message)

    def raise_if_any(self) -> None:
        if self.fields:
            raise Invalid("The questionnaire definition is not valid.", self.fields)


def _text(data: Mapping[str, Any], key: str, problems: _Problems, where: str, limit: int) -> str:
    value = data.get(key, "")
    if not isinstance(value, str) or not value.strip():
        problems.add(f"{where}{key}", "Write this.")
        return ""
    if len(value) > limit:
        problems.add(f"{where}{key}", f"At most {limit} characters.")
    return value.strip()


def _int(value: object) -> int | None:
    return value if _is_whole_number(value) else None  # type: ignore[return-value]


def _options(raw: object, problems: _Problems, where: str) -> tuple[Option, ...]:
    if not isinstance(raw, list) or not raw:
        problems.add(f"{where}options", "Give at least one answer option.")
        return ()
    options = []
    for number, entry in enumerate(raw, start=1):
        value = _int(entry.get("value")) if isinstance(entry, Mapping) else None
        label = entry.get("label") if isinstance(entry, Mapping) else None
        if value is None or not isinstance(label, str) or not label.strip():
            problems.add(
                f"{where}options", f"Option {number} needs a whole-number value and words."
            )
            continue
        loinc = entry.get("loinc")
        options.append(Option(value, label.strip(), loinc if isinstance(loinc, str) else None))
    values = [option.value for option in options]
    if len(set(values)) != len(values):
        problems.add(f"{where}options", "Each option needs its own value.")
    return tuple(options)


def _item(
    raw: object, default_options: object, scored_instrument: bool, problems: _Problems, n: int
) -> Item | None:
    where = f"items.{n}."
    if not isinstance(raw, Mapping):
        problems.add(f"items.{n}", "Each item is an object with an id and a text.")
        return None
    item_id = raw.get("id")
    if not isinstance(item_id, str) or not item_id.strip() or len(item_id) > 40:
        problems.add(f"{where}id", "Give the item an id (up to 40 characters).")
        item_id = str(n)
    text = _text(raw, "text", problems, where, 600)
    kind = raw.get("kind") or ("choice" if raw.get("options") or default_options else "text")
    if kind not in ITEM_KINDS:
        problems.add(f"{where}kind", "One of: choice, number, text.")
        kind = "text"
    options = (
        _options(raw.get("options", default_options), problems, where) if kind == "choice" else ()
    )
    minimum, maximum = _int(raw.get("min")), _int(raw.get("max"))
    if kind == "number" and minimum is not None and maximum is not None and minimum > maximum:
        problems.add(f"{where}max", "The largest answer cannot be below the smallest.")
    alert: Mapping[str, Any] = raw["alert"] if isinstance(raw.get("alert"), Mapping) else {}
    review: Mapping[str, Any] = raw["review"] if isinstance(raw.get("review"), Mapping) else {}
    review_values = review.get("values", [])
    scored = raw.get("scored", scored_instrument and kind == "choice")
    if scored and kind == "text":
        problems.add(f"{where}scored", "A text answer cannot count toward a total.")
    loinc = raw.get("loinc")
    return Item(
        id=item_id.strip(),
        text=text,
        kind=kind,
        options=options,
        scored=bool(scored) and kind != "text",
        required=bool(raw.get("required", True)),
        minimum=minimum,
        maximum=maximum,
        loinc=loinc if isinstance(loinc, str) else None,
        alert_at_least=_int(alert.get("at_least")),
        alert_kind=alert.get("kind") if isinstance(alert.get("kind"), str) else None,
        review_values=tuple(v for v in review_values if _is_whole_number(v))
        if isinstance(review_values, list)
        else (),
        review_at_least=_int(review.get("at_least")),
        review_if_answered=bool(review.get("if_answered", False)),
        section=str(raw.get("section", "") or "")[:120],
    )


def _bands(raw: object, max_score: int, problems: _Problems) -> tuple[Band, ...]:
    bands = []
    for number, row in enumerate(raw if isinstance(raw, list) else [], start=1):
        if (
            isinstance(row, list)
            and len(row) == 4
            and all(_is_whole_number(v) for v in row[:2])
            and all(isinstance(v, str) and v for v in row[2:])
        ):
            bands.append(Band(row[0], row[1], row[2], row[3]))
        else:
            problems.add("scoring.bands", f"Band {number} is [low, high, severity, label].")
    # Every possible total falls in exactly one band, or scores could not be read.
    covered = [score for band in bands for score in range(band.low, band.high + 1)]
    if bands and sorted(covered) != list(range(max_score + 1)):
        problems.add("scoring.bands", f"The bands must cover 0 to {max_score} once each.")
    if not bands:
        bands = [Band(0, max_score, "scored", "Scored")]
    return tuple(bands)


def parse_definition(data: object, *, clinic_id: int | None = None) -> Instrument:
    """An Instrument from its JSON definition; Invalid naming every problem.

    The maximum score is the sum of the scored items' highest options (or number maxima),
    so a definition cannot claim a total its items cannot reach.
    """
    problems = _Problems()
    if not isinstance(data, Mapping):
        raise Invalid("The questionnaire definition is not valid.", {"definition": ["An object."]})
    code = data.get("code")
    if not isinstance(code, str) or not code.isascii() or not code.replace("_", "").isalnum():
        problems.add("code", "Letters, digits and _ only.")
        code = "?"
    elif len(code) > 40:
        problems.add("code", "At most 40 characters.")
    version = _int(data.get("version", 1))
    if version is None or version < 1:
        problems.add("version", "A whole number from 1.")
        version = 1
    kind = data.get("kind", "measure")
    if kind not in KINDS:
        problems.add("kind", "One of: measure, intake.")
    scoring = data.get("scoring")
    scored_instrument = isinstance(scoring, Mapping)
    raw_items = data.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        problems.add("items", "Give at least one item.")
        raw_items = []
    items = [
        item
        for n, raw in enumerate(raw_items, start=1)
        if (item := _item(raw, data.get("options"), scored_instrument, problems, n)) is not None
    ]
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        problems.add("items", "Each item needs its own id.")
    max_score = bands = response = remission_below = None
    if isinstance(scoring, Mapping):
        counted = [item for item in items if item.scored]
        if not counted:
            problems.add("scoring", "A scored questionnaire needs items that count.")
        max_score = sum(
            max((o.value for o in item.options), default=0)
            if item.kind == "choice"
            else (item.maximum or 0)
            for item in counted
        )
        if any(item.kind == "number" and item.maximum is None for item in counted):
            problems.add("scoring", "A number that counts needs a largest answer (max).")
        declared = scoring.get("max")
        if declared is not None and declared != max_score:
            problems.add("scoring.max", f"The items add up to {max_score}, not {declared}.")
        bands = _bands(scoring.get("bands"), max_score, problems)
        rule = scoring.get("response")
        if isinstance(rule, Mapping):
            response = ResponseRule(_int(rule.get("percent_drop")), _int(rule.get("points_drop")))
        remission_below = _int(scoring.get("remission_below"))
    includes = data.get("includes", [])
    review_scores = data.get("review_scores", {})
    name = _text(data, "name", problems, "", 80)
    problems.raise_if_any()
    return Instrument(
        code=code,
        version=version,
        kind=kind,
        name=name,
        title=str(data.get("title") or data.get("name") or "")[:200],
        question=str(data.get("question") or "")[:1000],
        items=tuple(items),
        max_score=max_score,
        bands=bands or (),
        loinc=data.get("loinc") if isinstance(data.get("loinc"), str) else None,
        total_loinc=data.get("total_loinc") if isinstance(data.get("total_loinc"), str) else None,
        source=str(data.get("source") or ""),
        clinic_id=clinic_id,
        response=response,
        remission_below=remission_below,
        includes=tuple(c for c in includes if isinstance(c, str))
        if isinstance(includes, list)
        else (),
        review_scores=MappingProxyType(
            {k: v for k, v in review_scores.items() if _is_whole_number(v)}
            if isinstance(review_scores, Mapping)
            else {}
        ),
    )


#: The order clinics and patients see the shipped instruments in: outcome measures first.
SHIPPED_ORDER = ("phq9", "gad7", "pcl5", "auditc", "side_effects", "bladder", "intake")


def _load_built_ins() -> Mapping[str, Instrument]:
    loaded = {}
    for path in DEFINITIONS.glob("*.json"):
        instrument = parse_definition(json.loads(path.read_text(encoding="utf-8")))
        loaded[instrument.code] = instrument
    order = {code: n for n, code in enumerate(SHIPPED_ORDER)}
    ranked = sorted(loaded, key=lambda code: (order.get(code, len(order)), code))
    return MappingProxyType({code: loaded[code] for code in ranked})


# --- scoring answers --------------------------------------------------------------------------


def _is_whole_number(value: object) -> bool:
    # bool is a subclass of int, but True is not an answer; 2.0 is not a whole-number answer
    # either — a client that sends floats is confused, and silently coercing hides that.
    return isinstance(value, int) and not isinstance(value, bool)


def _answer_list(instrument: Instrument, answers: object) -> list[object]:
    """Answers in item order from a list (trailing optional items may be left off) or a dict."""
    items = instrument.items
    if isinstance(answers, Mapping):
        unknown = sorted(str(key) for key in answers if key not in {item.id for item in items})
        if unknown:
            message = f"{instrument.name} has no question {', '.join(unknown)}."
            raise Invalid(message, {"answers": [message]})
        return [answers.get(item.id) for item in items]
    # Strings and bytes are sequences too; a JSON body of "0120..." must not pass.
    if not isinstance(answers, list | tuple):
        message = f"Answers must be a list of {len(items)} answers, one per question."
        raise Invalid(message, {"answers": [message]})
    required = max((n for n, item in enumerate(items, start=1) if item.required), default=0)
    if not required <= len(answers) <= len(items):
        expected = str(len(items)) if required == len(items) else f"{required} to {len(items)}"
        message = (
            f"{instrument.name} has {len(items)} questions: expected {expected} answers,"
            f" got {len(answers)}."
        )
        raise Invalid(message, {"answers": [message]})
    return list(answers) + [None] * (len(items) - len(answers))


def _check(item: Item, value: object) -> str | None:
    """Why ``value`` is not an answer to ``item`` (None when it is)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "needs an answer." if item.required else None
    if item.kind == "text":
        if not isinstance(value, str):
            return "must be text."
        return f"must be at most {MAX_TEXT} characters." if len(value) > MAX_TEXT else None
    if item.kind == "choice":
        values = [option.value for option in item.options]
        if _is_whole_number(value) and value in values:
            return None
        if values == list(range(min(values), max(values) + 1)):
            return f"must be a whole number from {min(values)} to {max(values)}."
        return "must be one of " + ", ".join(str(v) for v in values) + "."
    if not _is_whole_number(value):
        return "must be a whole number."
    number: int = value  # type: ignore[assignment]
    low = item.minimum if item.minimum is not None else -NUMBER_LIMIT
    high = item.maximum if item.maximum is not None else NUMBER_LIMIT
    return None if low <= number <= high else f"must be from {low} to {high}."


def score_answers(instrument: Instrument, answers: object) -> Scored:
    """Validate one set of answers and score it.

    ``answers`` is a list in item order — ints for choice and number items, strings for text
    items, null to skip an optional one; trailing optional items may be left off (PHQ-9 with
    9 answers, without the difficulty question) — or a dict of item id → answer. Raises
    Invalid with ``fields`` naming ``answers``; every bad answer is reported, numbered from 1
    as a person would count the questions.
    """
    values = _answer_list(instrument, answers)
    problems = [
        f"Answer {number} {why}"
        for number, (item, value) in enumerate(zip(instrument.items, values, strict=True), 1)
        if (why := _check(item, value)) is not None
    ]
    if problems:
        message = "Some answers are not valid." if len(problems) > 1 else problems[0]
        raise Invalid(message, {"answers": problems})
    numbers: list[int | None] = []
    texts: dict[str, str] = {}
    alerts: list[tuple[str, str]] = []
    review: list[str] = []
    for item, value in zip(instrument.items, values, strict=True):
        if item.kind == "text":
            numbers.append(None)
            if isinstance(value, str) and value.strip():
                texts[item.id] = value.strip()
                if item.review_if_answered:
                    review.append(item.id)
            continue
        number: int | None = value if _is_whole_number(value) else None  # type: ignore[assignment]
        numbers.append(number)
        if number is None:
            continue
        if item.alert_kind and item.alert_at_least is not None and number >= item.alert_at_least:
            alerts.append((item.alert_kind, item.id))
        if number in item.review_values or (
            item.review_at_least is not None and number >= item.review_at_least
        ):
            review.append(item.id)
    score = severity = label = None
    if instrument.scored:
        score = sum(
            number or 0
            for item, number in zip(instrument.items, numbers, strict=True)
            if item.scored
        )
        band = instrument.band_for(score)
        severity, label = band.severity, band.label
    return Scored(
        instrument=instrument,
        answers=tuple(numbers),
        texts=MappingProxyType(texts),
        score=score,
        severity=severity,
        severity_label=label,
        alerts=tuple(alerts),
        needs_review=tuple(review),
    )


def summarize(instrument: Instrument, scores_in_time_order: Sequence[int]) -> MeasureSummary:
    """Baseline, latest, change, response (the instrument's rule) and remission.

    The first score is the baseline. A percentage rule cannot be met from a baseline of 0,
    which also has no percent change.
    """
    scores = list(scores_in_time_order)
    for score in scores:
        instrument.band_for(score)  # raises Invalid for anything that is not a total
    if not scores:
        return MeasureSummary(instrument.code, 0, None, None, None, None, False, False, None, None)
    baseline, latest = scores[0], scores[-1]
    change = latest - baseline
    percent_change = round(change * 100 / baseline, 1) if baseline else None
    has_follow_up = len(scores) >= 2
    band = instrument.band_for(latest)
    return MeasureSummary(
        instrument=instrument.code,
        count=len(scores),
        baseline=baseline,
        latest=latest,
        change=change,
        percent_change=percent_change,
        response=has_follow_up
        and instrument.response is not None
        and instrument.response.met(baseline, latest),
        remission=has_follow_up
        and instrument.remission_below is not None
        and latest < instrument.remission_below,
        latest_severity=band.severity,
        latest_severity_label=band.label,
    )


#: The instruments shipped with the app, by code. Read-only: nobody swaps an item at run time.
BUILT_IN: Mapping[str, Instrument] = _load_built_ins()
