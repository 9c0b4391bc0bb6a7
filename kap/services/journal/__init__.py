"""The integration journal and the care team's private notes."""
