"""Treatment sessions: booking, the start window, preparation, phases, Call staff."""
