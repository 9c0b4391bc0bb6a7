"""Encryption at rest: no plaintext in the database, values bound to their place, rotation."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import pytest
from sqlalchemy import select, text

from kap import create_app, crypto
from kap.config import TestConfig
from kap.demo.seed import seed_demo
from kap.extensions import db
from kap.models import JournalComment, JournalEntry, TreatmentSession, User
from tests.helpers import ApiClient

MARKER = "zebra-lantern-4417"


def _key(key_id: str) -> str:
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def _file_app(tmp_path: Path, keys: str):
    class FileConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'kap.db'}"
        SQLALCHEMY_ENGINE_OPTIONS = {}
        DATA_KEYS = keys

    app = create_app(FileConfig())
    app.config["MEDIA_DIR"] = str(tmp_path / "media")
    return app


def test_database_file_never_holds_the_plaintext(tmp_path):
    """Journal text, intentions, comments and notes reach the disk only as ciphertext."""
    app = _file_app(tmp_path, _key("k1"))
    with app.app_context():
        db.create_all()
        seed_demo()
    patient = ApiClient.signed_in(app, "patient@demo.test")
    therapist = ApiClient.signed_in(app, "therapist@demo.test")
    entry = patient.post(
        "/api/v1/journal", json={"client_id": "m1", "body": f"A {MARKER} dream", "shared": True}
    ).json
    patient.patch(f"/api/v1/journal/{entry['id']}", json={"body": f"Edited {MARKER}"})
    therapist.post(f"/api/v1/journal/{entry['id']}/comments", json={"body": f"Re {MARKER}"})
    sessions = patient.get("/api/v1/sessions?status=scheduled").json["sessions"]
    patient.put(f"/api/v1/sessions/{sessions[0]['id']}/intention", json={"text": MARKER})
    with app.app_context():
        from kap.services.journal.clinical_notes import add_note

        author = db.session.scalar(select(User).where(User.email == "therapist@demo.test"))
        patient_id = db.session.scalar(select(User.id).where(User.email == "patient@demo.test"))
        add_note(author, patient_id, f"Note {MARKER}")
        assert patient.get("/api/v1/journal").json["entries"][0]["body"] == f"Edited {MARKER}"
        db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        db.engine.dispose()
    for file in tmp_path.glob("kap.db*"):
        assert MARKER.encode() not in file.read_bytes(), f"plaintext found in {file.name}"


def test_ciphertext_moved_to_another_row_does_not_decrypt(ctx, people):
    """Copying one entry's ciphertext onto another entry fails instead of leaking."""
    first, second = db.session.scalars(select(JournalEntry).order_by(JournalEntry.id)).all()[:2]
    second.body_ciphertext = first.body_ciphertext
    with pytest.raises(crypto.DecryptionError):
        _ = second.body


def test_every_protected_column_is_stored_encrypted(ctx, people):
    """After seeding, journal bodies, comments and intentions in the table are ciphertext."""
    rows = [
        *db.session.execute(text("SELECT body FROM journal_entries")).scalars(),
        *db.session.execute(text("SELECT body FROM journal_comments")).scalars(),
        *db.session.execute(
            text("SELECT intention FROM treatment_sessions WHERE intention IS NOT NULL")
        ).scalars(),
    ]
    assert rows and all(value.startswith("v1:test1:") for value in rows)


def test_rotate_keys_moves_everything_to_the_newest_key(tmp_path):
    """After adding a key in front and running rotate-keys, the old key can be removed."""
    old = _key("old")
    app = _file_app(tmp_path, old)
    with app.app_context():
        db.create_all()
        seed_demo()
        before = {e.id: e.body for e in db.session.scalars(select(JournalEntry))}
        db.engine.dispose()
    rotated = _file_app(tmp_path, f"{_key('new')},{old}")
    result = rotated.test_cli_runner().invoke(args=["rotate-keys"])
    assert result.exit_code == 0 and "Re-encrypted" in result.output
    with rotated.app_context():
        db.engine.dispose()
    new_only = _file_app(tmp_path, rotated.config["DATA_KEYS"].split(",")[0])
    with new_only.app_context():
        after = {e.id: e.body for e in db.session.scalars(select(JournalEntry))}
        assert after == before
        stored = db.session.execute(text("SELECT body FROM journal_entries")).scalars().all()
        assert all(value.startswith("v1:new:") for value in stored)
        assert all(c.body for c in db.session.scalars(select(JournalComment)))
        assert all(
            s.intention
            for s in db.session.scalars(
                select(TreatmentSession).where(TreatmentSession.intention_ciphertext.is_not(None))
            )
        )
        db.engine.dispose()


def test_rotate_keys_encrypts_text_written_before_encryption(ctx, people):
    """A plain value left from before encryption is encrypted by rotate-keys."""
    from kap.services.key_rotation import rotate_keys

    entry = db.session.scalar(select(JournalEntry))
    db.session.execute(
        text("UPDATE journal_entries SET body = 'legacy words' WHERE id = :id"), {"id": entry.id}
    )
    db.session.commit()
    rotate_keys()
    stored = db.session.execute(
        text("SELECT body FROM journal_entries WHERE id = :id"), {"id": entry.id}
    ).scalar()
    assert (
        stored.startswith("v1:") and db.session.get(JournalEntry, entry.id).body == "legacy words"
    )


def test_rotate_keys_covers_every_model_with_encrypted_text():
    """A model with an encrypted field left out of rotate-keys would become unreadable once
    the old key is removed (override and reopen reasons, dose notes included)."""
    from kap.services.key_rotation import ENCRYPTED_MODELS

    encrypted = {
        mapper.class_
        for mapper in db.Model.registry.mappers
        if mapper.class_.__dict__.get("_encrypted_fields")
    }
    assert encrypted and encrypted <= set(ENCRYPTED_MODELS)
