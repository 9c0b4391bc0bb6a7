"""The questionnaire editor's rows and lines stand for a definition without losing anything
the engine reads (only LOINC codes, which the JSON editor keeps, are not in the form)."""

from __future__ import annotations

import dataclasses

import pytest

from kap.services.clinic.instruments import (
    ItemRow,
    QuestionnaireDraft,
    definition_from_draft,
    draft_from_instrument,
)
from kap.services.measures.scoring import BUILT_IN, parse_definition


def _without_loinc(instrument):
    items = tuple(
        dataclasses.replace(
            item,
            loinc=None,
            options=tuple(dataclasses.replace(o, loinc=None) for o in item.options),
            # the form names a clinic's own alert; a shipped item keeps its kind (hidden field)
        )
        for item in instrument.items
    )
    return dataclasses.replace(
        instrument, items=items, loinc=None, total_loinc=None, title="", source=""
    )


@pytest.mark.parametrize("code", sorted(BUILT_IN))
def test_every_shipped_definition_survives_the_form(code):
    """Shipped definition → editor rows → definition: the same questionnaire."""
    shipped = BUILT_IN[code]
    data, kept, problems = definition_from_draft(draft_from_instrument(shipped))
    assert problems == {} and kept == list(range(len(shipped.items)))
    again = parse_definition({**data, "version": shipped.version})
    assert _without_loinc(again) == _without_loinc(shipped)


def test_blank_rows_are_left_out_and_new_rows_get_fresh_ids():
    """Only rows with something typed count; a new row gets an id no other item has."""
    draft = QuestionnaireDraft(
        code="own",
        name="Own",
        items=[
            ItemRow(id="q1", text="First", kind="text"),
            ItemRow(),
            ItemRow(text="Second", kind="number", minimum="0", maximum="10", review="7"),
            ItemRow(),
        ],
    )
    data, kept, problems = definition_from_draft(draft)
    assert problems == {} and kept == [0, 2]
    assert [item["id"] for item in data["items"]] == ["q1", "q2"]
    assert data["items"][1]["review"] == {"at_least": 7}
    assert parse_definition(data).items[1].maximum == 10


@pytest.mark.parametrize(
    ("row", "field"),
    [
        (ItemRow(text="A", options="0 = No\nYes"), "items-0-options"),
        (ItemRow(text="A", kind="number", minimum="few"), "items-0-minimum"),
        (ItemRow(text="A", options="0 = No", review="no"), "items-0-review"),
        (ItemRow(text="A", options="0 = No", alert_at_least="x"), "items-0-alert_at_least"),
        (ItemRow(text="A", kind="essay"), "items-0-kind"),
    ],
)
def test_what_only_the_editor_can_get_wrong_is_named_by_its_field(row, field):
    """A line or number the form cannot read is reported against its own input."""
    problems = definition_from_draft(QuestionnaireDraft(code="own", name="Own", items=[row]))[2]
    assert list(problems) == [field]
