"""A local Web Push service for tests: it checks what a real push service checks.

Browsers hand the app a subscription whose endpoint belongs to a push service (FCM, Mozilla
autopush, Apple). In tests that service is this one, on 127.0.0.1 in a thread: it hands out
subscription info exactly as a browser would (``{endpoint, keys: {p256dh, auth}}``, from a
P-256 key pair and 16-byte auth secret it generated itself), and for every POST to an
endpoint it

- verifies the ``Authorization: vapid t=<JWT>, k=<public key>`` header (RFC 8292): an ES256
  signature by ``k``, ``aud`` the endpoint's origin, ``exp`` in the future and at most 24 h
  away, ``sub`` present — else 401 (as the real services answer a bad JWT);
- requires ``Content-Encoding: aes128gcm`` (RFC 8291) and a ``TTL`` header — else 400;
- decrypts the body with ``http_ece`` using the subscription's private key — else 400;
- records the message and answers 201, or 410 for a subscription marked gone (the answer that
  tells a sender to forget a subscription), 404 for an endpoint it never handed out.

Nothing is mocked: a sender that passes here would pass a real push service's checks.
Use it as a context manager::

    with PushReceiver() as receiver:
        subscription = receiver.subscribe("phone")
        ...  # the app sends to subscription["endpoint"]
        [message] = receiver.wait_for(1)
        assert json.loads(message.payload)["title"] == "KAP Companion"
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

#: RFC 8292 §2: a JWT must not expire more than 24 hours after the request.
MAX_JWT_LIFETIME_SECONDS = 24 * 60 * 60
#: RFC 8030 §7.2 / RFC 8291 §4: push services accept at least 4096 bytes of encrypted body.
MAX_BODY_BYTES = 4096


def b64url_decode(text: str) -> bytes:
    """Base64url with or without padding, as Web Push writes it."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data: bytes) -> str:
    """Base64url without padding, as browsers write subscription keys."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Refused(Exception):
    """A push the service does not accept: ``status`` is what it answers."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class ReceivedPush:
    """One accepted message: the decrypted payload and the headers that came with it."""

    name: str
    payload: bytes
    ttl: int
    urgency: str | None
    topic: str | None
    claims: dict[str, Any]
    #: The VAPID public key the JWT was signed with (base64url), i.e. the sender's identity.
    sender_key: str

    def json(self) -> Any:
        """The payload parsed as JSON (what the app's service worker reads)."""
        return json.loads(self.payload)


@dataclass
class _Subscription:
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    gone: bool = False


@dataclass
class _State:
    subscriptions: dict[str, _Subscription] = field(default_factory=dict)
    messages: list[ReceivedPush] = field(default_factory=list)
    refusals: list[tuple[str, int, str]] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)


def verify_vapid(header: str | None, audience: str, now: float) -> tuple[dict[str, Any], str]:
    """The JWT claims and signer key of a valid ``vapid t=…, k=…`` header; Refused(401) if not."""
    if not header or not header.lower().startswith("vapid "):
        raise Refused(401, "no vapid authorization")
    params: dict[str, str] = {}
    for part in header[len("vapid ") :].split(","):
        name, _, value = part.strip().partition("=")
        params[name.strip().lower()] = value.strip()
    token, key = params.get("t"), params.get("k")
    if not token or not key:
        raise Refused(401, "vapid header needs t and k")
    try:
        point = b64url_decode(key)
        public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        header_b64, claims_b64, signature_b64 = token.split(".")
        jwt_header = json.loads(b64url_decode(header_b64))
        claims = json.loads(b64url_decode(claims_b64))
        signature = b64url_decode(signature_b64)
    except (ValueError, TypeError) as error:
        raise Refused(401, f"malformed vapid header: {error}") from error
    if jwt_header.get("alg") != "ES256" or len(signature) != 64:
        raise Refused(401, "JWT must be ES256 with a 64-byte signature")
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    try:
        public_key.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as error:
        raise Refused(401, "JWT signature does not verify with k") from error
    if claims.get("aud") != audience:
        raise Refused(401, f"aud {claims.get('aud')!r} is not {audience!r}")
    expires = claims.get("exp")
    if not isinstance(expires, int) or expires <= now:
        raise Refused(401, "JWT expired or without exp")
    if expires > now + MAX_JWT_LIFETIME_SECONDS:
        raise Refused(401, "JWT exp more than 24 hours away")
    if not claims.get("sub"):
        raise Refused(401, "JWT without sub")
    return claims, key


def decrypt_body(body: bytes, subscription: _Subscription) -> bytes:
    """The plaintext of an aes128gcm body for ``subscription``; Refused(400) if it is not one."""
    try:
        return bytes(
            http_ece.decrypt(
                body,
                private_key=subscription.private_key,
                auth_secret=subscription.auth,
                version="aes128gcm",
            )
        )
    except Exception as error:  # http_ece raises ECEException, ValueError, InvalidTag...
        raise Refused(400, f"body does not decrypt: {type(error).__name__}") from error


class PushReceiver:
    """A push service on 127.0.0.1 (a free port, a daemon thread) for one test or module."""

    def __init__(self) -> None:
        self._state = _State()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self._state))
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        #: The endpoints' origin, which every JWT's ``aud`` must name.
        self.origin = f"http://{host}:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> PushReceiver:
        """Serve in the background; returns self."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and free the port (``shutdown`` alone waits forever if never started)."""
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> PushReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def subscribe(self, name: str | None = None) -> dict[str, Any]:
        """A new subscription, in the shape ``PushSubscription.toJSON()`` gives in a browser."""
        name = name or secrets.token_urlsafe(12)
        private_key = ec.generate_private_key(ec.SECP256R1())
        auth = secrets.token_bytes(16)
        with self._state.changed:
            self._state.subscriptions[name] = _Subscription(private_key, auth)
        point = private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": f"{self.origin}/push/{name}",
            "expirationTime": None,
            "keys": {"p256dh": b64url_encode(point), "auth": b64url_encode(auth)},
        }

    def mark_gone(self, name_or_endpoint: str) -> None:
        """From now on the subscription answers 410 Gone (the browser unsubscribed)."""
        name = name_or_endpoint.rsplit("/", 1)[-1]
        with self._state.changed:
            self._state.subscriptions[name].gone = True

    @property
    def messages(self) -> list[ReceivedPush]:
        """Every accepted message so far, in arrival order."""
        with self._state.changed:
            return list(self._state.messages)

    @property
    def refusals(self) -> list[tuple[str, int, str]]:
        """Every refused request so far: (path, status, reason)."""
        with self._state.changed:
            return list(self._state.refusals)

    def wait_for(self, count: int, seconds: float = 10) -> list[ReceivedPush]:
        """The messages once at least ``count`` have arrived; AssertionError after ``seconds``
        (for senders in another thread or process, e.g. a job worker)."""
        deadline = time.monotonic() + seconds
        with self._state.changed:
            while len(self._state.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{len(self._state.messages)} push messages arrived, wanted {count};"
                        f" refused: {self._state.refusals}"
                    )
                self._state.changed.wait(left)
            return list(self._state.messages)


def _handler_for(state: _State) -> type[BaseHTTPRequestHandler]:
    """The request handler class bound to one receiver's state."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            try:
                status = self._accept(body)
            except Refused as refusal:
                with state.changed:
                    state.refusals.append((self.path, refusal.status, refusal.reason))
                    state.changed.notify_all()
                status = refusal.status
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _accept(self, body: bytes) -> int:
            prefix, _, name = self.path.rpartition("/")
            with state.changed:
                subscription = state.subscriptions.get(name)
            if prefix != "/push" or subscription is None:
                raise Refused(404, "no such subscription")
            if subscription.gone:
                raise Refused(410, "subscription gone")
            host, port = self.server.server_address[:2]
            claims, sender_key = verify_vapid(
                self.headers.get("Authorization"), f"http://{host}:{port}", time.time()
            )
            if (self.headers.get("Content-Encoding") or "").lower() != "aes128gcm":
                raise Refused(400, "Content-Encoding must be aes128gcm")
            ttl = self.headers.get("TTL")
            if ttl is None or not ttl.isdigit():
                raise Refused(400, "TTL header missing or not a number")
            if len(body) > MAX_BODY_BYTES:
                raise Refused(413, "body larger than 4096 bytes")
            payload = decrypt_body(body, subscription)
            with state.changed:
                state.messages.append(
                    ReceivedPush(
                        name=name,
                        payload=payload,
                        ttl=int(ttl),
                        urgency=self.headers.get("Urgency"),
                        topic=self.headers.get("Topic"),
                        claims=claims,
                        sender_key=sender_key,
                    )
                )
                state.changed.notify_all()
            return 201

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: a test's output is its assertions."""

    return Handler
