"""A clinic's configuration: its settings, audio library and session templates."""
