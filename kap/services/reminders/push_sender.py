"""Sending one Web Push message to every device a patient subscribed, with pywebpush.

What is sent says nothing clinical: the clinic's name, "You have a reminder" and the in-app
path the notification opens (the reminder's words show only after sign-in). The endpoint is
a URL the patient's browser gave us, so before each send it must still pass the allow-list
(push_endpoints.endpoint_allowed, the rule the API checked when it was saved), and a push
service's redirect is never followed - a patient must not be able to make the server reach
an address on its own network (SSRF).
A push service answering 404 or 410 says the subscription is gone: its row is deleted.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
from pywebpush import WebPushException, webpush

from kap.extensions import db
from kap.models.reminders import PushSubscription
from kap.services.reminders.push_endpoints import endpoint_allowed
from kap.services.reminders.vapid import vapid_claims, vapid_configured, vapid_signer

log = logging.getLogger(__name__)

#: Statuses with which a push service says "this subscription no longer exists".
GONE_STATUSES = frozenset({404, 410})
#: Seconds to wait for a push service.
PUSH_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class PushMessage:
    """What a lock screen may show: the clinic's name, a fixed sentence, where a tap goes."""

    clinic_name: str
    path: str
    #: How long the push service keeps it for a device that is offline (seconds).
    ttl: int
    #: Names the notification on the device, so two reminders show as two (one tag would
    #: collapse them and the later one's link would win); opaque, it says nothing of the kind.
    tag: str = "kap-reminder"

    def payload(self) -> str:
        return json.dumps(
            {
                "title": self.clinic_name,
                "body": "You have a reminder",
                "path": self.path,
                "tag": self.tag,
            }
        )


def notification_tag(reminder_key: str) -> str:
    """An opaque, stable tag for one reminder's notification."""
    return "r-" + hashlib.sha256(reminder_key.encode()).hexdigest()[:16]


@dataclass
class PushResult:
    """How sending to a patient's devices went: counts, and the first failure's kind."""

    sent: int = 0
    gone: int = 0
    refused: int = 0  # endpoints outside the allow-list: never called
    error: str = ""  # an HTTP status or an exception class, never a message

    @property
    def failed(self) -> bool:
        return bool(self.error) and not self.sent


class _NoRedirects(requests.Session):
    """A session that never follows a redirect: a push service's 3xx is a failure, not an
    invitation to call wherever it points."""

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["allow_redirects"] = False
        return super().request(*args, **kwargs)


def send_push(patient_id: int, message: PushMessage, now: datetime) -> PushResult:
    """Send ``message`` to each of the patient's subscriptions; delete those that are gone.

    Flushes its changes (deleted rows, ``last_sent_at``); the caller commits.
    """
    result = PushResult()
    if not vapid_configured():
        result.error = "vapid_not_configured"
        return result
    subscriptions = db.session.scalars(
        db.select(PushSubscription)
        .where(PushSubscription.user_id == patient_id)
        .order_by(PushSubscription.id)
    ).all()
    with _NoRedirects() as session:
        for subscription in subscriptions:
            if not endpoint_allowed(subscription.endpoint):
                result.refused += 1
                continue
            error = _send_one(session, subscription, message)
            if error is None:
                result.sent += 1
                subscription.last_sent_at = now
            elif error in {str(status) for status in GONE_STATUSES}:
                result.gone += 1
                db.session.delete(subscription)
            elif not result.error:
                result.error = error
    db.session.flush()
    return result


def _send_one(
    session: requests.Session, subscription: PushSubscription, message: PushMessage
) -> str | None:
    """None when the push service accepted it; else its HTTP status or the exception class."""
    try:
        webpush(
            {
                "endpoint": subscription.endpoint,
                "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
            },
            data=message.payload(),
            vapid_private_key=vapid_signer(),
            vapid_claims=vapid_claims(),
            ttl=message.ttl,
            headers={"Urgency": "normal"},
            timeout=PUSH_TIMEOUT_SECONDS,
            requests_session=session,
        )
    except WebPushException as error:
        status = error.response.status_code if error.response is not None else None
        log.warning("push not accepted: %s", status or type(error).__name__)
        return str(status) if status else type(error).__name__
    except (requests.RequestException, ValueError, TypeError) as error:
        # A refused connection, a timeout, or keys that do not decode: the class says which.
        log.warning("push failed: %s", type(error).__name__)
        return type(error).__name__
    return None
