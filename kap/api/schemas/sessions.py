"""Treatment sessions: the list and detail shapes, and what a patient does to a session.

The summary, detail and call shapes are built by ``kap.services.sessions`` (the session
page and the board read them too); these models describe them and the tests hold the two
together (tests/integration/test_openapi.py validates real answers against them).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool
from pydantic.json_schema import WithJsonSchema

from kap.api.schemas.common import (
    DEVICE_TIME_SCHEMA,
    Id,
    NextOffset,
    RequestModel,
    ResponseModel,
    Says,
    ServiceChecked,
    SessionStatusName,
    Timestamp,
)
from kap.models import AlertKind
from kap.services.sessions.flow import MAX_INTENTION_LENGTH, PHASE_TIMESTAMPS
from kap.services.sessions.staff_calls import CALL_STATUSES

DeviceTime = ServiceChecked[Annotated[str | None, WithJsonSchema(DEVICE_TIME_SCHEMA)]]


class SessionSummary(ResponseModel):
    """A session as lists show it."""

    id: Id
    patient_id: Id
    scheduled_at: Timestamp
    status: SessionStatusName
    template_name: str
    template_version: int = Field(ge=1)
    is_booster: bool
    location_label: str


class PhaseTimes(ResponseModel):
    """When each phase began (null: not yet)."""

    started_at: Timestamp | None
    downtime_started_at: Timestamp | None
    integration_started_at: Timestamp | None
    completed_at: Timestamp | None


class SessionPhases(SessionSummary, PhaseTimes):
    """The session after a phase change."""


class StaffCall(ResponseModel):
    """A Call staff request in its real state."""

    id: Id
    status: Literal[CALL_STATUSES] = Field(  # type: ignore[valid-type]
        description=(
            "sent: stored, nobody has acknowledged it yet; acknowledged: a member of "
            "staff said they are on it; resolved: staff closed it."
        )
    )
    created_at: Timestamp
    acknowledged_at: Timestamp | None
    acknowledged_by: str | None = Field(
        description="The display name of the staff member who acknowledged it."
    )
    resolved_at: Timestamp | None


class ChecklistItem(ResponseModel):
    """A preparation item and whether the patient ticked it."""

    id: Id
    text: str
    help_text: str
    required: bool
    checked: bool
    day_of: bool = Field(description="About the day itself (fasting, alcohol, a ride).")
    tickable_from: Timestamp | None = Field(
        description=(
            "Day-of items: 00:00 on the day before the session (clinic's zone), in UTC; "
            "ticking earlier answers 409 too_early. Null: any time."
        )
    )


class UploadTrack(ResponseModel):
    """An uploaded audio track."""

    id: Id
    title: str
    duration_seconds: float = Field(ge=0)
    kind: Literal["upload"]
    url: str = Field(description="Where the audio is fetched from.")


class Soundscape(BaseModel):
    """Generated in the browser from these settings."""

    model_config = ConfigDict(extra="allow")

    key: str = ""
    texture: str = ""
    seed: int = 0


class SoundscapeTrack(ResponseModel):
    """A soundscape the browser generates."""

    id: Id
    title: str
    duration_seconds: float = Field(ge=0)
    kind: Literal["soundscape"]
    soundscape: Soundscape


class Cue(ResponseModel):
    """A spoken or shown cue during the session."""

    at_seconds: int = Field(ge=0)
    text: str
    chime: bool


class PromptAudio(ResponseModel):
    """The track that sounds every cue (chime and words) at its time, for the phone to play
    beside the music; its time 0 is the session clock's 0."""

    url: str = Field(description="Where the track is fetched from (AAC in MP4, mono).")
    key: str = Field(description="Changes whenever the track would sound different.")
    duration_seconds: float = Field(ge=0)
    type: Literal["audio/mp4"]


class StartWindow(ResponseModel):
    """When session mode may start: from the clinic's minutes before scheduled_at (never
    before that local day) until the local day's end (exclusive). Outside it, phase session
    answers 409 not_today."""

    opens_at: Timestamp
    closes_at: Timestamp


class SessionDetail(SessionSummary, PhaseTimes):
    """Everything needed to prepare and run a session."""

    template_description: str
    checklist: list[ChecklistItem]
    intention: str
    intention_prompts: list[str]
    playlist: list[Annotated[UploadTrack | SoundscapeTrack, Field(discriminator="kind")]]
    playlist_seconds: float = Field(ge=0)
    crossfade_seconds: int = Field(ge=0)
    cues: list[Cue]
    prompt_audio: PromptAudio | None = Field(description="null when the session has no cues.")
    downtime_minutes: int = Field(ge=0)
    observation_minutes: int = Field(ge=0)
    integration_prompts: list[str]
    calls: list[StaffCall]
    clinic_phone: str = Field(
        description="The clinic's phone number ('' when not set), kept for offline use."
    )
    start_window: StartWindow
    requires_check_in: bool = Field(
        description="Staff must check the patient in before the session can start."
    )
    checked_in_at: Timestamp | None = Field(
        description="When staff checked the patient in (null: not yet)."
    )


class SessionDetailAnswer(SessionDetail):
    """The detail's fields at the top level and, identically, under session."""

    session: SessionDetail


class Sessions(ResponseModel):
    """A page of sessions."""

    sessions: list[SessionSummary]
    next_offset: NextOffset


class Calls(ResponseModel):
    """A session's Call staff requests, oldest first."""

    calls: list[StaffCall]


class ChecklistTick(RequestModel):
    """Tick or untick a preparation item."""

    checked: Annotated[StrictBool, Says("checked must be true or false.", "true or false.")]


class ItemState(ResponseModel):
    """A checklist item's state."""

    id: Id
    checked: bool


class ChecklistAnswer(ResponseModel):
    """The item's state and the required items still unticked."""

    item: ItemState
    missing_required: list[Id]


class Intention(RequestModel):
    """The intention text."""

    required_by_service = ("text",)

    text: ServiceChecked[Annotated[str, Field(max_length=MAX_INTENTION_LENGTH)]] = None


class IntentionAnswer(ResponseModel):
    """The intention as stored (trimmed)."""

    intention: str
    updated_at: Timestamp


PhaseName = Literal[tuple(phase.value for phase in PHASE_TIMESTAMPS)]  # type: ignore[valid-type]


class PhaseChange(RequestModel):
    """The phase to move to, and when it happened on the device."""

    required_by_service = ("phase",)

    phase: ServiceChecked[PhaseName] = None
    at: DeviceTime = None


class PhaseAnswer(ResponseModel):
    """The session's state after the change."""

    session: SessionPhases
    changed: bool


class CallStaff(RequestModel):
    """Ask staff to come; ``client_id`` makes it exactly-once."""

    client_id: Annotated[
        str | None,
        Field(min_length=1, max_length=64),
        Says("client_id is up to 64 characters.", "Up to 64 characters."),
    ] = None
    at: DeviceTime = None


class CallStaffAlert(ResponseModel):
    """The alert a call raised."""

    id: Id
    kind: Literal[AlertKind.CALL_STAFF.value]  # type: ignore[valid-type]
    created_at: Timestamp


class CallStaffAnswer(ResponseModel):
    """The alert and the call's state (a retry may find it acknowledged already)."""

    alert: CallStaffAlert
    call: StaffCall
