"""Benchmarks for KAP Companion: data generator, load scripts, browser audits, report writer.

``make bench-data`` fills the configured database (bench.datagen); ``make bench`` runs the
whole measurement on a fresh PostgreSQL database and writes docs/benchmarks.md (bench.run).
Nothing here is imported by the application.
"""
