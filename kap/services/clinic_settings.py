"""A clinic's own settings: name, time zone, preparation numbers, crisis contacts."""

from __future__ import annotations

from zoneinfo import available_timezones

from kap.extensions import db
from kap.models import Clinic, User
from kap.services.errors import Invalid

MAX_CONTACTS = 6


def update_settings(
    actor: User,
    *,
    name: str,
    timezone: str,
    fasting_hours: int,
    clear_liquids_hours: int,
    substance_free_hours: int,
    crisis_contacts: list[dict[str, str]],
) -> Clinic:
    """Change the actor's clinic's settings after checking every value."""
    errors: dict[str, list[str]] = {}
    if not name.strip() or len(name) > 200:
        errors["name"] = ["Enter the clinic's name (up to 200 characters)."]
    if timezone not in available_timezones():
        errors["timezone"] = ["Choose a time zone from the list."]
    for field, value, high in (
        ("fasting_hours", fasting_hours, 24),
        ("clear_liquids_hours", clear_liquids_hours, 24),
        ("substance_free_hours", substance_free_hours, 168),
    ):
        if value is None or not 0 <= value <= high:
            errors[field] = [f"Enter a whole number of hours from 0 to {high}."]
    # Errors keep each row's own index (the page shows every row, filled or not).
    rows = [
        (index, contact)
        for index, contact in enumerate(crisis_contacts[:MAX_CONTACTS])
        if any((value or "").strip() for value in contact.values())
    ]
    contacts = [contact for _, contact in rows]
    if not contacts:
        errors["contacts"] = ["Keep at least one crisis contact."]
    for index, contact in rows:
        if not (contact.get("name") or "").strip():
            errors[f"contacts-{index}-name"] = ["Name the contact."]
        if not any((contact.get(k) or "").strip() for k in ("phone", "sms", "url")):
            errors[f"contacts-{index}-phone"] = ["Give a phone number, text number or website."]
        url = (contact.get("url") or "").strip()
        if url and not url.startswith("https://"):
            errors[f"contacts-{index}-url"] = ["Websites must start with https://"]
    if errors:
        raise Invalid("Some fields need attention.", errors)
    clinic = actor.clinic
    clinic.name = name.strip()
    clinic.timezone = timezone
    clinic.fasting_hours = fasting_hours
    clinic.clear_liquids_hours = clear_liquids_hours
    clinic.substance_free_hours = substance_free_hours
    clinic.crisis_contacts = [
        {k: (c.get(k) or "").strip()[:300] for k in ("name", "phone", "sms", "url", "description")}
        for c in contacts
    ]
    db.session.commit()
    return clinic
