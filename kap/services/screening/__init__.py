"""Before the first session: screening intake and consent."""
