"""Board pages: today's sessions, vitals, monitoring checks, discharge, Call staff alerts."""

from kap.board import bp  # noqa: F401 - routes are added to the board blueprint
