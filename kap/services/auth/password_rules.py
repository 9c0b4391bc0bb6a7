"""What makes a password acceptable: length, not the email, and hard to guess.

Guessability is judged by zxcvbn (Dropbox's estimator: dictionaries of common passwords,
names and words, keyboard patterns, dates, repeats and l33t substitutions), with the person's
own email and name counted as known words. A score of 3 ("safely unguessable: moderate
protection from offline slow-hash scenario") is required.
"""

from __future__ import annotations

from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_LENGTH = 1024
#: zxcvbn's score out of 4 a password needs.
MIN_SCORE = 3
#: zxcvbn reads at most this many characters; a longer passphrase is as strong as its start.
_ESTIMATED_LENGTH = 72


def password_problems(password: str, email: str, name: str = "") -> list[str]:
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
    elif problems:
        return problems
    else:
        known = [part for part in (email, email.split("@")[0], *name.lower().split()) if part]
        estimate = zxcvbn(password[:_ESTIMATED_LENGTH], user_inputs=known)
        if estimate["score"] < MIN_SCORE:
            warning = estimate["feedback"]["warning"]
            problems.append(
                "That password is too easy to guess"
                + (f" ({warning.rstrip('.').lower()})" if warning else "")
                + ". Try three or four unrelated words together."
            )
    return problems
