"""The benchmark data set: one clinic, its therapists and patients, years of use — in bulk.

``python -m bench.datagen`` (``make bench-data``) writes into the configured database
(``KAP_DATABASE_URL``, SQLite or PostgreSQL; run ``flask --app wsgi db upgrade`` first):
1 clinic, 50 therapists, 2,000 patients, 12,000 sessions, 100,000 journal entries and
20,000 check-ins, with comments, read marks, clinical notes and a few safety alerts.

Rows are written with Core bulk inserts and explicit ids, so the text columns that are
encrypted at rest (journal bodies, intentions, comments, notes, TOTP secrets) are encrypted
before the insert, bound to each row's id exactly as the models would do it. Every account
shares one argon2id hash of ``BENCH_PASSWORD``; therapists share one TOTP secret.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import JSON, func, select, text
from sqlalchemy.exc import DBAPIError

from bench import rows as row_builders
from kap.crypto import encrypt
from kap.extensions import db
from kap.models import (
    Alert,
    CareTeamMember,
    ChecklistTick,
    Clinic,
    ClinicalNote,
    Course,
    EntryRead,
    JournalComment,
    JournalEntry,
    MeasureResponse,
    Role,
    SessionTemplate,
    TemplateVersion,
    TreatmentSession,
    User,
)
from kap.models.base import utcnow
from kap.services.auth.passwords import hash_password

BENCH_PASSWORD = "bench-password"  # noqa: S105 - public by design, like the demo's
#: Base32 TOTP secret of every bench therapist (their authenticator codes come from it).
BENCH_TOTP_SECRET = "KAPBENCHKAPBENCHKAPBENCHKAPBENCH"  # noqa: S105 - bench data only
BATCH = 5000
#: The model of each table bench.rows builds.
MODELS = {
    model.__tablename__: model
    for model in (
        CareTeamMember,
        Course,
        TreatmentSession,
        ChecklistTick,
        JournalEntry,
        JournalComment,
        EntryRead,
        MeasureResponse,
        Alert,
        ClinicalNote,
    )
}


@dataclass(frozen=True)
class Scale:
    """How much to generate. The default is the benchmark set of issue 8."""

    therapists: int = 50
    patients: int = 2000
    sessions: int = 12000
    entries: int = 100_000
    checkins: int = 20_000
    slug: str = "bench"

    def times(self, factor: int) -> Scale:
        """Every count ``factor`` times over (DESIGN §5 Capacity: the pages at 10x the data,
        20,000 patients and 1,000,000 entries; patients per therapist stay as they are)."""
        return replace(
            self,
            therapists=self.therapists * factor,
            patients=self.patients * factor,
            sessions=self.sessions * factor,
            entries=self.entries * factor,
            checkins=self.checkins * factor,
        )

    @property
    def domain(self) -> str:
        """People are ``therapist01@<slug>.test``, ``patient0001@<slug>.test``, ..."""
        return f"{self.slug}.test"


def _next_id(model) -> int:
    return (db.session.scalar(select(func.max(model.id))) or 0) + 1


def _insert(model, rows: list[dict]) -> None:
    """Bulk insert; every row gets every key (an executemany needs one shape)."""
    if not rows:
        return
    table = model.__table__
    keys = sorted({key for row in rows for key in row})
    if db.session.get_bind().dialect.name == "postgresql":
        _copy(table, keys, rows)
        return
    rows = [{key: row.get(key) for key in keys} for row in rows]
    for start in range(0, len(rows), BATCH):
        db.session.execute(table.insert(), rows[start : start + BATCH])


def _copy(table, keys: list[str], rows: list[dict]) -> None:
    """PostgreSQL's COPY: several times faster than batched INSERTs for this much data."""
    columns = [table.c[key] for key in keys]
    json_columns = {key for key in keys if isinstance(table.c[key].type, JSON)}
    cursor = db.session.connection().connection.dbapi_connection.cursor()
    names = ", ".join(f'"{key}"' for key in keys)
    with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(
                [
                    json.dumps(row[key]) if key in json_columns and key in row else row.get(key)
                    for key in keys
                ]
            )
    del columns


def _clinic_and_people(scale: Scale, now: datetime) -> tuple[Clinic, list[dict], list[dict]]:
    clinic = Clinic(
        name=f"{scale.slug.title()} Clinic", slug=scale.slug, timezone="America/New_York"
    )
    db.session.add(clinic)
    db.session.flush()
    password_hash = hash_password(BENCH_PASSWORD)
    next_user = _next_id(User)
    people = []

    def person(role: str, email: str, name: str) -> dict:
        nonlocal next_user
        row = {
            "id": next_user,
            "clinic_id": clinic.id,
            "email": email,
            "name": name,
            "role": role,
            "active": True,
            "password_hash": password_hash,
            "password_changed_at": now,
            "created_at": now,
            "updated_at": now,
        }
        next_user += 1
        people.append(row)
        return row

    person(Role.CLINIC_ADMIN, f"admin@{scale.domain}", "Bench Admin")
    therapists = [
        person(Role.THERAPIST, f"therapist{n:02d}@{scale.domain}", f"Dr. {row_builders.name(n)}")
        for n in range(1, scale.therapists + 1)
    ]
    for therapist in therapists:
        therapist["totp_secret_encrypted"] = encrypt(
            BENCH_TOTP_SECRET, clinic.id, "users", therapist["id"], "totp_secret"
        )
        therapist["totp_enabled_at"] = now
    patients = [
        person(Role.PATIENT, f"patient{n:04d}@{scale.domain}", row_builders.name(1000 + n))
        for n in range(1, scale.patients + 1)
    ]
    _insert(User, people)
    return clinic, therapists, patients


def _templates(clinic: Clinic) -> list[TemplateVersion]:
    from kap.models import DoseRoute
    from kap.services.clinic.templates import fill_version, new_template_draft, validate_draft

    versions = []
    for route, name in (
        (DoseRoute.IV_INFUSION, "IV infusion (bench)"),
        (DoseRoute.ESKETAMINE_NASAL, "Esketamine (bench)"),
    ):
        draft = new_template_draft(clinic, route)
        draft.name = name
        template = SessionTemplate(clinic_id=clinic.id, name=name, route=route)
        version = TemplateVersion(template=template, number=1)
        fill_version(version, validate_draft(draft, {}))
        db.session.add(template)
        versions.append(version)
    db.session.flush()
    return versions


def _reset_sequences() -> None:
    """PostgreSQL: move each id sequence past the ids written explicitly."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for model in (
        User,
        Course,
        TreatmentSession,
        JournalEntry,
        JournalComment,
        MeasureResponse,
        Alert,
        ClinicalNote,
    ):
        table = model.__tablename__
        db.session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
        )


def generate(scale: Scale = Scale(), seed: int = 8, now: datetime | None = None) -> dict:
    """Write the data set for ``scale`` and return how many rows of each kind were made."""
    if db.session.scalar(select(Clinic.id).where(Clinic.slug == scale.slug)) is not None:
        raise SystemExit(f"A clinic with slug {scale.slug!r} exists already: nothing written.")
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not security
    now = now or utcnow()
    clinic, therapists, patients = _clinic_and_people(scale, now)
    versions = _templates(clinic)
    plan = row_builders.Plan(
        rng=rng,
        now=now,
        clinic_id=clinic.id,
        therapists=therapists,
        patients=patients,
        versions=[(v.id, [item.id for item in v.checklist_items], v.template_id) for v in versions],
        ids={
            model.__tablename__: _next_id(model)
            for model in (
                Course,
                TreatmentSession,
                JournalEntry,
                JournalComment,
                MeasureResponse,
                Alert,
                ClinicalNote,
            )
        },
    )
    counts = {"clinics": 1, "users": 1 + len(therapists) + len(patients)}
    counts.update(dict.fromkeys(row_builders.TABLES, 0))
    for chunk in row_builders.build(plan, scale):
        for table in row_builders.TABLES:
            _insert(MODELS[table], chunk[table])
            counts[table] += len(chunk[table])
    _reset_sequences()
    db.session.commit()
    return counts


def settle() -> None:
    """Bring the database to the state a clinic's has in daily use, not the minutes after a
    bulk load: the planner's statistics (ANALYZE); on PostgreSQL also the visibility map and
    hint bits a VACUUM sets (otherwise the first reads of each page write it back), and a
    CHECKPOINT, so the checkpointer is not still flushing the load while pages are timed
    (likely the cause of second-long stalls in one bench run's bare-route run)."""
    with db.engine.connect() as connection:
        if connection.dialect.name != "postgresql":
            connection.execute(text("ANALYZE"))
            connection.commit()
            return
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        connection.execute(text("VACUUM (ANALYZE)"))
        try:
            connection.execute(text("CHECKPOINT"))  # superuser or pg_checkpoint only
        except DBAPIError as error:
            print(f"CHECKPOINT skipped ({error.orig}): the timings may include its flush")


def main(argv: list[str] | None = None) -> int:
    """Command line: generate the benchmark data set into the configured database."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--times", type=int, default=1, help="every default count this many times over"
    )
    args, _ = parser.parse_known_args(argv)
    defaults = Scale().times(args.times)
    for field in ("therapists", "patients", "sessions", "entries", "checkins"):
        parser.add_argument(f"--{field}", type=int, default=getattr(defaults, field))
    parser.add_argument("--slug", default=defaults.slug)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--report", help="also write the counts and seconds to this JSON file")
    args = parser.parse_args(argv)
    scale = Scale(
        therapists=args.therapists,
        patients=args.patients,
        sessions=args.sessions,
        entries=args.entries,
        checkins=args.checkins,
        slug=args.slug,
    )
    from kap import create_app

    app = create_app()
    started = time.perf_counter()
    with app.app_context():
        counts = generate(scale, seed=args.seed)
        settle()
        where = db.engine.url.render_as_string(hide_password=True)
    elapsed = time.perf_counter() - started
    print(f"Benchmark data written to {where} in {elapsed:.1f} s:")
    for name, count in counts.items():
        print(f"  {name:28} {count:>8,}")
    print(f"Every account's password is {BENCH_PASSWORD!r}; see docs/benchmarks.md.")
    if args.report:
        Path(args.report).write_text(json.dumps({"seconds": elapsed, "rows": counts}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
