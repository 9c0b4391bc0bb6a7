"""A device's Web Push subscription, as the browser's ``PushSubscription.toJSON()`` gives it."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from kap.api.schemas.common import Id, RequestModel, ResponseModel, ServiceChecked, Timestamp
from kap.services.reminders.subscriptions import MAX_ENDPOINT_LENGTH

Base64Url = r"^[A-Za-z0-9_-]+={0,2}$"


class SubscriptionKeys(RequestModel):
    """The browser's keys the payload is encrypted for (RFC 8291)."""

    p256dh: Annotated[
        str,
        Field(
            max_length=130,
            pattern=Base64Url,
            description="base64url of the 65-byte uncompressed P-256 public key.",
        ),
    ]
    auth: Annotated[
        str,
        Field(
            max_length=32, pattern=Base64Url, description="base64url of the 16-byte auth secret."
        ),
    ]


class NewPushSubscription(RequestModel):
    """This device's subscription; the service checks every field (its messages are the API's).
    Other fields a browser sends (``expirationTime``) are ignored."""

    required_by_service = ("endpoint", "keys")

    endpoint: ServiceChecked[
        Annotated[
            str,
            Field(
                max_length=MAX_ENDPOINT_LENGTH,
                description="The push service's URL for this device: https, a known service.",
            ),
        ]
    ] = None
    keys: ServiceChecked[SubscriptionKeys] = None


class PushSubscriptionInfo(ResponseModel):
    """A stored subscription: its id (to delete it) and when it was first saved."""

    id: Id
    created_at: Timestamp


class PushSubscriptionAnswer(ResponseModel):
    """The stored subscription."""

    subscription: PushSubscriptionInfo
