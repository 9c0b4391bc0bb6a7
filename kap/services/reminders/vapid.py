"""The VAPID key Web Push is signed with (KAP_VAPID_PRIVATE_KEY; generated in development).

Browsers subscribe with the public half (``application_server_key``); push services accept a
message only when its JWT is signed with the private half.
"""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app
from py_vapid import Vapid


def vapid_configured() -> bool:
    """True when a signing key is set (always in development and tests)."""
    return bool(current_app.config.get("VAPID_PRIVATE_KEY"))


def vapid_signer() -> Vapid:
    """The key as pywebpush wants it (``webpush(..., vapid_private_key=vapid_signer())``)."""
    return Vapid.from_pem(current_app.config["VAPID_PRIVATE_KEY"].encode())


def vapid_claims() -> dict[str, str]:
    """The claims every push carries: who to contact about this sender."""
    return {"sub": current_app.config["VAPID_SUBJECT"]}


def application_server_key() -> str:
    """The public key, base64url without padding, for ``pushManager.subscribe``."""
    private = serialization.load_pem_private_key(
        current_app.config["VAPID_PRIVATE_KEY"].encode(), password=None
    )
    if not isinstance(private, ec.EllipticCurvePrivateKey):
        raise RuntimeError("KAP_VAPID_PRIVATE_KEY must be a P-256 (EC) private key in PEM.")
    point = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(point).rstrip(b"=").decode()
