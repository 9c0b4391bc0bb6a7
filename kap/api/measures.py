"""Check-ins over the API (PHQ-9, GAD-7): record, history, and a care team's view."""

from kap.api import bp  # noqa: F401 - routes are added to the API blueprint
