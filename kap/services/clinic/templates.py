"""Session templates: drafts, validation, versioned saving and archiving.

A template's content lives in versions. Saving a version that a session already uses
creates a new version, so sessions keep what they were scheduled with. A save based on an
older revision than the stored one is refused, so two admins never overwrite each other.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from kap.extensions import db
from kap.models import (
    AudioFile,
    ChecklistItem,
    Clinic,
    DoseRoute,
    EyeMaskCue,
    PlaylistTrack,
    PromptFallback,
    SessionTemplate,
    TemplateVersion,
    TrackKind,
    TreatmentSession,
    User,
)
from kap.models.base import utcnow
from kap.models.media import AudioPurpose
from kap.models.reminders import ALL_REMINDER_KINDS
from kap.services import audit
from kap.services.audio.prompt_track import MAX_PROMPT_SECONDS
from kap.services.clinic import template_defaults as defaults
from kap.services.clinic.reminder_choices import clean_reminder_kinds
from kap.services.errors import Conflict, Invalid
from kap.services.measures.library import instruments_for
from kap.services.queries import one_or_not_found
from kap.services.sessions.playlist import (
    MAX_TRACK_SECONDS,
    format_duration,
    parse_duration,
    playlist_length,
)
from kap.services.unit_of_work import use_case

LIMITS = {
    "crossfade_seconds": (0, 30),
    "downtime_minutes": (0, 600),
    "observation_minutes": (0, 600),
    "post_dose_check_minutes": (0, 600),
}


#: What a new template asks before and after each session, and monthly.
DEFAULT_CHECKIN = ("phq9", "gad7")
DEFAULT_AFTER = ("side_effects",)
DEFAULT_MONTHLY = ("bladder",)
#: The draft's questionnaire lists, by field name.
SCHEDULES = ("checkin_instruments", "after_instruments", "monthly_instruments")


@dataclass
class ChecklistRow:
    text: str = ""
    help_text: str = ""
    required: bool = True
    day_of: bool = False  # about the day itself: tickable only from the day before


@dataclass
class TrackRow:
    title: str = ""
    kind: str = TrackKind.SOUNDSCAPE
    audio_file_id: int | None = None
    key: str = "D"
    texture: str = "drone"
    seed: int = 1
    duration: str = ""  # as typed, e.g. "10:00"; uploads take the file's own length


@dataclass
class CueRow:
    at: str = ""  # as typed, e.g. "0:30"
    text: str = ""
    chime: bool = True
    recording_id: int | None = None  # the prompt in the clinic's own voice


@dataclass
class TemplateDraft:
    """A template as an editor holds it: text as typed, lists in order."""

    name: str = ""
    route: str = DoseRoute.IV_INFUSION
    description: str = ""
    crossfade_seconds: str = "8"
    downtime_minutes: str = "60"
    observation_minutes: str = "60"
    post_dose_check_minutes: str = "0"
    requires_check_in: bool = False
    #: Gates before Start session (a new template asks for both; older versions were made
    #: before they existed and keep them off).
    requires_intake: bool = False
    requires_consent: bool = False
    #: Questionnaire codes asked before each session, after each, and monthly.
    checkin_instruments: list[str] = field(default_factory=lambda: list(DEFAULT_CHECKIN))
    after_instruments: list[str] = field(default_factory=lambda: list(DEFAULT_AFTER))
    monthly_instruments: list[str] = field(default_factory=lambda: list(DEFAULT_MONTHLY))
    #: Reminder kinds (models.reminders.ReminderKind) the template's sessions send.
    reminder_kinds: list[str] = field(default_factory=lambda: list(ALL_REMINDER_KINDS))
    checklist: list[ChecklistRow] = field(default_factory=list)
    intention_prompts: list[str] = field(default_factory=list)
    tracks: list[TrackRow] = field(default_factory=list)
    cues: list[CueRow] = field(default_factory=list)
    #: How a cue without a recording sounds (models.templates.PromptFallback).
    prompt_fallback: str = PromptFallback.GENERATED_VOICE
    integration_prompts: list[str] = field(default_factory=list)


def new_template_draft(clinic: Clinic, route: str = DoseRoute.IV_INFUSION) -> TemplateDraft:
    """A fresh draft with the clinic's defaults (every number stays editable)."""
    route = route if route in DoseRoute.__members__.values() else DoseRoute.IV_INFUSION
    return TemplateDraft(
        route=route,
        observation_minutes=str(defaults.DEFAULT_OBSERVATION_MINUTES[DoseRoute(route)]),
        post_dose_check_minutes=str(defaults.DEFAULT_POST_DOSE_CHECK_MINUTES[DoseRoute(route)]),
        requires_check_in=defaults.DEFAULT_REQUIRES_CHECK_IN[DoseRoute(route)],
        requires_intake=True,
        requires_consent=True,
        checklist=[ChecklistRow(**item) for item in defaults.default_checklist(clinic)],
        intention_prompts=list(defaults.DEFAULT_INTENTION_PROMPTS),
        tracks=[
            TrackRow(
                title=t["title"],
                key=t["key"],
                texture=t["texture"],
                seed=t["seed"],
                duration=format_duration(t["duration_seconds"]),
            )
            for t in defaults.default_playlist()
        ],
        cues=[
            CueRow(at=format_duration(c["at_seconds"]), text=c["text"], chime=c["chime"])
            for c in defaults.default_cues()
        ],
        integration_prompts=list(defaults.DEFAULT_INTEGRATION_PROMPTS),
    )


def draft_from_version(template: SessionTemplate, version: TemplateVersion) -> TemplateDraft:
    """The editor's view of a stored version."""
    return TemplateDraft(
        name=template.name,
        route=template.route,
        description=version.description,
        crossfade_seconds=str(version.crossfade_seconds),
        downtime_minutes=str(version.downtime_minutes),
        observation_minutes=str(version.observation_minutes),
        post_dose_check_minutes=str(version.post_dose_check_minutes),
        requires_check_in=version.requires_check_in,
        requires_intake=version.requires_intake,
        requires_consent=version.requires_consent,
        checkin_instruments=list(version.checkin_instruments or []),
        after_instruments=list(version.after_instruments or []),
        monthly_instruments=list(version.monthly_instruments or []),
        reminder_kinds=list(
            ALL_REMINDER_KINDS if version.reminder_kinds is None else version.reminder_kinds
        ),
        checklist=[
            ChecklistRow(i.text, i.help_text, i.required, i.day_of) for i in version.checklist_items
        ],
        intention_prompts=list(version.intention_prompts or []),
        tracks=[
            TrackRow(
                title=t.title,
                kind=t.kind,
                audio_file_id=t.audio_file_id,
                key=(t.soundscape or {}).get("key", "D"),
                texture=(t.soundscape or {}).get("texture", "drone"),
                seed=int((t.soundscape or {}).get("seed", 1)),
                duration=format_duration(t.duration_seconds),
            )
            for t in version.tracks
        ],
        cues=[
            CueRow(format_duration(c.at_seconds), c.text, c.chime, c.recording_id)
            for c in version.cues
        ],
        prompt_fallback=version.prompt_fallback,
        integration_prompts=list(version.integration_prompts or []),
    )


@dataclass
class ValidTemplate:
    """A draft that passed validation, with numbers parsed."""

    draft: TemplateDraft
    numbers: dict[str, int]
    track_durations: list[float]
    cue_seconds: list[int]


def validate_draft(
    draft: TemplateDraft,
    audio_files: dict[int, AudioFile],
    offered: Collection[str] | None = None,
) -> ValidTemplate:
    """Check every rule; raise Invalid with a message per field (``fields`` keyed by input name).

    ``offered`` is the questionnaire codes the clinic offers (None: not checked).
    """
    errors: dict[str, list[str]] = {}

    def error(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    draft.name = draft.name.strip()
    if not draft.name:
        error("name", "Give the template a name.")
    elif len(draft.name) > 120:
        error("name", "Keep the name under 120 characters.")
    if draft.route not in DoseRoute.__members__.values():
        error("route", "Choose how the dose is given.")
    if len(draft.description) > 4000:
        error("description", "Keep the description under 4,000 characters.")

    numbers: dict[str, int] = {}
    for name, (low, high) in LIMITS.items():
        raw = str(getattr(draft, name)).strip()
        if not raw.isdigit() or not low <= int(raw) <= high:
            error(name, f"Enter a whole number from {low} to {high}.")
        else:
            numbers[name] = int(raw)
    post_dose = numbers.get("post_dose_check_minutes")
    observation = numbers.get("observation_minutes")
    if post_dose and observation is not None and post_dose > observation:
        error(
            "post_dose_check_minutes",
            f"The post-dose check must fall within observation ({observation} minutes).",
        )

    for name in SCHEDULES:
        codes = list(dict.fromkeys(getattr(draft, name)))  # once each, in the order given
        setattr(draft, name, codes)
        if offered is not None and (unknown := [code for code in codes if code not in offered]):
            error(name, "Not a questionnaire your clinic offers: " + ", ".join(unknown) + ".")

    draft.reminder_kinds, unknown_kinds = clean_reminder_kinds(draft.reminder_kinds)
    if unknown_kinds:
        error("reminder_kinds", "Not a reminder this app sends: " + ", ".join(unknown_kinds) + ".")

    for index, row in enumerate(draft.checklist):
        row.text = row.text.strip()
        if not row.text:
            error(f"checklist-{index}-text", "Write the item, or remove it.")
        elif len(row.text) > 300:
            error(f"checklist-{index}-text", "Keep items under 300 characters.")
        if len(row.help_text) > 600:
            error(f"checklist-{index}-help_text", "Keep the explanation under 600 characters.")

    for list_name, prompts in (
        ("intention", draft.intention_prompts),
        ("integration", draft.integration_prompts),
    ):
        for index, prompt in enumerate(prompts):
            prompts[index] = prompt.strip()
            if not prompts[index]:
                error(f"{list_name}-{index}", "Write the prompt, or remove it.")
            elif len(prompts[index]) > 300:
                error(f"{list_name}-{index}", "Keep prompts under 300 characters.")

    durations: list[float] = []
    for index, track in enumerate(draft.tracks):
        track.title = track.title.strip()
        if not track.title:
            error(f"tracks-{index}-title", "Give the track a title.")
        if track.kind == TrackKind.UPLOAD:
            audio = audio_files.get(track.audio_file_id or -1)
            if audio is None or audio.purpose != AudioPurpose.TRACK:
                error(f"tracks-{index}-kind", "Choose an uploaded file from this clinic.")
                durations.append(0.0)
            else:
                durations.append(audio.duration_seconds)
                track.duration = format_duration(audio.duration_seconds)
        elif track.kind == TrackKind.SOUNDSCAPE:
            if track.key not in defaults.SOUNDSCAPE_KEYS:
                error(f"tracks-{index}-key", "Choose a key.")
            if track.texture not in defaults.SOUNDSCAPE_TEXTURES:
                error(f"tracks-{index}-texture", "Choose a texture.")
            seconds = parse_duration(track.duration)
            if seconds is None or not 10 <= seconds <= MAX_TRACK_SECONDS:
                error(f"tracks-{index}-duration", "Enter a length from 0:10 to 4:00:00.")
                durations.append(0.0)
            else:
                durations.append(float(seconds))
        else:
            error(f"tracks-{index}-kind", "Choose a soundscape or an uploaded file.")
            durations.append(0.0)

    length = playlist_length(durations, numbers.get("crossfade_seconds", 8))
    cue_seconds: list[int] = []
    for index, cue in enumerate(draft.cues):
        cue.text = cue.text.strip()
        if not cue.text:
            error(f"cues-{index}-text", "Write the prompt, or remove it.")
        elif len(cue.text) > 300:
            error(f"cues-{index}-text", "Keep prompts under 300 characters.")
        seconds = parse_duration(cue.at)
        if seconds is None:
            error(f"cues-{index}-at", "Enter a time such as 0:30 or 12:00.")
        elif seconds > length:
            error(
                f"cues-{index}-at",
                f"This prompt comes after the playlist ends ({format_duration(length)}). "
                "Move it earlier or lengthen the playlist.",
            )
        cue_seconds.append(seconds or 0)
        if cue.recording_id is not None:
            recording = audio_files.get(cue.recording_id)
            if recording is None:
                error(
                    f"cues-{index}-recording_id", "Record the prompt again: that recording is gone."
                )
            elif recording.duration_seconds > MAX_PROMPT_SECONDS + 1:
                error(f"cues-{index}-recording_id", "Keep a recorded prompt under a minute.")
    if draft.prompt_fallback not in PromptFallback.__members__.values():
        error("prompt_fallback", "Choose how prompts without a recording sound.")

    if errors:
        raise Invalid("Some fields need attention.", errors)
    return ValidTemplate(draft, numbers, durations, cue_seconds)


def fill_version(version: TemplateVersion, valid: ValidTemplate) -> None:
    """Write a validated draft into a version (replacing its lists)."""
    draft = valid.draft
    version.description = draft.description.strip()
    version.crossfade_seconds = valid.numbers["crossfade_seconds"]
    version.downtime_minutes = valid.numbers["downtime_minutes"]
    version.observation_minutes = valid.numbers["observation_minutes"]
    version.post_dose_check_minutes = valid.numbers["post_dose_check_minutes"]
    version.requires_check_in = bool(draft.requires_check_in)
    version.requires_intake = bool(draft.requires_intake)
    version.requires_consent = bool(draft.requires_consent)
    version.checkin_instruments = list(draft.checkin_instruments)
    version.after_instruments = list(draft.after_instruments)
    version.monthly_instruments = list(draft.monthly_instruments)
    version.reminder_kinds = list(draft.reminder_kinds)
    version.intention_prompts = list(draft.intention_prompts)
    version.integration_prompts = list(draft.integration_prompts)
    version.prompt_fallback = draft.prompt_fallback
    version.checklist_items = [
        ChecklistItem(
            position=i,
            text=r.text,
            help_text=r.help_text.strip(),
            required=r.required,
            day_of=r.day_of,
        )
        for i, r in enumerate(draft.checklist)
    ]
    version.tracks = [
        PlaylistTrack(
            position=i,
            title=t.title,
            kind=t.kind,
            audio_file_id=t.audio_file_id if t.kind == TrackKind.UPLOAD else None,
            soundscape=(
                {"key": t.key, "texture": t.texture, "seed": t.seed}
                if t.kind == TrackKind.SOUNDSCAPE
                else None
            ),
            duration_seconds=valid.track_durations[i],
        )
        for i, t in enumerate(draft.tracks)
    ]
    version.cues = sorted(
        (
            EyeMaskCue(
                at_seconds=valid.cue_seconds[i],
                text=c.text,
                chime=c.chime,
                recording_id=c.recording_id,
            )
            for i, c in enumerate(draft.cues)
        ),
        key=lambda cue: cue.at_seconds,
    )


def clinic_audio_files(clinic_id: int) -> dict[int, AudioFile]:
    """The clinic's audio files by id: uploaded music (what its tracks may point at) and
    recorded prompts (what its cues may point at)."""
    files = db.session.scalars(select(AudioFile).where(AudioFile.clinic_id == clinic_id))
    return {audio.id: audio for audio in files}


def offered_codes(clinic_id: int) -> set[str]:
    """The questionnaire codes a template of the clinic may schedule (not the intake)."""
    return {spec.code for spec in instruments_for(clinic_id)}


def _name_taken(clinic_id: int, name: str, template_id: int | None) -> bool:
    query = select(SessionTemplate.id).where(
        SessionTemplate.clinic_id == clinic_id,
        func.lower(SessionTemplate.name) == name.lower(),
        SessionTemplate.archived_at.is_(None),
    )
    if template_id is not None:
        query = query.where(SessionTemplate.id != template_id)
    return db.session.scalar(query) is not None


@use_case
def create_template(actor: User, draft: TemplateDraft) -> SessionTemplate:
    """Create a template (version 1) from a valid draft."""
    valid = validate_draft(
        draft, clinic_audio_files(actor.clinic_id), offered_codes(actor.clinic_id)
    )
    if _name_taken(actor.clinic_id, draft.name, None):
        raise Invalid("Some fields need attention.", {"name": ["A template has that name."]})
    template = SessionTemplate(clinic_id=actor.clinic_id, name=draft.name, route=draft.route)
    version = TemplateVersion(template=template, number=1, created_by_id=actor.id)
    fill_version(version, valid)
    db.session.add(template)
    db.session.flush()
    _audit_template("template.create", actor, template, f"version=1; name={template.name}")
    return template


def _audit_template(action: str, actor: User, template: SessionTemplate, detail: str) -> None:
    """A change to the clinic's protocol (template names are the clinic's, not a patient's)."""
    audit.record(
        action,
        actor=actor,
        subject_type="template",
        subject_id=template.id,
        detail=detail,
    )


@dataclass(frozen=True)
class SaveResult:
    version: TemplateVersion
    new_version: bool
    sessions_kept: int  # sessions that keep the previous version


def sessions_using(version: TemplateVersion) -> int:
    """How many sessions were scheduled with ``version``."""
    return (
        db.session.scalar(
            select(func.count()).where(TreatmentSession.template_version_id == version.id)
        )
        or 0
    )


@use_case
def save_template(
    actor: User, template: SessionTemplate, draft: TemplateDraft, expected_revision: int
) -> SaveResult:
    """Save an edit. A version in use is never changed: a new version is made instead."""
    if template.revision != expected_revision:
        raise Conflict(
            "Someone else saved this template while you were editing it. Your changes are "
            "still here but not saved: review them against the latest version and save again."
        )
    valid = validate_draft(
        draft, clinic_audio_files(template.clinic_id), offered_codes(template.clinic_id)
    )
    if _name_taken(template.clinic_id, draft.name, template.id):
        raise Invalid("Some fields need attention.", {"name": ["A template has that name."]})
    current = template.current_version
    in_use = sessions_using(current)
    if in_use:
        version = TemplateVersion(number=current.number + 1, created_by_id=actor.id)
        # Appending to the persistent parent cascades the new row into the session; setting
        # version.template would not (SQLAlchemy 2 removed backref cascades).
        template.versions.append(version)
    else:
        version = current
    fill_version(version, valid)
    template.name = draft.name
    template.route = draft.route
    template.updated_at = utcnow()  # bumps the revision, atomically checked on UPDATE
    try:
        db.session.flush()  # the template's UPDATE, whose revision check may fail
    except StaleDataError:
        raise Conflict(
            "Someone else saved this template at the same moment. Your changes are still "
            "here but not saved: review them and save again."
        ) from None
    if in_use:
        _audit_template(
            "template.version",
            actor,
            template,
            f"version={version.number}; sessions_kept={in_use}; name={template.name}",
        )
    else:
        _audit_template(
            "template.update", actor, template, f"version={version.number}; name={template.name}"
        )
    return SaveResult(version, bool(in_use), in_use)


def templates_of_clinic(user: User, include_archived: bool = False) -> Sequence[SessionTemplate]:
    """The user's clinic's templates, by name."""
    query = (
        select(SessionTemplate)
        .where(SessionTemplate.clinic_id == user.clinic_id)
        .options(selectinload(SessionTemplate.versions))
        .order_by(SessionTemplate.archived_at.is_not(None), func.lower(SessionTemplate.name))
    )
    if not include_archived:
        query = query.where(SessionTemplate.archived_at.is_(None))
    return db.session.scalars(query).all()


def get_template_for(user: User, template_id: int) -> SessionTemplate:
    """A template of the user's clinic, or NotFound."""
    return one_or_not_found(
        select(SessionTemplate).where(
            SessionTemplate.id == template_id, SessionTemplate.clinic_id == user.clinic_id
        ),
        "template",
    )


@use_case
def archive_template(actor: User, template: SessionTemplate) -> None:
    """Hide a template from scheduling. Templates are never deleted: sessions refer to them."""
    template.archived_at = utcnow()
    _audit_template("template.archive", actor, template, f"name={template.name}")


@use_case
def restore_template(actor: User, template: SessionTemplate) -> None:
    """Bring an archived template back."""
    if _name_taken(template.clinic_id, template.name, template.id):
        raise Conflict("Another active template has this name; rename one first.")
    template.archived_at = None
    _audit_template("template.restore", actor, template, f"name={template.name}")


def music_files(files: dict[int, AudioFile]) -> list[AudioFile]:
    """The uploaded music among ``files``, by name (the library and the track picker)."""
    music = [audio for audio in files.values() if audio.purpose == AudioPurpose.TRACK]
    return sorted(music, key=lambda audio: audio.original_name.lower())
