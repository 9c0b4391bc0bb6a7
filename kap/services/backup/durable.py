"""Files that are whole or absent: written beside their place, synced, renamed into it."""

from __future__ import annotations

import os
from pathlib import Path


def replace_durably(temporary: Path, target: Path) -> None:
    """Make ``temporary`` durable, then put it in place of ``target`` in one step (a crash
    leaves the old file or the new one, never half of one), and make the rename durable."""
    with temporary.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
