"""Background jobs on Huey: the queue (``queue``), the tasks (``tasks``), and how they run.

Huey was chosen because one library covers both ways the app runs: embedded in the `make run`
process on a SQLite file (a consumer in threads, its scheduler on), and as separate worker
processes on Redis or PostgreSQL in production, several at once. Its periodic scheduler and
task locks are maintained code, not a loop written here. Sending exactly once does not rely
on the queue: each delivery claims a unique row first (services.reminders.deliver).
"""
