"""Between sessions: planning reminders, the patient's choices, and sending them.

A reminder is planned from the patient's sessions, their templates' reminder kinds and the
measurement schedule each time it is needed (``planned``); it is stored only when it is
delivered, one row per key and channel (models.reminders.ReminderDelivery).
"""
