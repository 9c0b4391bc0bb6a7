"""A clinic's own questionnaires: the editor's draft, checking it, and saving it as a version.

A questionnaire is saved as a JSON definition (the format of ``measures/definitions``) and
read by the same engine as the shipped ones (``measures.scoring.parse_definition``), so what
a clinic writes is checked by exactly the rules that score it. Saving always adds a version
(``ClinicInstrument`` rows never change, but for the archive mark), so every stored answer
keeps the questions it answered. A clinic's code never shadows a shipped instrument, except
``intake``, whose clinic version replaces the shipped default (``measures.library``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kap.extensions import db
from kap.models import AlertKind, ClinicInstrument, User
from kap.models.base import utcnow
from kap.services import audit
from kap.services.errors import Conflict, Invalid, NotFound
from kap.services.measures.library import REPLACEABLE, instruments_for
from kap.services.measures.scoring import BUILT_IN, Instrument, parse_definition
from kap.services.unit_of_work import use_case

#: A clinic's code: lower-case letters, digits and _, starting with a letter.
CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
#: Item kinds as the editor names them.
ITEM_KINDS = {"choice": "Single choice", "number": "Number", "text": "Text"}
#: The alert kind a clinic's own "raises an alert at or above" opens.
OWN_ALERT_KIND = AlertKind.QUESTIONNAIRE.value
#: Longest advanced (JSON) definition accepted.
MAX_JSON = 100_000
#: Items a questionnaire may have (a long intake stays far below).
MAX_ITEMS = 120

_OPTION_LINE = re.compile(r"^\s*(-?\d{1,6})\s*=\s*(.+?)\s*$")
_BAND_LINE = re.compile(r"^\s*(\d{1,6})\s*[-\u2013]\s*(\d{1,6})\s*=\s*(.+?)\s*$")
_REVIEW_LINE = re.compile(r"^\s*([a-z][a-z0-9_]{0,39})\s*=\s*(\d{1,6})\s*$")
_RESPONSE = re.compile(r"^\s*(\d{1,3})\s*(%?)\s*$")


@dataclass
class ItemRow:
    """One question as the editor holds it: everything as typed."""

    id: str = ""
    text: str = ""
    kind: str = "choice"
    options: str = ""  # lines "value = label" (single choice)
    minimum: str = ""
    maximum: str = ""
    required: bool = True
    scored: bool = True  # counts toward the total (when the questionnaire has one)
    review: str = ""  # choice: values "1, 2"; number: the lowest value that needs review
    review_if_answered: bool = False  # text: any answer needs review
    alert_at_least: str = ""
    section: str = ""
    alert_kind: str = ""  # kept from the definition (shipped kinds), else OWN_ALERT_KIND

    @property
    def blank(self) -> bool:
        """An unused row of the editor (left out of the definition)."""
        return not any(
            value.strip() for value in (self.text, self.options, self.minimum, self.maximum)
        )


@dataclass
class QuestionnaireDraft:
    """A questionnaire as the editor holds it; ``based_on`` is the version it was opened at."""

    code: str = ""
    name: str = ""
    title: str = ""
    question: str = ""
    source: str = ""
    scored: bool = False
    bands: str = ""  # lines "0-4 = Minimal"
    #: Band words → the severity name stored with answers, kept from the loaded definition
    #: (a new band's name is made from its words).
    band_keys: dict[str, str] = field(default_factory=dict)
    response: str = ""  # "50 %" (a percentage drop) or "10" (points)
    remission_below: str = ""
    includes: str = ""  # intake only: other questionnaires' codes, comma-separated
    review_scores: str = ""  # intake only: lines "auditc = 3"
    items: list[ItemRow] = field(default_factory=list)
    based_on: int = 0


@dataclass(frozen=True)
class OwnQuestionnaire:
    """A clinic's own questionnaire in the list: its newest version."""

    code: str
    name: str
    kind: str
    version: int
    archived_at: datetime | None
    created_at: datetime


# --- reading a stored or shipped definition into the editor ----------------------------------


def _numbers(values: tuple[int, ...]) -> str:
    return ", ".join(str(value) for value in values)


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:30] or "band"


def draft_from_instrument(instrument: Instrument) -> QuestionnaireDraft:
    """The editor's view of a definition (shipped or a clinic's)."""
    response = ""
    if instrument.response is not None:
        if instrument.response.percent_drop is not None:
            response = f"{instrument.response.percent_drop} %"
        elif instrument.response.points_drop is not None:
            response = str(instrument.response.points_drop)
    return QuestionnaireDraft(
        code=instrument.code,
        name=instrument.name,
        title=instrument.title if instrument.title != instrument.name else "",
        question=instrument.question,
        source=instrument.source,
        scored=instrument.scored,
        bands="\n".join(f"{b.low}-{b.high} = {b.label}" for b in instrument.bands)
        if instrument.scored
        else "",
        band_keys={b.label: b.severity for b in instrument.bands},
        response=response,
        remission_below=""
        if instrument.remission_below is None
        else str(instrument.remission_below),
        includes=", ".join(instrument.includes),
        review_scores="\n".join(f"{k} = {v}" for k, v in instrument.review_scores.items()),
        items=[
            ItemRow(
                id=item.id,
                text=item.text,
                kind=item.kind,
                options="\n".join(f"{o.value} = {o.label}" for o in item.options),
                minimum="" if item.minimum is None else str(item.minimum),
                maximum="" if item.maximum is None else str(item.maximum),
                required=item.required,
                scored=item.scored,
                review=_numbers(item.review_values)
                if item.kind == "choice"
                else ("" if item.review_at_least is None else str(item.review_at_least)),
                review_if_answered=item.review_if_answered,
                alert_at_least="" if item.alert_at_least is None else str(item.alert_at_least),
                section=item.section,
                alert_kind=item.alert_kind or "",
            )
            for item in instrument.items
        ],
        based_on=instrument.version if instrument.clinic_id is not None else 0,
    )


def definition_json(instrument: Instrument, stored: Mapping[str, Any] | None = None) -> str:
    """The definition as the advanced editor shows it (the stored JSON when there is one)."""
    if stored is not None:
        data = {key: value for key, value in stored.items() if key != "version"}
    else:
        data = definition_from_draft(draft_from_instrument(instrument))[0]
    return json.dumps(data, indent=2, ensure_ascii=False)


# --- the draft into a definition --------------------------------------------------------------


class _Errors:
    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, []).append(message)


def _whole(text: str, name: str, errors: _Errors) -> int | None:
    text = text.strip()
    if not text:
        return None
    if re.fullmatch(r"-?\d{1,7}", text):
        return int(text)
    errors.add(name, "Enter a whole number.")
    return None


def _options(text: str, name: str, errors: _Errors) -> list[dict[str, Any]]:
    options = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _OPTION_LINE.match(line)
        if match is None:
            errors.add(name, f"Line {number}: write it as “value = words”, e.g. “0 = Not at all”.")
            continue
        options.append({"value": int(match.group(1)), "label": match.group(2)})
    return options


def _item(row: ItemRow, index: int, scored: bool, errors: _Errors) -> dict[str, Any]:
    where = f"items-{index}-"
    kind = row.kind if row.kind in ITEM_KINDS else "choice"
    if row.kind not in ITEM_KINDS:
        errors.add(f"{where}kind", "Choose single choice, number or text.")
    item: dict[str, Any] = {"id": row.id, "text": row.text.strip(), "kind": kind}
    if not row.required:
        item["required"] = False
    if row.section.strip():
        item["section"] = row.section.strip()
    if kind == "choice":
        item["options"] = _options(row.options, f"{where}options", errors)
    if kind == "number":
        for key, raw in (("min", row.minimum), ("max", row.maximum)):
            value = _whole(raw, f"{where}{'minimum' if key == 'min' else 'maximum'}", errors)
            if value is not None:
                item[key] = value
    if kind != "text":
        item["scored"] = scored and row.scored
        alert = _whole(row.alert_at_least, f"{where}alert_at_least", errors)
        if alert is not None:
            item["alert"] = {"at_least": alert, "kind": row.alert_kind or OWN_ALERT_KIND}
    if kind == "choice" and row.review.strip():
        values = [part.strip() for part in row.review.split(",") if part.strip()]
        if all(re.fullmatch(r"-?\d{1,6}", value) for value in values):
            item["review"] = {"values": [int(value) for value in values]}
        else:
            errors.add(f"{where}review", "List option values, e.g. “1, 2”.")
    elif kind == "number" and row.review.strip():
        least = _whole(row.review, f"{where}review", errors)
        if least is not None:
            item["review"] = {"at_least": least}
    elif kind == "text" and row.review_if_answered:
        item["review"] = {"if_answered": True}
    return item


def _scoring(draft: QuestionnaireDraft, errors: _Errors) -> dict[str, Any]:
    bands = []
    for number, line in enumerate(draft.bands.splitlines(), start=1):
        if not line.strip():
            continue
        match = _BAND_LINE.match(line)
        if match is None:
            errors.add(
                "bands", f"Line {number}: write it as “low-high = words”, e.g. “0-4 = Minimal”."
            )
            continue
        low, high, label = int(match.group(1)), int(match.group(2)), match.group(3)
        bands.append([low, high, draft.band_keys.get(label) or _slug(label), label])
    scoring: dict[str, Any] = {"bands": bands} if bands else {}
    if draft.response.strip():
        match = _RESPONSE.match(draft.response)
        if match is None:
            errors.add("response", "A number of points (“10”) or a percentage (“50 %”).")
        elif match.group(2):
            scoring["response"] = {"percent_drop": int(match.group(1))}
        else:
            scoring["response"] = {"points_drop": int(match.group(1))}
    remission = _whole(draft.remission_below, "remission_below", errors)
    if remission is not None:
        scoring["remission_below"] = remission
    return scoring


def _fresh_id(taken: set[str]) -> str:
    number = 1
    while f"q{number}" in taken:
        number += 1
    taken.add(f"q{number}")
    return f"q{number}"


def definition_from_draft(
    draft: QuestionnaireDraft,
) -> tuple[dict[str, Any], list[int], dict[str, list[str]]]:
    """The JSON definition a draft describes, the editor row of each item in it, and what
    only the editor can get wrong (an option line without "="), by editor field name.

    Blank rows are left out; rows without an id get a new one that no other item has.
    The engine checks the rest (``_check``).
    """
    errors = _Errors()
    kept = [index for index, row in enumerate(draft.items) if not row.blank]
    taken = {draft.items[index].id.strip() for index in kept if draft.items[index].id.strip()}
    items = []
    for index in kept:
        row = draft.items[index]
        row.id = row.id.strip()[:40] or _fresh_id(taken)
        items.append(_item(row, index, draft.scored, errors))
    code = draft.code.strip()
    data: dict[str, Any] = {
        "code": code,
        "kind": "intake" if code in REPLACEABLE else "measure",
        "name": draft.name.strip(),
        "title": draft.title.strip() or draft.name.strip(),
        "question": draft.question.strip(),
        "source": draft.source.strip(),
        "items": items,
    }
    if draft.scored:
        data["scoring"] = _scoring(draft, errors)
    if code in REPLACEABLE:
        includes = [part.strip() for part in draft.includes.split(",") if part.strip()]
        if includes:
            data["includes"] = includes
        review_scores = {}
        for number, line in enumerate(draft.review_scores.splitlines(), start=1):
            if not line.strip():
                continue
            match = _REVIEW_LINE.match(line)
            if match is None:
                errors.add("review_scores", f"Line {number}: write it as “code = total”.")
            else:
                review_scores[match.group(1)] = int(match.group(2))
        if review_scores:
            data["review_scores"] = review_scores
    return data, kept, errors.fields


_ITEM_PROBLEM = re.compile(r"^items\.(\d+)(?:\.([a-z_]+))?$")
_ITEM_FIELDS = {"min": "minimum", "max": "maximum", "id": "text", "scored": "scored"}


def _editor_fields(problems: Mapping[str, list[str]], kept: list[int]) -> dict[str, list[str]]:
    """The engine's problem keys ("items.3.options", "scoring.bands") as editor field names."""
    fields: dict[str, list[str]] = {}
    for key, messages in problems.items():
        match = _ITEM_PROBLEM.match(key)
        if match and int(match.group(1)) - 1 < len(kept):
            row = kept[int(match.group(1)) - 1]
            name = match.group(2) or "text"
            target = f"items-{row}-{_ITEM_FIELDS.get(name, name)}"
        elif key.startswith("scoring"):
            target = "bands"
        else:
            target = key
        fields.setdefault(target, []).extend(messages)
    return fields


def _check_code(clinic_id: int, code: str, creating: bool) -> list[str]:
    if not CODE.match(code):
        return [
            "2 to 40 lower-case letters, digits or _, starting with a letter (e.g. sleep_check)."
        ]
    if code in BUILT_IN and code not in REPLACEABLE:
        return [f"“{code}” is a shipped questionnaire; choose another code."]
    if creating and _rows(clinic_id, code):
        return ["Your clinic already has a questionnaire with this code: edit that one instead."]
    return []


def _check(
    clinic_id: int,
    data: Mapping[str, Any],
    *,
    creating: bool,
    kept: list[int] | None = None,
    found: Mapping[str, list[str]] | None = None,
) -> Instrument:
    """The definition as the engine reads it; Invalid naming every problem (editor names
    when ``kept`` maps items to editor rows, the engine's own keys otherwise), with the
    problems already ``found`` in the editor's fields first."""
    fields: dict[str, list[str]] = {key: list(messages) for key, messages in (found or {}).items()}
    code = data.get("code") if isinstance(data.get("code"), str) else ""
    if code_problems := _check_code(clinic_id, code or "", creating):
        fields["code"] = code_problems
    kind = "intake" if code in REPLACEABLE else "measure"
    if data.get("kind", "measure") != kind:
        fields["kind"] = [f"The questionnaire “{code}” is of kind “{kind}”."]
    includes = data.get("includes") or []
    if includes and kind != "intake":
        fields["includes"] = ["Only the intake asks other questionnaires within it."]
    elif isinstance(includes, list):
        offered = {spec.code for spec in instruments_for(clinic_id)}
        unknown = [str(c) for c in includes if c not in offered]
        if unknown:
            fields["includes"] = ["Not a questionnaire your clinic offers: " + ", ".join(unknown)]
    items = data.get("items")
    if isinstance(items, list) and len(items) > MAX_ITEMS:
        fields["items"] = [f"At most {MAX_ITEMS} questions."]
    instrument = None
    try:
        instrument = parse_definition({**data, "version": 1}, clinic_id=clinic_id)
    except Invalid as error:
        problems = error.fields
        for key, messages in (
            _editor_fields(problems, kept) if kept is not None else problems
        ).items():
            fields.setdefault(key, []).extend(messages)
    if fields or instrument is None:
        raise Invalid("Some fields need attention.", fields)
    return instrument


# --- reading and writing rows ----------------------------------------------------------------


def _rows(clinic_id: int, code: str) -> list[ClinicInstrument]:
    return list(
        db.session.scalars(
            select(ClinicInstrument)
            .where(ClinicInstrument.clinic_id == clinic_id, ClinicInstrument.code == code)
            .order_by(ClinicInstrument.version)
        )
    )


def own_questionnaires(actor: User) -> list[OwnQuestionnaire]:
    """The clinic's own questionnaires (and its own intake), newest version each, by name."""
    newest: dict[str, ClinicInstrument] = {}
    for row in db.session.scalars(
        select(ClinicInstrument)
        .where(ClinicInstrument.clinic_id == actor.clinic_id)
        .order_by(ClinicInstrument.code, ClinicInstrument.version)
    ):
        newest[row.code] = row
    listed = [
        OwnQuestionnaire(
            code=row.code,
            name=str(row.definition.get("name") or row.code),
            kind=str(row.definition.get("kind") or "measure"),
            version=row.version,
            archived_at=row.archived_at,
            created_at=row.created_at,
        )
        for row in newest.values()
    ]
    return sorted(listed, key=lambda q: (q.archived_at is not None, q.name.lower()))


def shipped_questionnaires() -> list[Instrument]:
    """The questionnaires that ship with the app (read-only), measures then the intake."""
    return sorted(BUILT_IN.values(), key=lambda spec: spec.kind != "measure")


@dataclass(frozen=True)
class Editing:
    """What the editor opens: the draft, the stored JSON and where the questionnaire stands."""

    draft: QuestionnaireDraft
    json: str
    version: int  # the newest saved version (0: none yet; the intake's shipped default)
    archived: bool


def questionnaire_for_editing(actor: User, code: str) -> Editing:
    """A clinic's questionnaire (or its intake, shipped or its own) to edit; NotFound else."""
    rows = _rows(actor.clinic_id, code)
    if rows:
        newest = rows[-1]
        instrument = parse_definition(
            {**newest.definition, "version": newest.version}, clinic_id=actor.clinic_id
        )
        return Editing(
            draft_from_instrument(instrument),
            definition_json(instrument, newest.definition),
            newest.version,
            newest.archived_at is not None,
        )
    if code in REPLACEABLE:
        if code in BUILT_IN:
            shipped = BUILT_IN[code]
            return Editing(draft_from_instrument(shipped), definition_json(shipped), 0, False)
        draft = QuestionnaireDraft(code=code, name="Screening intake", items=[ItemRow()])
        return Editing(draft, "", 0, False)
    raise NotFound("No such questionnaire.")


def parse_json_definition(text: str) -> dict[str, Any]:
    """The advanced editor's text as a definition object; Invalid on ``definition_json``."""
    if len(text) > MAX_JSON:
        raise Invalid(
            "Some fields need attention.",
            {"definition_json": [f"At most {MAX_JSON:,} characters."]},
        )
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        message = f"Not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."
        raise Invalid("Some fields need attention.", {"definition_json": [message]}) from None
    if not isinstance(data, dict):
        raise Invalid(
            "Some fields need attention.",
            {"definition_json": ["The definition is one JSON object: {…}."]},
        )
    return data


@use_case
def save_questionnaire(
    actor: User,
    draft: QuestionnaireDraft | None = None,
    *,
    definition: dict[str, Any] | None = None,
    code: str | None = None,
    based_on: int | None = None,
) -> ClinicInstrument:
    """Save a new version of a clinic's questionnaire, from the editor's ``draft`` or from an
    advanced JSON ``definition``. ``code`` is the questionnaire being edited (None: a new one).

    Invalid names every problem (by editor field for a draft; ``definition_json`` lists them
    for JSON); Conflict when someone saved a newer version since ``based_on`` was opened.
    """
    creating = code is None
    if draft is not None:
        if code is not None:
            draft.code = code
        data, kept, found = definition_from_draft(draft)
        based_on = draft.based_on if based_on is None else based_on
        instrument = _check(actor.clinic_id, data, creating=creating, kept=kept, found=found)
    else:
        data = {key: value for key, value in (definition or {}).items() if key != "version"}
        if code is not None and data.get("code") != code:
            message = f"The code stays “{code}”: a new code is a new questionnaire."
            raise Invalid("Some fields need attention.", {"definition_json": [message]})
        try:
            instrument = _check(actor.clinic_id, data, creating=creating)
        except Invalid as error:
            lines = [
                f"{key}: {message}" if key not in ("definition", "code") else message
                for key, messages in error.fields.items()
                for message in messages
            ]
            raise Invalid(error.message, {"definition_json": lines}) from None
    rows = _rows(actor.clinic_id, instrument.code)
    newest = rows[-1].version if rows else 0
    if not creating and based_on is not None and newest != based_on:
        raise Conflict(
            f"Someone saved version {newest} of this questionnaire while you were editing. "
            "Your changes are still here but not saved: compare them and save again."
        )
    row = ClinicInstrument(
        clinic_id=actor.clinic_id,
        code=instrument.code,
        version=newest + 1,
        definition=data,
        created_by_id=actor.id,
    )
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:  # the same version saved at the same moment
        raise Conflict(
            "Someone saved this questionnaire at the same moment. Your changes are still "
            "here but not saved: save again."
        ) from None
    _audit("instrument.save", actor, row)
    return row


def _audit(action: str, actor: User, row: ClinicInstrument) -> None:
    # The clinic's own code and version: no patient's data.
    audit.record(
        action,
        actor=actor,
        subject_type="clinic_instrument",
        subject_id=row.id,
        detail=f"code={row.code}; version={row.version}",
    )


@use_case
def archive_questionnaire(actor: User, code: str) -> ClinicInstrument:
    """Stop offering a questionnaire: patients no longer see it; its answers stay readable.

    Archiving the clinic's intake brings back the shipped default intake.
    """
    rows = _rows(actor.clinic_id, code)
    if not rows:
        raise NotFound("No such questionnaire.")
    if code not in REPLACEABLE and any(
        code in intake.includes for intake in instruments_for(actor.clinic_id, "intake")
    ):
        raise Conflict(
            "The intake asks this questionnaire: take it out of the intake before archiving it."
        )
    newest = rows[-1]
    if newest.archived_at is None:
        newest.archived_at = utcnow()
        _audit("instrument.archive", actor, newest)
    return newest


@use_case
def restore_questionnaire(actor: User, code: str) -> ClinicInstrument:
    """Offer an archived questionnaire again, at its newest version."""
    rows = _rows(actor.clinic_id, code)
    if not rows:
        raise NotFound("No such questionnaire.")
    newest = rows[-1]
    if newest.archived_at is not None:
        newest.archived_at = None
        _audit("instrument.restore", actor, newest)
    return newest
