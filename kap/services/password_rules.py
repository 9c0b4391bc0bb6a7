"""What makes a password acceptable: length, not the email, not a common password."""

from __future__ import annotations

from functools import cache
from pathlib import Path

MIN_LENGTH = 12
MAX_LENGTH = 1024


@cache
def common_passwords() -> frozenset[str]:
    """The short list shipped in kap/data/common-passwords.txt, lower-cased."""
    path = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line and not line.startswith("#"))


def password_problems(password: str, email: str) -> list[str]:
    """Why ``password`` is not acceptable for ``email`` (empty when it is fine)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters; a few words together work well.")
    if len(password) > MAX_LENGTH:
        problems.append(f"Use at most {MAX_LENGTH} characters.")
    lowered = password.strip().lower()
    email = (email or "").strip().lower()
    if email and (lowered == email or lowered == email.split("@")[0]):
        problems.append("Do not use your email address as your password.")
    if lowered in common_passwords():
        problems.append("That password is too common; choose something less guessable.")
    return problems
