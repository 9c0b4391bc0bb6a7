"""A device's Web Push subscription: saving it for the signed-in user, and removing it.

The browser's ``PushSubscription`` is one device of one person. The endpoint identifies it
(looked up by its sha256, ``endpoint_hash``): the same endpoint again is the same device
renewing its keys; the same endpoint from another user is a shared device that changed hands,
so it moves to the new user — the old one must stop getting that device's notifications — and
the move is audited. A user keeps at most ``MAX_SUBSCRIPTIONS_PER_USER`` devices: the oldest
go first (a browser that was reinstalled never says goodbye).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Select, delete, select
from sqlalchemy.exc import IntegrityError

from kap.extensions import db
from kap.models import User
from kap.models.reminders import PushSubscription
from kap.services import audit
from kap.services.errors import Invalid, NotFound
from kap.services.reminders.push_endpoints import endpoint_allowed
from kap.services.unit_of_work import rollback_lost_race, use_case

#: Devices per user: enough for a phone, a tablet and a few browsers; the oldest go first.
MAX_SUBSCRIPTIONS_PER_USER = 10
#: Real endpoints are 150 to 500 characters (FCM, Mozilla, Apple); anything far longer is not one.
MAX_ENDPOINT_LENGTH = 1024
#: RFC 8291: the user agent's key is an uncompressed P-256 point, its auth secret 16 bytes.
P256DH_BYTES = 65
AUTH_BYTES = 16
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")


def endpoint_hash(endpoint: str) -> str:
    """The sha256 (hex) a subscription is looked up and kept unique by."""
    return hashlib.sha256(endpoint.encode()).hexdigest()


def push_subscriptions_of(user_id: int) -> Select[PushSubscription]:
    """A user's devices, oldest first."""
    return (
        select(PushSubscription)
        .where(PushSubscription.user_id == user_id)
        .order_by(PushSubscription.created_at, PushSubscription.id)
    )


def _base64url_bytes(value: object, length: int) -> bytes | None:
    """``value`` decoded from base64url when it is exactly ``length`` bytes, else None."""
    if not isinstance(value, str) or len(value) > 2 * length or not _BASE64URL.fullmatch(value):
        return None
    try:
        data = base64.urlsafe_b64decode(value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        return None
    return data if len(data) == length else None


def _valid_p256dh(value: object) -> bool:
    """A base64url uncompressed P-256 point that is on the curve (else encryption fails later,
    at every reminder, instead of now)."""
    point = _base64url_bytes(value, P256DH_BYTES)
    if point is None or point[0] != 0x04:
        return False
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        return False
    return True


def check_subscription(endpoint: object, p256dh: object, auth: object) -> tuple[str, str, str]:
    """(endpoint, p256dh, auth) when the server can use this subscription; else Invalid,
    naming each bad field."""
    fields: dict[str, list[str]] = {}
    if not isinstance(endpoint, str) or not endpoint:
        fields["endpoint"] = ["The push service URL the browser gave."]
    elif len(endpoint) > MAX_ENDPOINT_LENGTH:
        fields["endpoint"] = [f"Up to {MAX_ENDPOINT_LENGTH} characters."]
    elif not endpoint_allowed(endpoint):
        fields["endpoint"] = ["An https address of a known push service."]
    if not _valid_p256dh(p256dh):
        fields["keys.p256dh"] = ["The browser's p256dh key: base64url, a 65-byte P-256 point."]
    if _base64url_bytes(auth, AUTH_BYTES) is None:
        fields["keys.auth"] = ["The browser's auth secret: base64url, 16 bytes."]
    if fields:
        first = next(iter(fields))
        messages = {
            "endpoint": "This is not a push service the server sends to.",
            "keys.p256dh": "The subscription's p256dh key is not valid.",
            "keys.auth": "The subscription's auth secret is not valid.",
        }
        raise Invalid(messages[first], fields)
    return str(endpoint), str(p256dh), str(auth)


@use_case
def save_subscription(
    user: User, *, endpoint: object, p256dh: object, auth: object
) -> tuple[PushSubscription, bool]:
    """Store this device's subscription for ``user``; (subscription, created).

    The same endpoint again updates its keys (created False, same id); an endpoint another
    user saved moves to ``user`` (audited for both). Past ``MAX_SUBSCRIPTIONS_PER_USER`` the
    user's oldest devices are removed.
    """
    endpoint, p256dh, auth = check_subscription(endpoint, p256dh, auth)
    key = endpoint_hash(endpoint)
    existing = db.session.scalar(
        select(PushSubscription).where(PushSubscription.endpoint_hash == key).with_for_update()
    )
    if existing is None:
        subscription = PushSubscription(
            user_id=user.id, endpoint_hash=key, endpoint=endpoint, p256dh=p256dh, auth=auth
        )
        db.session.add(subscription)
        try:
            db.session.flush()
        except IntegrityError:  # the same device subscribed twice at once: one row wins
            rollback_lost_race()
            return save_subscription(user, endpoint=endpoint, p256dh=p256dh, auth=auth)
        _drop_oldest_beyond_limit(user)
        _audit("push_subscription.create", user, subscription)
        return subscription, True
    previous_owner_id = existing.user_id
    keys_changed = (existing.p256dh, existing.auth) != (p256dh, auth)
    existing.p256dh, existing.auth = p256dh, auth
    if previous_owner_id != user.id:
        existing.user_id = user.id
        existing.last_sent_at = None
        db.session.flush()
        _drop_oldest_beyond_limit(user)
        _audit_move(user, existing, previous_owner_id)
    elif keys_changed:
        _audit("push_subscription.update", user, existing)
    return existing, False


@use_case
def remove_subscription(user: User, subscription_id: int) -> None:
    """Remove one of ``user``'s devices; NotFound for any other (another user's included)."""
    subscription = db.session.scalar(
        select(PushSubscription).where(
            PushSubscription.id == subscription_id, PushSubscription.user_id == user.id
        )
    )
    if subscription is None:
        raise NotFound("No such push subscription.")
    db.session.delete(subscription)
    db.session.flush()
    _audit("push_subscription.delete", user, subscription)


def forget_devices(user: User) -> None:
    """Remove every subscription of ``user`` (their data is being deleted): part of the
    caller's use case, which audits it."""
    db.session.execute(delete(PushSubscription).where(PushSubscription.user_id == user.id))


def _drop_oldest_beyond_limit(user: User) -> None:
    """Keep the user's newest ``MAX_SUBSCRIPTIONS_PER_USER`` devices."""
    ids = db.session.scalars(
        push_subscriptions_of(user.id).with_only_columns(PushSubscription.id)
    ).all()
    surplus = ids[: max(0, len(ids) - MAX_SUBSCRIPTIONS_PER_USER)]
    if surplus:
        db.session.execute(delete(PushSubscription).where(PushSubscription.id.in_(surplus)))


def _patient_id(user: User) -> int | None:
    """The audit row's patient: the user, when they are a patient."""
    return user.id if user.is_patient else None


def _audit(action: str, user: User, subscription: PushSubscription) -> None:
    audit.record(
        action,
        actor=user,
        subject_type="push_subscription",
        subject_id=subscription.id,
        patient_id=_patient_id(user),
    )


def _audit_move(user: User, subscription: PushSubscription, previous_owner_id: int) -> None:
    """The move, in the new owner's clinic and, when it differs, in the previous owner's:
    each clinic's log shows that a device stopped or started getting its user's reminders."""
    previous = db.session.get(User, previous_owner_id)
    clinics = {user.clinic_id, previous.clinic_id if previous else user.clinic_id}
    for clinic_id in sorted(clinics):
        audit.record(
            "push_subscription.move",
            actor=user,
            clinic_id=clinic_id,
            subject_type="push_subscription",
            subject_id=subscription.id,
            patient_id=previous_owner_id if previous and previous.is_patient else None,
            detail=f"from user {previous_owner_id} to user {user.id}",
        )
