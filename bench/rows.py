"""Row builders for the benchmark data set: plain dicts ready for Core bulk inserts.

Each patient gets one course: most have finished it, some are half-way, a few start soon.
Entries follow completed sessions, check-ins come weekly (PHQ-9 and GAD-7 on the same
evening) with scores that fall over the course, as they often do. Encrypted columns are
encrypted here, with the row id chosen here.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bench import textgen
from kap.crypto import encrypt
from kap.models import CoursePattern, SessionStatus
from kap.services.measures.scoring import BUILT_IN

#: PHQ-9 item 9 (thoughts of self-harm) is the ninth answer.
PHQ9_ITEM9_INDEX = 8

name = textgen.person_name
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass
class Plan:
    """What the builders need: randomness, the clock, the people and the next free ids."""

    rng: random.Random
    now: datetime
    clinic_id: int
    therapists: list[dict]
    patients: list[dict]
    versions: list[tuple[int, list[int], int]]  # (version id, checklist item ids, template id)
    ids: dict[str, int]
    out: dict[str, list[dict]] = field(default_factory=dict)

    def new_id(self, table: str) -> int:
        value = self.ids[table]
        self.ids[table] = value + 1
        return value

    def add(self, table: str, row: dict) -> dict:
        self.out.setdefault(table, []).append(row)
        return row


def split(total: int, count: int, rng: random.Random, sigma: float, scale=None) -> list[int]:
    """``total`` shared out over ``count`` people, unevenly (log-normal), summing exactly."""
    weights = [rng.lognormvariate(0, sigma) * (scale(i) if scale else 1) for i in range(count)]
    whole = sum(weights)
    shares = [int(total * w / whole) for w in weights]
    for i in rng.sample(range(count), total - sum(shares)):
        shares[i] += 1
    return shares


def _course(plan: Plan, patient: dict, index: int, count: int) -> list[dict]:
    """A course of ``count`` sessions, twice a week, with its state by where it stands."""
    rng, now = plan.rng, plan.now
    stage = index % 10  # 0-6 finished, 7-8 half-way, 9 starting soon
    if stage <= 6:
        start = now - DAY * rng.randint(4 * count + 7, 400)
    elif stage <= 8:
        start = now - DAY * (count // 2 * 3.5) + HOUR * rng.randint(2, 60)
    else:
        start = now + DAY * rng.randint(1, 14)
    start = start.replace(hour=15, minute=0, second=0, microsecond=0)
    version_id, items, template_id = plan.versions[0 if index % 5 else 1]
    course = plan.add(
        "courses",
        {
            "id": plan.new_id("courses"),
            "clinic_id": plan.clinic_id,
            "patient_id": patient["id"],
            "template_id": template_id,
            "pattern": CoursePattern.CUSTOM,
            "created_at": start - DAY * 10,
        },
    )
    sessions = []
    upcoming_seen = False
    for number in range(count):
        at = start + DAY * (number * 3.5)
        row = {
            "id": plan.new_id("treatment_sessions"),
            "clinic_id": plan.clinic_id,
            "patient_id": patient["id"],
            "course_id": course["id"],
            "template_version_id": version_id,
            "scheduled_at": at,
            "status": SessionStatus.SCHEDULED,
            "is_booster": False,
            "location_label": f"Room {1 + number % 3}",
            "cancel_reason": "",
            "created_at": course["created_at"],
            "updated_at": course["created_at"],
        }
        past = at + HOUR * 3 < now
        if past and rng.random() < 0.05:
            row.update(status=SessionStatus.CANCELLED, cancelled_at=at - DAY, cancel_reason="Ill")
        elif past:
            row.update(
                status=SessionStatus.COMPLETE,
                session_started_at=at + HOUR / 6,
                downtime_started_at=at + HOUR * 50 / 60,
                integration_started_at=at + HOUR * 110 / 60,
                completed_at=at + HOUR * 130 / 60,
                discharged_at=at + HOUR * 3,
                updated_at=at + HOUR * 3,
            )
            for item in items:
                plan.add(
                    "session_checklist_ticks",
                    {"session_id": row["id"], "item_id": item, "checked_at": at - HOUR * 14},
                )
        elif not upcoming_seen:
            upcoming_seen = True
            for item in items[: rng.randint(0, len(items))]:
                plan.add(
                    "session_checklist_ticks",
                    {"session_id": row["id"], "item_id": item, "checked_at": now - HOUR},
                )
        wants_intention = rng.random() < (0.9 if row["status"] == SessionStatus.COMPLETE else 0.3)
        if row["status"] != SessionStatus.CANCELLED and wants_intention:
            row["intention"] = encrypt(
                textgen.intention(rng), plan.clinic_id, "treatment_sessions", row["id"], "intention"
            )
            row["intention_updated_at"] = min(now, at - DAY)
        sessions.append(plan.add("treatment_sessions", row))
    return sessions


def _entries(plan: Plan, patient: dict, therapist: dict, sessions: list[dict], count: int):
    rng, now = plan.rng, plan.now
    done = [s for s in sessions if s["status"] == SessionStatus.COMPLETE]
    moments = []
    for _ in range(count):
        if done:
            anchor = rng.choice(done)
            written = anchor["completed_at"] + HOUR * rng.uniform(0.5, 24 * 6)
            moments.append((min(written, now - HOUR * rng.uniform(0.1, 2)), anchor["id"]))
        else:
            moments.append((now - DAY * rng.uniform(0.1, 30), None))
    for written, session_id in sorted(moments, key=lambda pair: pair[0]):
        entry_id = plan.new_id("journal_entries")
        shared = rng.random() < 0.4
        plan.add(
            "journal_entries",
            {
                "id": entry_id,
                "clinic_id": plan.clinic_id,
                "patient_id": patient["id"],
                "client_id": f"bench-{entry_id}",
                "session_id": session_id if rng.random() < 0.85 else None,
                "body": encrypt(
                    textgen.journal_body(rng), plan.clinic_id, "journal_entries", entry_id, "body"
                ),
                "mood": rng.randint(2, 9) if rng.random() < 0.8 else None,
                "shared": shared,
                "shared_at": written if shared else None,
                "revision": 1,
                "created_at": written,
                "updated_at": written,
            },
        )
        if shared and written < now - DAY * 3 and rng.random() < 0.9:
            plan.add(
                "entry_reads",
                {"entry_id": entry_id, "therapist_id": therapist["id"], "read_at": written + DAY},
            )
        if shared and rng.random() < 0.15:
            _comment(plan, entry_id, therapist["id"], min(now, written + HOUR * 20))
            if rng.random() < 0.5:
                _comment(plan, entry_id, patient["id"], min(now, written + HOUR * 30))


def _comment(plan: Plan, entry_id: int, author_id: int, at: datetime) -> None:
    comment_id = plan.new_id("journal_comments")
    body = encrypt(
        textgen.comment(plan.rng), plan.clinic_id, "journal_comments", comment_id, "body"
    )
    plan.add(
        "journal_comments",
        {
            "id": comment_id,
            "entry_id": entry_id,
            "author_id": author_id,
            "body": body,
            "created_at": at,
        },
    )


def _answers(rng: random.Random, instrument: str, score: int, item9: bool) -> list[int]:
    answers = [0] * len(BUILT_IN[instrument].scored_items)
    if item9:
        answers[PHQ9_ITEM9_INDEX] = 1
    order = [i for i in range(len(answers)) if not (instrument == "phq9" and i == PHQ9_ITEM9_INDEX)]
    left = max(0, min(score, 3 * len(order) + sum(answers)) - sum(answers))
    while left:
        index = rng.choice(order)
        if answers[index] < 3:
            answers[index] += 1
            left -= 1
    return answers


def _checkins(plan: Plan, patient: dict, therapist: dict, sessions: list[dict], count: int):
    rng, now = plan.rng, plan.now
    evenings = (count + 1) // 2
    first = min(sessions[0]["scheduled_at"] - DAY * 2, now - DAY * (7 * evenings))
    baselines = {"phq9": rng.randint(10, 24), "gad7": rng.randint(8, 18)}
    made = 0
    for evening in range(evenings):
        at = first + DAY * (7 * evening)
        for instrument in ("phq9", "gad7"):
            if made == count:
                return
            made += 1
            maximum = BUILT_IN[instrument].max_score or 0
            trend = 1 - 0.55 * evening / max(1, evenings - 1)
            score = max(0, min(maximum, round(baselines[instrument] * trend + rng.gauss(0, 2))))
            item9 = instrument == "phq9" and rng.random() < 0.01
            answers = _answers(rng, instrument, score, item9)
            score = sum(answers)
            response_id = plan.new_id("measure_responses")
            plan.add(
                "measure_responses",
                {
                    "id": response_id,
                    "clinic_id": plan.clinic_id,
                    "patient_id": patient["id"],
                    "instrument": instrument,
                    "answers": answers,
                    "score": score,
                    "severity": BUILT_IN[instrument].band_for(score).severity,
                    "client_id": f"bench-m-{response_id}",
                    "created_at": at,
                },
            )
            if item9:
                _alert(plan, patient, therapist, at)


def _alert(plan: Plan, patient: dict, therapist: dict, at: datetime) -> None:
    closed = at < plan.now - DAY * 3
    plan.add(
        "alerts",
        {
            "id": plan.new_id("alerts"),
            "clinic_id": plan.clinic_id,
            "patient_id": patient["id"],
            "kind": "phq9_item9",
            "created_at": at,
            "acknowledged_at": at + HOUR if closed else None,
            "acknowledged_by_id": therapist["id"] if closed else None,
            "resolved_at": at + HOUR * 3 if closed else None,
            "resolved_by_id": therapist["id"] if closed else None,
            "resolution_note": "Called the patient; safety plan reviewed." if closed else "",
        },
    )


def _notes(plan: Plan, patient: dict, therapist: dict, sessions: list[dict]) -> None:
    for session in sessions:
        if session["status"] != SessionStatus.COMPLETE or plan.rng.random() >= 0.25:
            continue
        note_id = plan.new_id("clinical_notes")
        body = encrypt(
            textgen.clinical_note(plan.rng), plan.clinic_id, "clinical_notes", note_id, "body"
        )
        plan.add(
            "clinical_notes",
            {
                "id": note_id,
                "clinic_id": plan.clinic_id,
                "patient_id": patient["id"],
                "author_id": therapist["id"],
                "session_id": session["id"],
                "body": body,
                "created_at": session["completed_at"] + HOUR * 2,
            },
        )


#: Tables in the order their rows are written (a row's references are written before it).
TABLES = (
    "care_team_members",
    "courses",
    "treatment_sessions",
    "session_checklist_ticks",
    "journal_entries",
    "journal_comments",
    "entry_reads",
    "measure_responses",
    "alerts",
    "clinical_notes",
)


def build(plan: Plan, scale, chunk: int = 500) -> Iterator[dict[str, list[dict]]]:
    """Every row of the data set except the clinic, its people and its templates, in chunks
    of ``chunk`` patients: at ten times the data (1,000,000 entries, about a gigabyte of
    ciphertext) the rows are written chunk by chunk instead of held in memory at once.
    The chunk size changes nothing in the rows (one random stream, ids in the same order)."""
    rng, count = plan.rng, len(plan.patients)
    sessions_each = split(scale.sessions, count, rng, 0.0)
    # Patients who have not started yet have written little; heavy writers exist.
    entries_each = split(scale.entries, count, rng, 0.5, lambda i: 0.2 if i % 10 == 9 else 1)
    checkins_each = split(scale.checkins, count, rng, 0.0)
    therapists = plan.therapists
    for index, patient in enumerate(plan.patients):
        if index % chunk == 0:
            if index:
                yield plan.out
            plan.out = {table: [] for table in TABLES}
        therapist = therapists[index % len(therapists)]
        team = [therapist]
        if index % 10 == 3 and len(therapists) > 1:  # some patients see two therapists
            team.append(therapists[(index + 1) % len(therapists)])
        for member in team:
            plan.add(
                "care_team_members",
                {
                    "patient_id": patient["id"],
                    "therapist_id": member["id"],
                    "clinic_id": plan.clinic_id,
                    "created_at": plan.now - DAY * 400,
                },
            )
        sessions = _course(plan, patient, index, max(1, sessions_each[index]))
        _entries(plan, patient, therapist, sessions, entries_each[index])
        _checkins(plan, patient, therapist, sessions, checkins_each[index])
        _notes(plan, patient, therapist, sessions)
    if plan.patients:
        yield plan.out
