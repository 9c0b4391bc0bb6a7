"""Signing in and account security as rules: passwords, failure limits, the second factor."""
