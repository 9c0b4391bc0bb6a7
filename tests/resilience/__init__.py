"""Fault tests: the app under gunicorn against a private PostgreSQL that the test stops."""
