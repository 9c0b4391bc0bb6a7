"""Encryption at rest for patient text: AES-256-GCM, bound to where the value lives.

A stored value reads ``v1:<key id>:<base64(nonce + ciphertext)>``. The associated data
names the clinic, table, row and column, so a ciphertext copied to another row (or
clinic, or column) fails to decrypt. Keys come from KAP_DATA_KEYS, newest first: new
values use the newest key; older keys still decrypt until ``flask rotate-keys`` has
re-encrypted everything.

Models declare a plaintext attribute with :class:`EncryptedText` over the mapped column
holding the ciphertext. New rows are encrypted right after their INSERT (their id is part
of the associated data), so plaintext is never written to the database.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from sqlalchemy import event, update
from sqlalchemy.orm.attributes import set_committed_value

PREFIX = "v1"


class DecryptionError(Exception):
    """A value could not be decrypted (unknown key, or moved from its place)."""


@dataclass(frozen=True)
class KeyRing:
    keys: tuple[tuple[str, bytes], ...]

    @property
    def newest(self) -> tuple[str, bytes]:
        return self.keys[0]

    def get(self, key_id: str) -> bytes:
        for candidate, key in self.keys:
            if candidate == key_id:
                return key
        raise DecryptionError(f"unknown key id {key_id!r}")


def parse_keys(text: str) -> KeyRing:
    """'id:base64key,id:base64key' → a KeyRing (each key exactly 32 bytes)."""
    keys = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        key_id, _, encoded = part.partition(":")
        try:
            key = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise ValueError(f"data key {key_id!r} is not base64") from None
        if not key_id or len(key) != 32:
            raise ValueError(f"data key {key_id!r} must be an id and 32 bytes of base64")
        keys.append((key_id, key))
    if not keys:
        raise ValueError("no data keys configured (KAP_DATA_KEYS)")
    return KeyRing(tuple(keys))


def keyring() -> KeyRing:
    """The app's keys, parsed once."""
    ring = current_app.extensions.get("kap_keyring")
    if ring is None:
        ring = parse_keys(current_app.config["DATA_KEYS"])
        current_app.extensions["kap_keyring"] = ring
    return ring


def _aad(clinic_id: Any, table: str, row_id: Any, column: str) -> bytes:
    return f"kap|{clinic_id}|{table}|{row_id}|{column}".encode()


def encrypt(plaintext: str, clinic_id: Any, table: str, row_id: Any, column: str) -> str:
    """Encrypt ``plaintext`` for its place with the newest key."""
    key_id, key = keyring().newest
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), _aad(clinic_id, table, row_id, column))
    return f"{PREFIX}:{key_id}:{base64.b64encode(nonce + sealed).decode()}"


def is_encrypted(value: str | None) -> bool:
    return bool(value) and value.startswith(f"{PREFIX}:")


def key_id_of(value: str) -> str:
    return value.split(":", 2)[1]


def decrypt(value: str, clinic_id: Any, table: str, row_id: Any, column: str) -> str:
    """Decrypt a stored value for its place; DecryptionError if it does not belong there."""
    try:
        _, key_id, encoded = value.split(":", 2)
        blob = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error):
        raise DecryptionError("malformed ciphertext") from None
    try:
        plain = AESGCM(keyring().get(key_id)).decrypt(
            blob[:12], blob[12:], _aad(clinic_id, table, row_id, column)
        )
    except InvalidTag:
        raise DecryptionError("ciphertext does not belong to this place") from None
    return plain.decode()


def read_text(stored: str | None, clinic_id: Any, table: str, row_id: Any, column: str):
    """A stored text column's plaintext: decrypted for its place, or as stored when it is
    None, empty or written before encryption (what EncryptedText gives for a model)."""
    if not is_encrypted(stored):
        return stored
    return decrypt(stored, clinic_id, table, row_id, column)


class EncryptedText:
    """A plaintext attribute over a mapped column that holds its ciphertext.

    ``clinic_of(obj)`` gives the clinic id for the associated data. Empty text is stored as
    an empty string (it reveals nothing); ``None`` as NULL.
    """

    def __init__(self, stored: str, column: str, clinic_of: Callable[[Any], Any]) -> None:
        self.stored = stored
        self.column = column
        self.clinic_of = clinic_of

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        fields = owner.__dict__.get("_encrypted_fields")
        if fields is None:
            owner._encrypted_fields = fields = []
        fields.append(self)

    def _place(self, obj: Any) -> tuple[Any, str, Any, str]:
        return self.clinic_of(obj), obj.__tablename__, obj.id, self.column

    def __get__(self, obj: Any, owner: type) -> Any:
        if obj is None:
            return self
        pending = obj.__dict__.get(f"_pending_{self.name}", _MISSING)
        if pending is not _MISSING:
            return pending
        stored = getattr(obj, self.stored)
        if not is_encrypted(stored):
            return stored  # None, "" or text written before encryption (rotate-keys fixes it)
        cache_key = f"_plain_{self.name}"
        cached = obj.__dict__.get(cache_key)
        if cached is not None and cached[0] == stored:
            return cached[1]
        plain = decrypt(stored, *self._place(obj))
        obj.__dict__[cache_key] = (stored, plain)
        return plain

    def __set__(self, obj: Any, plaintext: str | None) -> None:
        if plaintext is None or plaintext == "":
            obj.__dict__.pop(f"_pending_{self.name}", None)
            setattr(obj, self.stored, plaintext)
            return
        if obj.id is None:
            # Not inserted yet: the row id is part of the associated data. Keep the text in
            # memory and write a placeholder; after_insert encrypts it in the same flush.
            obj.__dict__[f"_pending_{self.name}"] = plaintext
            if getattr(obj, self.stored) is None:
                setattr(obj, self.stored, "")
            return
        setattr(obj, self.stored, encrypt(plaintext, *self._place(obj)))


_MISSING = object()


def encrypt_pending_after_insert(model: type) -> None:
    """Register the after-insert hook that encrypts a new row's pending plaintext."""

    @event.listens_for(model, "after_insert")
    def _encrypt_new_row(mapper, connection, target) -> None:
        values = {}
        for field in type(target)._encrypted_fields:
            pending = target.__dict__.pop(f"_pending_{field.name}", _MISSING)
            if pending is _MISSING:
                continue
            ciphertext = encrypt(pending, *field._place(target))
            column = mapper.get_property(field.stored).columns[0]
            values[column.name] = ciphertext
            # Keep the object in step without marking it dirty again.
            set_committed_value(target, field.stored, ciphertext)
        if values:
            table = mapper.local_table
            connection.execute(update(table).where(table.c.id == target.id).values(**values))
