"""Who may read which journal entry, asked of the one definition (entries.readable_entries)."""

from __future__ import annotations

import pytest

from kap.extensions import db
from kap.models import User
from kap.services.errors import NotFound
from kap.services.journal import entries as journal


def _user(email: str) -> User:
    return db.session.scalar(db.select(User).where(User.email == email))


def _write(email: str, name: str, *, shared: bool) -> int:
    entry, _created = journal.create_entry(
        _user(email), f"reads-{name}", {"body": f"{name} entry", "shared": shared}
    )
    return entry.id


@pytest.fixture
def written(ctx, people) -> dict[str, int]:
    """Entries of two patients of one clinic (different care teams), private and shared,
    one shared and then deleted, and one of another clinic's patient."""
    ids = {
        "own_private": _write("patient@demo.test", "own-private", shared=False),
        "own_shared": _write("patient@demo.test", "own-shared", shared=True),
        "deleted": _write("patient@demo.test", "deleted", shared=True),
        "colleague_shared": _write("patient2@demo.test", "colleague-shared", shared=True),
        "other_clinic_shared": _write("patient@other.test", "other-clinic", shared=True),
    }
    journal.delete_entry(_user("patient@demo.test"), ids["deleted"])
    return ids


def _readable(email: str, written: dict[str, int], patient_email: str | None = None) -> set:
    """Which of the written entries ``email`` may read (of one patient, when given)."""
    patient = _user(patient_email) if patient_email else None
    ids = {e.id for e in db.session.scalars(journal.readable_entries(_user(email), patient))}
    return {name for name, entry_id in written.items() if entry_id in ids}


def test_patient_reads_their_own_entries_private_and_shared(written):
    """A patient reads every entry of their own that is not deleted, and nobody else's."""
    assert _readable("patient@demo.test", written) == {"own_private", "own_shared"}


def test_care_team_therapist_reads_only_shared_entries_of_their_patients(written):
    """A therapist reads what their own patients shared: not a private entry, not a deleted
    one, not a colleague's patient's, not another clinic's."""
    assert _readable("therapist@demo.test", written) == {"own_shared"}


def test_therapist_outside_the_care_team_reads_none_of_that_patients_entries(written):
    """A colleague of the same clinic reads only their own patients' shared entries."""
    assert _readable("therapist2@demo.test", written) == {"colleague_shared"}
    assert _readable("therapist2@demo.test", written, "patient@demo.test") == set()


def test_therapist_of_another_clinic_reads_none(written):
    """Care lists stop at the clinic: another clinic's therapist reads none of these."""
    assert _readable("therapist@other.test", written) == {"other_clinic_shared"}
    assert _readable("therapist@other.test", written, "patient@demo.test") == set()


@pytest.mark.parametrize("admin", ["admin@demo.test", "admin@other.test"])
def test_clinic_admin_reads_no_journal_at_all(written, admin):
    """Clinic admins run the clinic; they read no entry, shared or not."""
    assert list(db.session.scalars(journal.readable_entries(_user(admin)))) == []


def test_unsharing_takes_the_entry_away_from_the_therapist(written):
    """Sharing is per entry and can be undone: an unshared entry is no longer readable."""
    journal.update_entry(_user("patient@demo.test"), written["own_shared"], {"shared": False})
    assert _readable("therapist@demo.test", written) == set()


def test_entry_lookup_follows_the_same_rule(written):
    """Opening one entry answers from the same definition: absent (404) when not readable."""
    therapist = _user("therapist@demo.test")
    assert journal.get_entry_for(therapist, written["own_shared"]).id == written["own_shared"]
    for name in ("own_private", "deleted", "colleague_shared", "other_clinic_shared"):
        with pytest.raises(NotFound):
            journal.get_entry_for(therapist, written[name])
    with pytest.raises(NotFound):
        journal.get_entry_for(_user("admin@demo.test"), written["own_shared"])
