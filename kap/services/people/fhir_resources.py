"""FHIR R4 resources built from our records: plain dicts, no database (see fhir_export).

Codes: LOINC where one exists (PHQ-9 44249-1, its total 44261-6, GAD-7 total 70274-6 and the
item and answer codes the instrument definitions carry; vitals), otherwise our own systems
under ``urn:kap:``. A response to an instrument LOINC publishes as a questionnaire (PHQ-9,
GAD-7) names that questionnaire and uses its linkIds ("/44250-9"), so an EHR holding LOINC's
form reads the answers item by item; other items keep the engine's item id. FHIR R4's
QuestionnaireResponse item has no ``code`` element, so an item's LOINC code also travels in
the extension ``ITEM_CODE``, and each choice answer carries its points in the core
``ordinalValue`` extension.
Ids are stable: each resource's id is a UUID derived from its kind and row id, and entries
refer to one another by ``urn:uuid:`` (the bundle's ``fullUrl``s).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from kap.models import MeasureResponse, SessionObservation, User
from kap.services.board.clinical_scales import DISSOCIATION_LABELS, SEDATION_LABELS
from kap.services.measures.scoring import Instrument, Item

Resource = dict[str, Any]

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
#: The score an answer option counts for (core R4 extension on Coding).
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
#: Our own code systems and extension, for what has no standard code.
KAP_INSTRUMENT = "urn:kap:instrument"  # an instrument's total without a LOINC code
KAP_ANSWER = "urn:kap:answer"  # an answer option without a LOINC answer code: its value
KAP_OBSERVATION = "urn:kap:observation"  # monitoring scales: sedation, dissociation, breathing
KAP_DISSOCIATION = "urn:kap:dissociation"
KAP_MEASURE_RESPONSE = "urn:kap:measure-response"
KAP_CONSENT_VERSION = "urn:kap:consent-document-version"
KAP_CONSENT_SHA256 = "urn:kap:consent-document-sha256"
ITEM_CODE = "urn:kap:fhir:questionnaire-item-code"

#: Fixed, so a resource's id is the same in every export.
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:kap:fhir")


def resource_id(kind: str, row_id: int) -> str:
    """The stable id of the resource made from row ``row_id`` of ``kind``."""
    return str(uuid.uuid5(_NAMESPACE, f"{kind}/{row_id}"))


def full_url(kind: str, row_id: int) -> str:
    """The bundle entry's ``fullUrl`` (references inside the bundle use it)."""
    return f"urn:uuid:{resource_id(kind, row_id)}"


def _ref(kind: str, row_id: int) -> Resource:
    return {"reference": full_url(kind, row_id)}


def _instant(moment: datetime) -> str:
    """A FHIR dateTime in UTC, e.g. 2026-12-03T09:00:00Z."""
    if moment.tzinfo is None:  # the database's UTC, read back without its zone (SQLite)
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _concept(system: str, code: str, display: str) -> Resource:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def _category(code: str, display: str) -> list[Resource]:
    return [{"coding": [{"system": OBSERVATION_CATEGORY, "code": code, "display": display}]}]


def patient_resource(patient: User) -> Resource:
    """The patient: id, name and email only."""
    return {
        "resourceType": "Patient",
        "id": resource_id("patient", patient.id),
        "name": [{"text": patient.name}],
        "telecom": [{"system": "email", "value": patient.email}],
    }


def questionnaire_canonical(instrument: Instrument) -> str:
    """LOINC's questionnaire for a LOINC panel (PHQ-9), else ours with its version."""
    if instrument.loinc:
        return f"{LOINC}/q/{instrument.loinc}"
    return f"urn:kap:questionnaire:{instrument.code}|{instrument.version}"


def _choice_answer(instrument: Instrument, item_index: int, value: int) -> Resource:
    item = instrument.items[item_index]
    option = next((o for o in item.options if o.value == value), None)
    label = option.label if option else str(value)
    coding: Resource = (
        {"system": LOINC, "code": option.loinc, "display": label}
        if option and option.loinc
        else {"system": KAP_ANSWER, "code": str(value), "display": label}
    )
    coding["extension"] = [{"url": ORDINAL_VALUE, "valueDecimal": value}]
    return {"valueCoding": coding}


def link_id(instrument: Instrument, item: Item) -> str:
    """LOINC's form linkId ("/44250-9") for an item of a LOINC questionnaire, else our id."""
    return f"/{item.loinc}" if instrument.loinc and item.loinc else item.id


def _items(instrument: Instrument, response: MeasureResponse) -> list[Resource]:
    """One item per answered question, in the instrument's order."""
    texts: dict[str, str] = json.loads(response.text_answers) if response.text_answers else {}
    answers = list(response.answers or [])
    items = []
    for index, item in enumerate(instrument.items):
        value = answers[index] if index < len(answers) else None
        answer: Resource | None
        if item.kind == "text":
            text = (texts.get(item.id) or "").strip()
            answer = {"valueString": text} if text else None
        elif value is None:
            answer = None
        elif item.kind == "number":
            answer = {"valueInteger": value}
        else:
            answer = _choice_answer(instrument, index, value)
        if answer is None:  # skipped optional question: FHIR has no empty answers
            continue
        entry: Resource = {
            "linkId": link_id(instrument, item),
            "text": item.text,
            "answer": [answer],
        }
        if item.loinc:
            entry["extension"] = [
                {"url": ITEM_CODE, "valueCoding": {"system": LOINC, "code": item.loinc}}
            ]
        items.append(entry)
    return items


def questionnaire_response(
    response: MeasureResponse, instrument: Instrument, patient: User
) -> Resource:
    """One completed questionnaire, answer by answer."""
    resource: Resource = {
        "resourceType": "QuestionnaireResponse",
        "id": resource_id("measure_response", response.id),
        "identifier": {"system": KAP_MEASURE_RESPONSE, "value": str(response.id)},
        "questionnaire": questionnaire_canonical(instrument),
        "status": "completed",
        "subject": _ref("patient", patient.id),
        "authored": _instant(response.created_at),
    }
    if items := _items(instrument, response):
        resource["item"] = items
    return resource


def total_observation(
    response: MeasureResponse, instrument: Instrument, patient: User
) -> Resource | None:
    """The total of a scored response, derived from its QuestionnaireResponse (None: unscored)."""
    if response.score is None or not instrument.scored:
        return None
    name = f"{instrument.name} total score"
    code = (
        _concept(LOINC, instrument.total_loinc, name)
        if instrument.total_loinc
        else _concept(KAP_INSTRUMENT, instrument.code, name)
    )
    resource: Resource = {
        "resourceType": "Observation",
        "id": resource_id("measure_total", response.id),
        "status": "final",
        "category": _category("survey", "Survey"),
        "code": code,
        "subject": _ref("patient", patient.id),
        "effectiveDateTime": _instant(response.created_at),
        "valueInteger": response.score,
        "derivedFrom": [_ref("measure_response", response.id)],
    }
    if instrument.bands:
        resource["interpretation"] = [{"text": instrument.band_for(response.score).label}]
    return resource


#: Observation categories (observation-category): code and display.
CATEGORIES = {"vital-signs": ("vital-signs", "Vital Signs"), "exam": ("exam", "Exam")}


def _quantity(value: int, unit: str) -> Resource:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def vitals_observations(row: SessionObservation, patient: User) -> list[Resource]:
    """The vitals and monitoring scales of one check, one Observation per measurement."""
    found: list[Resource] = []

    def add(suffix: str, category: str, code: Resource, value: Resource) -> None:
        found.append(
            {
                "resourceType": "Observation",
                "id": resource_id(f"session_observation/{suffix}", row.id),
                "status": "final",
                "category": _category(*CATEGORIES[category]),
                "code": code,
                "subject": _ref("patient", patient.id),
                "effectiveDateTime": _instant(row.recorded_at),
                **value,
            }
        )

    pressures = [
        {"code": _concept(LOINC, code, name), "valueQuantity": _quantity(value, "mm[Hg]")}
        for code, name, value in (
            ("8480-6", "Systolic blood pressure", row.systolic),
            ("8462-4", "Diastolic blood pressure", row.diastolic),
        )
        if value is not None
    ]
    if pressures:
        panel = _concept(LOINC, "85354-9", "Blood pressure panel with all children optional")
        add("blood_pressure", "vital-signs", panel, {"component": pressures})
    if row.heart_rate is not None:
        add(
            "heart_rate",
            "vital-signs",
            _concept(LOINC, "8867-4", "Heart rate"),
            {"valueQuantity": _quantity(row.heart_rate, "/min")},
        )
    if row.spo2 is not None:
        add(
            "spo2",
            "vital-signs",
            _concept(LOINC, "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
            {"valueQuantity": _quantity(row.spo2, "%")},
        )
    if row.sedation is not None:
        add(
            "sedation",
            "exam",
            _concept(KAP_OBSERVATION, "moaas", "Sedation (MOAA/S)"),
            {
                "valueInteger": row.sedation,
                "interpretation": [{"text": SEDATION_LABELS.get(row.sedation, "")}],
            },
        )
    if row.dissociation:
        label = DISSOCIATION_LABELS.get(row.dissociation, row.dissociation)
        add(
            "dissociation",
            "exam",
            _concept(KAP_OBSERVATION, "dissociation", "Dissociation"),
            {"valueCodeableConcept": _concept(KAP_DISSOCIATION, row.dissociation, label)},
        )
    if row.respiratory_concern is not None:
        add(
            "respiratory_concern",
            "exam",
            _concept(KAP_OBSERVATION, "respiratory-concern", "Respiratory concern"),
            {"valueBoolean": row.respiratory_concern},
        )
    return found


def consent_resource(signature: Any, patient: User, *, current: bool) -> Resource:
    """A signed consent document. ``signature`` is a ConsentSignature (kap/models/consent.py)
    with its ``document``; ``current``: it signs the clinic's newest version (else the
    consent is ``inactive``: a newer version asks again)."""
    document = signature.document
    return {
        "resourceType": "Consent",
        "id": resource_id("consent_signature", signature.id),
        "identifier": [
            {"system": KAP_CONSENT_VERSION, "value": str(document.version)},
            {"system": KAP_CONSENT_SHA256, "value": signature.document_sha256},
        ],
        "status": "active" if current else "inactive",
        "scope": _concept(CONSENT_SCOPE, "treatment", "Treatment"),
        "category": [_concept(LOINC, "59284-0", "Patient Consent")],
        "patient": _ref("patient", patient.id),
        "dateTime": _instant(signature.signed_at),
        "performer": [_ref("patient", patient.id)],
        "policyRule": {
            "coding": [{"system": ACT_CODE, "code": "OPTIN", "display": "opt-in"}],
            "text": f"{document.title}, version {document.version}",
        },
        "sourceAttachment": {
            "title": document.title,
            "contentType": "text/markdown",
            "creation": _instant(document.created_at),
        },
    }
