"""The instrument library over the API: what a clinic offers, any code recorded and scored,
field errors in the API's words, and the alerts the new checks raise (care team only)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kap.extensions import db
from kap.models import Alert, MeasureResponse


def test_instruments_lists_every_shipped_measure_with_items_and_options(api_as, people):
    """Codes include phq9, gad7, pcl5, auditc; each item has its options; intake is not one."""
    answer = api_as("patient@demo.test").get("/api/v1/instruments")
    assert answer.status_code == 200
    found = {item["code"]: item for item in answer.json["instruments"]}
    assert {"phq9", "gad7", "pcl5", "auditc", "side_effects", "bladder"} <= set(found)
    assert "intake" not in found
    phq9 = found["phq9"]
    assert (phq9["name"], phq9["version"], phq9["max_score"], len(phq9["items"])) == (
        "PHQ-9",
        1,
        27,
        10,
    )
    assert phq9["items"][0]["options"][0] == {"value": 0, "label": "Not at all"}
    assert phq9["items"][9]["required"] is False and phq9["items"][9]["scored"] is False
    assert [o["value"] for o in found["pcl5"]["items"][0]["options"]] == [0, 1, 2, 3, 4]
    assert found["pcl5"]["max_score"] == 80 and len(found["pcl5"]["items"]) == 20
    assert all(item["source"] for item in found.values())


@pytest.mark.parametrize(
    ("code", "answers", "score", "severity"),
    [
        ("pcl5", [4] * 8 + [0] * 12, 32, "below_cutoff"),
        ("pcl5", [4] * 8 + [1] + [0] * 11, 33, "above_cutoff"),
        ("auditc", [2, 1, 0], 3, "positive_women"),
        ("side_effects", [1, 2, 0, 1, 0], 4, "mild"),
        ("bladder", [0, 0, 1, 0, 0, 0], 1, "some"),
        ("phq9", [1] * 9 + [2], 9, "mild"),
    ],
)
def test_any_instrument_code_is_recorded_and_scored(api_as, people, code, answers, score, severity):
    """POST /api/v1/measures takes every listed code; the answer has the score and band."""
    answer = api_as("patient@demo.test").post(
        "/api/v1/measures", json={"instrument": code, "answers": answers}
    )
    assert answer.status_code == 201, answer.json
    assert (answer.json["instrument"], answer.json["score"], answer.json["severity"]) == (
        code,
        score,
        severity,
    )
    assert answer.json["answers"] == answers + [None] * (len(answer.json["answers"]) - len(answers))
    assert answer.json["severity_label"] and answer.json["instrument_version"] == 1


@pytest.mark.parametrize(
    ("body", "field", "hint"),
    [
        ({"instrument": "pcl5", "answers": [0] * 19}, "answers", "expected 20 answers, got 19"),
        (
            {"instrument": "pcl5", "answers": [5] + [0] * 19},
            "answers",
            "Answer 1 must be a whole number from 0 to 4.",
        ),
        ({"instrument": "bdi", "answers": [0]}, "instrument", "Choose a questionnaire: phq9"),
        ({"instrument": "intake", "answers": []}, "instrument", ""),
        ({"answers": [0] * 7}, "instrument", "Choose a questionnaire"),
    ],
)
def test_bad_check_ins_are_400_naming_the_field(api_as, people, body, field, hint):
    """Wrong counts, values out of range, unknown codes and the intake (answered on its own
    page, never as a check-in) are field errors."""
    answer = api_as("patient@demo.test").post("/api/v1/measures", json=body)
    assert answer.status_code == 400
    assert answer.json["error"]["code"] == "invalid"
    assert any(hint in message for message in answer.json["error"]["fields"][field])


def test_a_severe_side_effect_alerts_the_care_team_not_other_therapists(app, api_as, people):
    """One alert per response; therapist sees it, therapist2 and another clinic do not."""
    patient = api_as("patient@demo.test")
    answer = patient.post(
        "/api/v1/measures", json={"instrument": "side_effects", "answers": [3, 0, 3, 0, 0]}
    )
    assert answer.status_code == 201
    with app.app_context():
        stored = db.session.get(MeasureResponse, answer.json["id"])
        alerts = db.session.scalars(
            select(Alert).where(
                Alert.patient_id == stored.patient_id, Alert.kind == "side_effect_severe"
            )
        ).all()
        assert len(alerts) == 1

    def kinds(email):
        return [a["kind"] for a in api_as(email).get("/api/v1/alerts").json["alerts"]]

    assert "side_effect_severe" in kinds("therapist@demo.test")
    assert "side_effect_severe" not in kinds("therapist2@demo.test")
    assert "side_effect_severe" not in kinds("therapist@other.test")


def test_answers_by_item_id_are_accepted(api_as, people):
    """A client may send answers keyed by item id (as GET /instruments names them)."""
    answers = {str(n): 1 for n in range(1, 8)}
    answer = api_as("patient@demo.test").post(
        "/api/v1/measures", json={"instrument": "gad7", "answers": answers}
    )
    assert (answer.status_code, answer.json["score"]) == (201, 7)
