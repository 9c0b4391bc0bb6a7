"""The API models: pydantic's errors become the API's own messages, and each family of
models reads what the app holds and writes the published JSON shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace

import pytest
from pydantic import TypeAdapter, ValidationError

from kap.api.io import invalid_from
from kap.api.schemas.clinical import Alert, Measure, NewCheckin
from kap.api.schemas.common import Error, Timestamp, User, iso
from kap.api.schemas.discharge import Discharge, Reopen
from kap.api.schemas.journal import Comment, EntryEdit, JournalEntry, NewEntry
from kap.api.schemas.monitoring import Administration, NewAdministration, NewCheck
from kap.api.schemas.sessions import CallStaff, ChecklistTick, PhaseChange
from kap.api.schemas.signin import SignIn

MOMENT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def invalid(model, body: dict):
    """The API's Invalid for ``body`` sent as ``model``."""
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    return invalid_from(model, caught.value)


# --- the error mapping ----------------------------------------------------------------


REQUIRED = "This field is required."
OK = {"email": "a@b.c", "password": "x"}


@pytest.mark.parametrize(
    ("body", "field", "message", "hint"),
    [
        ({}, "email", "email is required.", REQUIRED),
        ({"email": "  ", "password": "x"}, "email", "email is required.", REQUIRED),
        ({"email": 5, "password": "x"}, "email", "email is required.", REQUIRED),
        ({"email": "a" * 255}, "email", "email is too long.", "At most 254 characters."),
        ({"email": "a@b.c"}, "password", "password is required.", REQUIRED),
        ({**OK, "otp": 7}, "otp", "otp is not valid.", "A string of at most 32."),
        ({**OK, "recovery_code": "r" * 65}, "recovery_code", "recovery_code is not valid.",
         "A string of at most 64."),
    ],
)  # fmt: skip
def test_sign_in_errors_say_what_the_api_always_said(body, field, message, hint):
    """One field at a time, in the order the fields are checked, with our own words."""
    error = invalid(SignIn, body)
    assert (error.message, error.fields) == (message, {field: [hint]})


def test_an_empty_second_factor_counts_as_absent():
    body = SignIn.model_validate({"email": "a@b.c", "password": "x", "otp": "", "extra": 1})
    assert (body.otp, body.recovery_code) == (None, None)


def test_a_monitoring_reading_names_every_wrong_value_at_once_but_kind_first():
    """Values share one message, so all are listed; a missing kind is answered alone."""
    wrong = {"systolic": "high", "sedation": True, "respiratory_concern": "no", "note": 3}
    error = invalid(NewCheck, {"kind": "check", **wrong})
    assert error.message == "Some values need another look."
    assert error.fields == {
        "systolic": ["A whole number."],
        "sedation": ["A whole number."],
        "respiratory_concern": ["true or false."],
        "note": ["Text, please."],
    }
    error = invalid(NewCheck, wrong)
    assert (error.message, error.fields) == (
        "kind is required.",
        {"kind": ["pre_dose, post_dose, check or final."]},
    )


CHECKED = "checked must be true or false."
REVISION = "base_revision is a number."
CLIENT_ID = "client_id is up to 64 characters."


@pytest.mark.parametrize(
    ("model", "body", "field", "message", "hint"),
    [
        (ChecklistTick, {"checked": 1}, "checked", CHECKED, "true or false."),
        (ChecklistTick, {}, "checked", CHECKED, "true or false."),
        (EntryEdit, {"base_revision": True}, "base_revision", REVISION, "A whole number."),
        (EntryEdit, {"base_revision": 1.5}, "base_revision", REVISION, "A whole number."),
        (CallStaff, {"client_id": ""}, "client_id", CLIENT_ID, "Up to 64 characters."),
        (CallStaff, {"client_id": "c" * 65}, "client_id", CLIENT_ID, "Up to 64 characters."),
        (Discharge, {"driver": 1, "override_reason": 2}, "driver", "driver must be text.",
         "Send text (a JSON string)."),
        (Reopen, {"reason": []}, "reason", "reason must be text.", "Send text (a JSON string)."),
    ],
)  # fmt: skip
def test_checked_fields_answer_in_the_api_words(model, body, field, message, hint):
    """The first failing field answers alone when the next one would say something else."""
    error = invalid(model, body)
    assert (error.message, error.fields) == (message, {field: [hint]})


def test_service_checked_fields_reach_the_service_as_sent():
    """The service holds these rules (and their messages): nothing is refused or coerced."""
    entry = NewEntry.model_validate({"body": 5, "mood": "x", "unknown": 1})
    assert entry.values(sent_only=True) == {"body": 5, "mood": "x"}
    edit = EntryEdit.model_validate({"shared": "yes", "base_revision": 0})
    assert edit.values(("body", "shared"), sent_only=True) == {"shared": "yes"}
    given = NewAdministration.model_validate({"dose": " 1.50 ", "route": 3})
    assert given.values()["dose"] == " 1.50 " and given.values()["route"] == 3
    assert given.values()["medication"] is None
    assert PhaseChange.model_validate({"phase": 4}).phase == 4
    checkin = NewCheckin.model_validate({"instrument": 9, "answers": "?"})
    assert checkin.values(sent_only=True) == {"instrument": 9, "answers": "?"}


@pytest.mark.parametrize(
    "moment",
    [
        MOMENT,
        datetime(2026, 3, 1, 9, 30, 0, 123, tzinfo=UTC),
        datetime(2026, 3, 1, 9, 30, 1, 500000),
        datetime(2026, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=2))),
    ],
)
def test_timestamps_are_answered_as_iso_with_a_z(moment):
    """Pydantic's JSON form of a datetime is exactly ``iso`` (ISO 8601, UTC as Z)."""
    answered = TypeAdapter(Timestamp).dump_python(moment, mode="json")
    assert answered == iso(moment)


# --- round trips: what the app holds -> the published shape ------------------------------


def test_user_and_error_shapes():
    clinic = SimpleNamespace(id=3, name="Demo clinic")
    user = SimpleNamespace(id=7, email="p@demo.test", name="Pat", role="patient", clinic=clinic)
    assert User.model_validate(user).model_dump(mode="json") == {
        "id": 7,
        "email": "p@demo.test",
        "name": "Pat",
        "role": "patient",
        "clinic": {"id": 3, "name": "Demo clinic"},
    }
    answer = {"error": {"code": "invalid", "message": "No.", "fields": {"a": ["b"]}}}
    assert Error.model_validate(answer).model_dump(mode="json", exclude_unset=True) == answer


def test_journal_entry_round_trip():
    author = SimpleNamespace(id=2, name="Dr. T", role="therapist")
    comment = SimpleNamespace(id=9, body="Thanks", created_at=MOMENT, author=author)
    orphan = SimpleNamespace(id=10, body="Hm", created_at=MOMENT, author=None)
    entry = SimpleNamespace(
        id=5, client_id="c-1", body="Calm", mood=None, shared=True, session_id=None,
        created_at=MOMENT, updated_at=MOMENT, revision=2, comments=[comment, orphan],
    )  # fmt: skip
    data = JournalEntry.model_validate(entry).model_dump(mode="json")
    assert data["created_at"] == "2026-03-01T09:30:00Z"
    assert data["comments"] == [
        {"id": 9, "body": "Thanks", "created_at": "2026-03-01T09:30:00Z", "author": vars(author)},
        {"id": 10, "body": "Hm", "created_at": "2026-03-01T09:30:00Z", "author": None},
    ]
    assert JournalEntry.model_validate(data).model_dump(mode="json") == data


def test_measure_and_alert_round_trip():
    response = SimpleNamespace(
        id=1, instrument="phq9", instrument_version=1, name="PHQ-9", score=5, max_score=27,
        severity="mild", severity_label="Mild", answers=[1, 1, 1, 1, 1, 0, 0, 0, 0, None],
        texts={}, client_id=None, session_id=None, created_at=MOMENT,
    )  # fmt: skip
    data = Measure.model_validate(response).model_dump(mode="json")
    assert data["severity_label"] and data["created_at"] == "2026-03-01T09:30:00Z"
    alert = SimpleNamespace(
        id=4, kind="phq9_item9", patient_id=7, session_id=None, created_at=MOMENT,
        acknowledged_at=None,
    )  # fmt: skip
    assert Alert.model_validate(alert).model_dump(mode="json")["acknowledged_at"] is None


def test_administration_round_trip():
    """Doses are JSON numbers (an int when whole); the time is answered as `at`."""
    given = SimpleNamespace(
        id=1, medication="Ketamine", route="im", dose=Decimal("56.000"), unit="mg", lot="",
        given_at=MOMENT, given_by=SimpleNamespace(id=2, name="Dr. T"),
    )  # fmt: skip
    data = Administration.model_validate(given).model_dump(mode="json")
    assert data == {
        "id": 1,
        "medication": "Ketamine",
        "route": "im",
        "dose": 56,
        "unit": "mg",
        "lot": "",
        "at": "2026-03-01T09:30:00Z",
        "given_by": {"id": 2, "name": "Dr. T"},
    }
    given.dose = Decimal("0.125")
    assert Administration.model_validate(given).model_dump(mode="json")["dose"] == 0.125


def test_an_error_while_reading_a_row_is_not_turned_into_a_validation_error():
    """A row whose attribute cannot be loaded (the database dropped the connection) raises
    that error from ``answer``: pydantic would report it as a validation error, a 500,
    where the API must answer 503 (the write may be stored; the outbox tries again)."""

    class DroppedConnection(Exception):
        pass

    class ExpiredComment:
        id = 7
        author = SimpleNamespace(id=2, name="Dr Demo", role="therapist")
        created_at = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)

        @property
        def body(self):
            raise DroppedConnection

    with pytest.raises(DroppedConnection):
        Comment.answer(ExpiredComment())
    with pytest.raises(DroppedConnection):
        JournalEntry.answer(
            SimpleNamespace(
                id=1,
                client_id="c-1",
                body="Text",
                mood=None,
                shared=True,
                session_id=None,
                created_at=datetime(2026, 12, 3, 6, 0, tzinfo=UTC),
                updated_at=datetime(2026, 12, 3, 6, 0, tzinfo=UTC),
                revision=1,
                comments=[ExpiredComment()],
            )
        )
