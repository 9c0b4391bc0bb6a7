"""Sound made on the server: the session's prompt track (chimes and spoken prompts in the
media the phone plays), recordings of the clinic's voice, and the sample arithmetic they share."""
