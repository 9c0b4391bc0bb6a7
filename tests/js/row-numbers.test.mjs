// The template editor's row renumbering: names, ids and the numbers people read follow a row.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyAction, renumberLabel, renumberValue } from '../../static/js/lib/row-numbers.js';

test('field names, ids and button values take the new index', () => {
  assert.equal(renumberValue('cues-2-at', 'cues', 0), 'cues-0-at');
  assert.equal(renumberValue('cues-12-recording_id', 'cues', 3), 'cues-3-recording_id');
  assert.equal(renumberValue('up-cues-2', 'cues', 1), 'up-cues-1');
  assert.equal(renumberValue('intention-4', 'intention', 0), 'intention-0');
  assert.equal(renumberValue('cues-2-at-error', 'cues', 5), 'cues-5-at-error');
  assert.equal(renumberValue('/clinic/templates/3#cues-row-2', 'cues', 0), '/clinic/templates/3#cues-row-0');
  assert.equal(
    renumberValue('cues-1-at-error prompt_fallback-hint', 'cues', 7),
    'cues-7-at-error prompt_fallback-hint',
  );
});

test('other lists and other numbers are left alone', () => {
  assert.equal(renumberValue('tracks-2-title', 'cues', 0), 'tracks-2-title');
  assert.equal(renumberValue('/clinic/templates/32', 'cues', 0), '/clinic/templates/32');
  assert.equal(renumberValue('subcues-2', 'cues', 0), 'subcues-2');
});

test('the number people read is the position counted from one', () => {
  assert.equal(renumberLabel('Move prompt 3 up', 0), 'Move prompt 1 up');
  assert.equal(renumberLabel('Preview track 1', 4), 'Preview track 5');
});

test('moves swap neighbours and follow the moved row', () => {
  assert.deepEqual(applyAction(3, 'up', 2), { order: [0, 2, 1], focus: 1 });
  assert.deepEqual(applyAction(3, 'down', 0), { order: [1, 0, 2], focus: 1 });
  assert.deepEqual(applyAction(3, 'up', 0), { order: [0, 1, 2], focus: 0 }, 'the first row stays');
  assert.deepEqual(applyAction(3, 'down', 2), { order: [0, 1, 2], focus: 2 }, 'the last row stays');
});

test('add appends an empty row; remove focuses the row that took its place', () => {
  assert.deepEqual(applyAction(2, 'add', 0), { order: [0, 1, null], focus: 2 });
  assert.deepEqual(applyAction(3, 'remove', 1), { order: [0, 2], focus: 1 });
  assert.deepEqual(applyAction(3, 'remove', 2), { order: [0, 1], focus: 1 });
  assert.deepEqual(applyAction(1, 'remove', 0), { order: [], focus: null });
});
