"""This device's Web Push subscription: saved for the signed-in user, or removed."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask_login import current_user

from kap.api import bp
from kap.api.io import read_body
from kap.api.operations import operation
from kap.api.schemas.journal import Deleted
from kap.api.schemas.push import NewPushSubscription, PushSubscriptionAnswer, PushSubscriptionInfo
from kap.services.reminders import subscriptions
from kap.services.reminders.vapid import application_server_key, vapid_configured

ANY_SIGNED_IN = ()


@bp.app_template_global("push_application_server_key")
def push_application_server_key() -> str:
    """The VAPID public key a page subscribes with (its opt-in partial,
    templates/patient/_push_optin.html), or "" when this server sends no push."""
    return application_server_key() if vapid_configured() else ""


@operation(
    "/me/push-subscriptions",
    "POST",
    summary="Turn on notifications on this device (its Web Push subscription)",
    tag="Reminders",
    roles=ANY_SIGNED_IN,
    body=NewPushSubscription,
    description=(
        "The body is the browser's PushSubscription.toJSON(). The same endpoint again updates "
        "its keys and answers 200 with the same id; an endpoint saved by another user (a "
        "shared device that changed hands) moves to the caller. A user keeps at most "
        f"{subscriptions.MAX_SUBSCRIPTIONS_PER_USER} devices; the oldest go first. "
        "Notifications never carry clinical text."
    ),
    responses={
        201: ("Saved.", PushSubscriptionAnswer),
        200: ("Already saved: keys updated.", PushSubscriptionAnswer),
    },
)
def save_push_subscription():
    """Save this device's subscription for the signed-in user."""
    body = read_body(NewPushSubscription)
    keys: dict[str, Any] = body.keys if isinstance(body.keys, dict) else {}
    subscription, created = subscriptions.save_subscription(
        current_user, endpoint=body.endpoint, p256dh=keys.get("p256dh"), auth=keys.get("auth")
    )
    answer = {"subscription": PushSubscriptionInfo.answer(subscription)}
    return jsonify(answer), 201 if created else 200


@operation(
    "/me/push-subscriptions/<int:subscription_id>",
    "DELETE",
    summary="Turn off notifications on this device",
    tag="Reminders",
    roles=ANY_SIGNED_IN,
    responses={200: ("Removed.", Deleted)},
    errors=(404,),
)
def delete_push_subscription(subscription_id: int):
    """Remove one of the caller's subscriptions (404 for any other)."""
    subscriptions.remove_subscription(current_user, subscription_id)
    return jsonify(status="deleted")
