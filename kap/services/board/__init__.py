"""The session day as staff record it: board, check-in, doses, monitoring, discharge."""
