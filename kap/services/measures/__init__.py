"""Check-ins (PHQ-9, GAD-7): recording, scoring, who may read them, and the chart."""
