"""Demo templates and sessions, created only where missing."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from kap.demo.session_day import add_monitoring_record
from kap.extensions import db
from kap.models import (
    ChecklistTick,
    Clinic,
    Course,
    CoursePattern,
    DoseRoute,
    JournalComment,
    JournalEntry,
    SessionStatus,
    SessionTemplate,
    TemplateVersion,
    TreatmentSession,
    User,
)
from kap.services.clinic.templates import (
    ChecklistRow,
    CueRow,
    TemplateDraft,
    TrackRow,
    fill_version,
    new_template_draft,
    validate_draft,
)
from kap.services.sessions.playlist import format_duration
from kap.timezones import local_to_utc, to_local

WALKTHROUGH = "Walkthrough (3 minutes)"
IV_TEMPLATE = "IV infusion (40 minutes of music)"
ESKETAMINE_TEMPLATE = "Esketamine nasal spray (2-hour observation)"


def _soundscape(title: str, key: str, texture: str, seed: int, seconds: int) -> TrackRow:
    return TrackRow(
        title=title, key=key, texture=texture, seed=seed, duration=format_duration(seconds)
    )


def _iv_draft(clinic: Clinic) -> TemplateDraft:
    draft = new_template_draft(clinic, DoseRoute.IV_INFUSION)
    draft.name = IV_TEMPLATE
    draft.description = "Standard IV ketamine infusion, about 40 minutes, eyes closed with music."
    draft.tracks = [
        _soundscape("Arrival", "D", "drone", 11, 600),
        _soundscape("Open sky", "A", "pad", 23, 600),
        _soundscape("Tide", "F", "waves", 37, 600),
        _soundscape("Return", "D", "bells", 41, 624),
    ]
    draft.cues = [
        CueRow("0:20", "Settle in. Let your breath slow down.", True),
        CueRow("5:00", "Whatever comes, you can let it pass like weather.", True),
        CueRow("15:00", "You are safe. Your care team is close by.", True),
        CueRow("30:00", "Notice what is here, without needing to change it.", False),
        CueRow("38:00", "Begin, slowly, to notice the room around you.", True),
    ]
    return draft


def _esketamine_draft(clinic: Clinic) -> TemplateDraft:
    draft = new_template_draft(clinic, DoseRoute.ESKETAMINE_NASAL)
    draft.name = ESKETAMINE_TEMPLATE
    draft.description = (
        "Esketamine nasal spray under supervision, then the required two-hour observation "
        "before discharge."
    )
    draft.downtime_minutes = "60"
    draft.observation_minutes = "120"
    draft.tracks = [
        _soundscape("First light", "G", "pad", 5, 900),
        _soundscape("Slow water", "C", "waves", 9, 900),
        _soundscape("Resting", "G", "drone", 13, 900),
    ]
    draft.cues = [
        CueRow("0:30", "Rest back. Let the spray settle; there is nothing to do.", True),
        CueRow("20:00", "You are safe. Staff are close by.", True),
    ]
    return draft


def _walkthrough_draft(clinic: Clinic) -> TemplateDraft:
    return TemplateDraft(
        name=WALKTHROUGH,
        route=DoseRoute.IV_INFUSION,
        description="A three-minute walk through every phase, for demos and tests.",
        crossfade_seconds="8",
        downtime_minutes="1",
        observation_minutes="5",
        checklist=[
            ChecklistRow(
                f"No food for {clinic.fasting_hours} hours before my session",
                "An empty stomach lowers the chance of nausea.",
                True,
                day_of=True,
            ),
            ChecklistRow(
                "No alcohol in the last 24 hours",
                "Ketamine taken with alcohol can be dangerous, even fatal.",
                True,
                day_of=True,
            ),
            ChecklistRow(
                "A ride home is arranged",
                "No driving until the next day after sleep.",
                True,
                day_of=True,
            ),
            ChecklistRow(
                "Eye mask and headphones are ready",
                "Darkness and music help you turn inward.",
                False,
            ),
        ],
        intention_prompts=["What would you like to explore today?"],
        tracks=[
            _soundscape("Settling", "D", "drone", 3, 60),
            _soundscape("Opening", "A", "pad", 7, 60),
        ],
        cues=[
            CueRow("0:05", "Put on your eye mask and let your breath slow.", True),
            CueRow("1:10", "Notice the music changing, and let it carry you.", True),
        ],
        integration_prompts=[
            "What stood out most?",
            "What would you like to remember from today?",
        ],
    )


def _ensure_template(clinic: Clinic, draft: TemplateDraft) -> SessionTemplate:
    template = db.session.scalar(
        select(SessionTemplate).where(
            SessionTemplate.clinic_id == clinic.id, SessionTemplate.name == draft.name
        )
    )
    if template is None:
        valid = validate_draft(draft, {})
        template = SessionTemplate(clinic_id=clinic.id, name=draft.name, route=draft.route)
        version = TemplateVersion(template=template, number=1)
        fill_version(version, valid)
        # Every demo template asks for a cleared intake and a signed consent, as a clinic
        # would: the demo patient has both, so the Walkthrough starts at once; patient2's
        # intake waits for review and their consent is unsigned.
        version.requires_intake = True
        version.requires_consent = True
        db.session.add(template)
        db.session.flush()
    return template


def _start_of_this_hour(clinic: Clinic, now: datetime) -> datetime:
    local = to_local(now, clinic.timezone)
    return local_to_utc(local.date(), time(local.hour), clinic.timezone)


def _days_ahead_at_ten(clinic: Clinic, now: datetime, days: int) -> datetime:
    """A future appointment in clinic hours: 10:00 local, ``days`` from today."""
    local_day = to_local(now, clinic.timezone).date() + timedelta(days=days)
    return local_to_utc(local_day, time(10), clinic.timezone)


def _past_session(patient, course, template, days_ago: int, now, intention: str):
    start = now - timedelta(days=days_ago, hours=2)
    version = template.current_version
    return TreatmentSession(
        # A completed session had its preparation done: every item ticked the evening before.
        ticks=[
            ChecklistTick(item_id=item.id, checked_at=start - timedelta(hours=14))
            for item in version.checklist_items
        ],
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        course=course,
        template_version_id=template.current_version.id,
        scheduled_at=start,
        status=SessionStatus.COMPLETE,
        intention=intention,
        intention_updated_at=start,
        session_started_at=start + timedelta(minutes=10),
        downtime_started_at=start + timedelta(minutes=50),
        integration_started_at=start + timedelta(minutes=110),
        completed_at=start + timedelta(minutes=130),
        location_label="Room 2",
    )


def seed_demo_content(users: dict[str, User], now: datetime | None = None) -> None:
    """Templates for both clinics and sessions for the demo patients."""
    now = now or datetime.now(UTC)
    demo = users["patient@demo.test"].clinic
    other = users["patient@other.test"].clinic
    iv = _ensure_template(demo, _iv_draft(demo))
    esketamine = _ensure_template(demo, _esketamine_draft(demo))
    walkthrough = _ensure_template(demo, _walkthrough_draft(demo))
    other_iv = _ensure_template(other, _iv_draft(other))

    patient = users["patient@demo.test"]
    if db.session.scalar(select(Course.id).where(Course.patient_id == patient.id)) is None:
        course = Course(
            clinic_id=demo.id,
            patient_id=patient.id,
            template_id=iv.id,
            pattern=CoursePattern.CUSTOM,
        )
        intentions = [
            "To understand why I keep pulling away from people I love.",
            "To meet the heaviness with curiosity instead of fear.",
            "To notice what I need, and let myself have it.",
        ]
        # The latest past session was an esketamine session with a complete monitoring
        # record; the earlier two were IV infusions.
        past_templates = (iv, iv, esketamine)
        # _past_session(course=...) already puts each session in course.sessions.
        past = [
            _past_session(patient, course, template, days_ago, now, intention)
            for days_ago, intention, template in zip(
                (16, 12, 9), intentions, past_templates, strict=True
            )
        ]
        course.sessions.append(
            TreatmentSession(
                clinic_id=demo.id,
                patient_id=patient.id,
                template_version_id=walkthrough.current_version.id,
                scheduled_at=_start_of_this_hour(demo, now),
                location_label="Room 2",
            )
        )
        for days_ahead in (4, 7):
            course.sessions.append(
                TreatmentSession(
                    clinic_id=demo.id,
                    patient_id=patient.id,
                    template_version_id=iv.current_version.id,
                    scheduled_at=_days_ahead_at_ten(demo, now, days_ahead),
                    location_label="Room 2",
                )
            )
        db.session.add(course)
        db.session.flush()
        add_monitoring_record(past[-1], users["therapist@demo.test"])

    _seed_journal(patient, users["therapist@demo.test"])

    for email, template, clinic in (
        ("patient2@demo.test", esketamine, demo),
        ("patient@other.test", other_iv, other),
    ):
        person = users[email]
        if db.session.scalar(select(Course.id).where(Course.patient_id == person.id)) is None:
            course = Course(
                clinic_id=clinic.id,
                patient_id=person.id,
                template_id=template.id,
                pattern=CoursePattern.CUSTOM,
            )
            for days_ahead in (1, 4, 8):
                course.sessions.append(
                    TreatmentSession(
                        clinic_id=clinic.id,
                        patient_id=person.id,
                        template_version_id=template.current_version.id,
                        scheduled_at=_days_ahead_at_ten(clinic, now, days_ahead),
                        location_label="Room 1",
                    )
                )
            db.session.add(course)
    db.session.commit()


#: (days after the session, shared, mood, text) for each past demo session, oldest first.
DEMO_ENTRIES = [
    [
        (
            0,
            True,
            5,
            "Strange and gentle. I saw my grandmother's kitchen, the yellow light.\n"
            "I felt small but not scared. I want to talk about why I cried.",
        ),
        (
            1,
            False,
            4,
            "Tired today. I don't want anyone to read this yet: I am angry at my "
            "brother and I don't know what to do with it.",
        ),
    ],
    [
        (
            0,
            True,
            6,
            "The music felt like weather passing over me. The heaviness was there but "
            "it had edges, like I could walk around it.",
        ),
    ],
    [
        (
            0,
            True,
            7,
            "I noticed I was holding my breath when I thought about work.\n"
            "Letting it go felt like setting down a bag I'd carried for years.",
        ),
        (2, False, 7, "Walked by the river. Small thing, but I wanted to remember it."),
    ],
]


def _seed_journal(patient: User, therapist: User) -> None:
    """Entries across the past sessions, some shared with the therapist, with one reply thread."""
    if db.session.scalar(select(JournalEntry.id).where(JournalEntry.patient_id == patient.id)):
        return
    db.session.flush()
    past = db.session.scalars(
        select(TreatmentSession)
        .where(
            TreatmentSession.patient_id == patient.id,
            TreatmentSession.status == SessionStatus.COMPLETE,
        )
        .order_by(TreatmentSession.scheduled_at)
    ).all()
    for session, entries in zip(past, DEMO_ENTRIES, strict=False):
        for number, (days_after, shared, mood, body) in enumerate(entries):
            written = session.completed_at + timedelta(days=days_after, hours=1 + number)
            entry = JournalEntry(
                clinic_id=patient.clinic_id,
                patient_id=patient.id,
                client_id=f"demo-{session.id}-{number}",
                session_id=session.id,
                body=body,
                mood=mood,
                shared=shared,
                shared_at=written if shared else None,
                created_at=written,
                updated_at=written,
            )
            db.session.add(entry)
            if session is past[0] and shared:
                entry.comments = [
                    JournalComment(
                        author_id=therapist.id,
                        created_at=written + timedelta(hours=20),
                        body="Thank you for sharing this. Let's start there on Thursday: "
                        "what the yellow light felt like.",
                    ),
                    JournalComment(
                        author_id=patient.id,
                        created_at=written + timedelta(hours=22),
                        body="Yes, I'd like that.",
                    ),
                ]
