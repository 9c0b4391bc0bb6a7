"""Stale edits of entries with the longest client_ids keep both texts (issue 13, finding 7).

The copy of an overwritten text took the id "<client_id>:r<revision>" cut to 64 characters:
for a client_id of 61-64 characters that equalled the original, the insert failed (500) and
the edit was never saved.
"""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("length", [1, 36, 60, 61, 62, 63, 64])
def test_stale_edit_keeps_both_texts_whatever_the_client_id_length(api_as, people, length):
    """Three devices edit from revision 1: the first is a plain edit, the two stale ones keep
    the text they overwrite as a private copy, and the last edit is the entry."""
    api = api_as("patient@demo.test")
    client_id = ("k" * 64)[:length]
    created = api.post("/api/v1/journal", json={"client_id": client_id, "body": "Original"})
    assert created.status_code == 201
    url = f"/api/v1/journal/{created.json['id']}"
    for device in ("phone", "laptop", "tablet"):
        edit = api.patch(url, json={"body": f"Edited on the {device}", "base_revision": 1})
        assert edit.status_code == 200, edit.json
    bodies = [entry["body"] for entry in api.get("/api/v1/journal").json["entries"]]
    for text in ("Edited on the phone", "Edited on the laptop", "Edited on the tablet"):
        assert text in bodies
    assert bodies.count("Edited on the tablet") == 1
