"""The test push service refuses what a real one refuses, so tests that pass on it mean it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from py_vapid import Vapid
from pywebpush import WebPusher, webpush

from tests.pushreceiver import PushReceiver, b64url_encode


@pytest.fixture(scope="module")
def receiver() -> Iterator[PushReceiver]:
    """One push service for the module's tests."""
    with PushReceiver() as service:
        yield service


@pytest.fixture(scope="module")
def sender() -> Vapid:
    """An application server's VAPID key."""
    key = Vapid()
    key.generate_keys()
    return key


def vapid_header(sender: Vapid, claims: dict[str, Any]) -> str:
    """``vapid t=<JWT>, k=<key>`` for any claims (py_vapid itself refuses some we must test)."""
    jwt_header = b64url_encode(json.dumps({"typ": "JWT", "alg": "ES256"}).encode())
    payload = b64url_encode(json.dumps(claims).encode())
    der = sender.private_key.sign(f"{jwt_header}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    signature = b64url_encode(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
    public = sender.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return f"vapid t={jwt_header}.{payload}.{signature}, k={b64url_encode(public)}"


def signed_request(
    subscription: dict[str, Any],
    sender: Vapid,
    *,
    payload: bytes = b'{"title": "Hi"}',
    **claims: Any,
) -> tuple[bytes, dict[str, str]]:
    """A body and headers exactly as a correct sender makes them, with ``claims`` on top
    (a claim given as None is left out)."""
    endpoint = subscription["endpoint"]
    origin = endpoint[: endpoint.index("/push/")]
    all_claims = {"sub": "mailto:ops@example.org", "aud": origin, "exp": int(time.time()) + 3600}
    all_claims.update(claims)
    all_claims = {name: value for name, value in all_claims.items() if value is not None}
    body = WebPusher(subscription).encode(payload, "aes128gcm")["body"]
    headers = {
        "Authorization": vapid_header(sender, all_claims),
        "Content-Encoding": "aes128gcm",
        "TTL": "60",
    }
    return body, headers


def post(subscription: dict[str, Any], body: bytes, headers: dict[str, str]) -> int:
    """POST to the subscription's endpoint; the status the push service answers."""
    return requests.post(
        subscription["endpoint"], data=body, headers=headers, timeout=5
    ).status_code


def test_pywebpush_round_trip_is_accepted_and_decrypted(receiver, sender):
    """A push from pywebpush arrives decrypted, with the sender's claims and headers."""
    subscription = receiver.subscribe()
    before = len(receiver.messages)
    response = webpush(
        subscription,
        json.dumps({"title": "KAP Companion", "path": "/patient/"}),
        vapid_private_key=sender,
        vapid_claims={"sub": "mailto:ops@example.org"},
        ttl=120,
        headers={"Urgency": "normal"},
    )
    assert response.status_code == 201
    message = receiver.wait_for(before + 1)[-1]
    assert message.json() == {"title": "KAP Companion", "path": "/patient/"}
    assert message.ttl == 120
    assert message.urgency == "normal"
    assert message.claims["sub"] == "mailto:ops@example.org"
    assert message.claims["aud"] == receiver.origin
    assert subscription["endpoint"].endswith("/" + message.name)


def test_subscription_info_is_shaped_like_a_browsers(receiver):
    """p256dh is a 65-byte uncompressed P-256 point and auth 16 bytes, base64url unpadded."""
    keys = receiver.subscribe("shape")["keys"]
    assert "=" not in keys["p256dh"] + keys["auth"]
    assert len(keys["p256dh"]) == 87 and keys["p256dh"].startswith("B")  # 0x04 prefix
    assert len(keys["auth"]) == 22


def test_correct_handmade_request_is_accepted(receiver, sender):
    """The helper below builds a valid request, so each refusal test changes one thing."""
    subscription = receiver.subscribe()
    assert post(subscription, *signed_request(subscription, sender)) == 201


def test_signature_by_another_key_is_refused(receiver, sender):
    """A JWT signed by one key but presented with another public key gets 401, nothing kept."""
    subscription = receiver.subscribe()
    body, headers = signed_request(subscription, sender)
    impostor = Vapid()
    impostor.generate_keys()
    other_k = vapid_header(impostor, {}).split("k=")[1]
    headers["Authorization"] = headers["Authorization"].split("k=")[0] + "k=" + other_k
    before = len(receiver.messages)
    assert post(subscription, body, headers) == 401
    assert len(receiver.messages) == before
    assert receiver.refusals[-1][2] == "JWT signature does not verify with k"


def test_tampered_claims_are_refused(receiver, sender):
    """Changing the claims after signing breaks the signature."""
    subscription = receiver.subscribe()
    body, headers = signed_request(subscription, sender)
    token = headers["Authorization"].split("t=")[1].split(",")[0]
    jwt_header, _claims, signature = token.split(".")
    claims = {"sub": "mailto:evil@example.org", "aud": receiver.origin, "exp": 2**31}
    forged = f"{jwt_header}.{b64url_encode(json.dumps(claims).encode())}.{signature}"
    headers["Authorization"] = headers["Authorization"].replace(token, forged)
    assert post(subscription, body, headers) == 401


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "http://127.0.0.1:1"},
        {"exp": int(time.time()) - 10},
        {"exp": int(time.time()) + 25 * 3600},
        {"sub": None},
    ],
    ids=["wrong-audience", "expired", "exp-beyond-24h", "no-sub"],
)
def test_bad_claims_are_refused(receiver, sender, claims):
    """aud must be the endpoint's origin, exp in the next 24 hours, sub present."""
    subscription = receiver.subscribe()
    assert post(subscription, *signed_request(subscription, sender, **claims)) == 401


def test_missing_authorization_is_refused(receiver, sender):
    """No VAPID header, no push."""
    subscription = receiver.subscribe()
    body, headers = signed_request(subscription, sender)
    del headers["Authorization"]
    assert post(subscription, body, headers) == 401


@pytest.mark.parametrize(
    "change",
    [{"Content-Encoding": "aesgcm"}, {"TTL": None}],
    ids=["legacy-encoding", "no-ttl"],
)
def test_wrong_encoding_or_no_ttl_is_refused(receiver, sender, change):
    """Only aes128gcm with a TTL is accepted."""
    subscription = receiver.subscribe()
    body, headers = signed_request(subscription, sender)
    for name, value in change.items():
        if value is None:
            del headers[name]
        else:
            headers[name] = value
    assert post(subscription, body, headers) == 400


def test_body_encrypted_for_another_subscription_is_refused(receiver, sender):
    """The payload must decrypt with this subscription's own keys."""
    mine, theirs = receiver.subscribe(), receiver.subscribe()
    body, headers = signed_request(theirs, sender)
    assert post(mine, body, headers) == 400


def test_gone_subscription_answers_410_and_unknown_404(receiver, sender):
    """A subscription marked gone answers 410; an endpoint never handed out 404."""
    subscription = receiver.subscribe("leaving")
    receiver.mark_gone(subscription["endpoint"])
    assert post(subscription, *signed_request(subscription, sender)) == 410
    stranger = {**subscription, "endpoint": receiver.origin + "/push/never-issued"}
    assert post(stranger, *signed_request(subscription, sender)) == 404
