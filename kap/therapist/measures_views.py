"""Measures for the care team: CSV export."""

from kap.therapist import bp  # noqa: F401 - routes are added to the therapist blueprint
