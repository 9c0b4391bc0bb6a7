"""The patient's check-ins (PHQ-9 and GAD-7)."""

from kap.patient import bp  # noqa: F401 - routes are added to the patient blueprint
