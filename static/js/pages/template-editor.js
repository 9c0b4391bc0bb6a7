// The template editor, enhanced: rows are added, removed and moved in place (the page keeps
// its scroll position and the focus follows the row), the error summary takes the focus,
// soundscapes can be previewed, and each eye-mask prompt can be recorded in the clinic's own
// voice. Without this script every button posts the form, and the page comes back at the row
// it changed (the buttons' formaction ends in #<list>-row-<n>).

import { csrfToken } from '../lib/api.js';
import { applyAction, renumberLabel, renumberValue } from '../lib/row-numbers.js';

const editor = document.querySelector('[data-template-editor]');
const MAX_ROWS = 60; // kap/clinic/template_editor.py MAX_ROWS
const PREVIEW_SECONDS = 15;
const MAX_RECORDING_SECONDS = 60;
const FIELDS = 'input:not([type=hidden]), select, textarea';

const status = document.createElement('p');
status.className = 'visually-hidden';
status.setAttribute('role', 'status');
editor?.append(status);

/** Say what just happened, for screen readers (the change itself is silent otherwise). */
function announce(text) {
  status.textContent = '';
  window.setTimeout(() => {
    status.textContent = text;
  }, 50);
}

const minutesSeconds = (seconds) => {
  const whole = Math.max(0, Math.round(seconds));
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`;
};

// ---- rows -------------------------------------------------------------------------------

/** Every row of a list says where it now is: names, ids, labels, buttons. */
function renumber(list, name) {
  const rows = [...list.children];
  rows.forEach((row, index) => {
    for (const element of [row, ...row.querySelectorAll('*')]) {
      for (const attribute of ['id', 'name', 'for', 'aria-describedby']) {
        const value = element.getAttribute(attribute);
        if (value) element.setAttribute(attribute, renumberValue(value, name, index));
      }
      if (element.tagName === 'BUTTON' && element.name === 'action') {
        element.value = renumberValue(element.value, name, index);
      }
      const label = element.getAttribute('aria-label');
      if (label) element.setAttribute('aria-label', renumberLabel(label, index));
    }
    for (const number of row.querySelectorAll('[data-n]')) number.textContent = String(index + 1);
    const up = row.querySelector('button[value^="up-"]');
    const down = row.querySelector('button[value^="down-"]');
    if (up) up.disabled = index === 0;
    if (down) down.disabled = index === rows.length - 1;
  });
}

function focusRow(row) {
  const field = row.querySelector(FIELDS);
  (field ?? row).focus();
}

function onRowAction(event) {
  const button = event.target.closest('button[name="action"]');
  const match = button && /^(add|remove|up|down)-([a-z]+)(?:-(\d+))?$/.exec(button.value);
  if (!match) return;
  const [, verb, name, number] = match;
  const list = editor.querySelector(`ol[data-list="${name}"]`);
  const blank = editor.querySelector(`template[data-row-template="${name}"]`);
  if (!list || !blank) return; // not ours: let the form post
  event.preventDefault();
  const rows = [...list.children];
  if (verb === 'add' && rows.length >= MAX_ROWS) return;
  const index = verb === 'add' ? rows.length : Number(number);
  const { order, focus } = applyAction(rows.length, verb, index);
  if (verb === 'remove') rows[index].remove();
  const noun = button
    .getAttribute('aria-label')
    ?.replace(/^(Move|Remove) /, '')
    .replace(/ (up|down)$/, '');
  const added = verb === 'add' ? blank.content.firstElementChild.cloneNode(true) : null;
  for (const position of order) list.append(position === null ? added : rows[position]);
  renumber(list, name);
  if (added) enhanceRows(added);
  if (focus === null) {
    editor.querySelector(`[data-add="${name}"]`)?.focus();
  } else if (verb === 'up' || verb === 'down') {
    const moved = list.children[focus];
    const same = moved.querySelector(`button[value^="${verb}-"]`);
    const other = moved.querySelector(`button[value^="${verb === 'up' ? 'down' : 'up'}-"]`);
    (same.disabled ? other : same).focus();
  } else {
    focusRow(list.children[focus]);
  }
  if (verb === 'add') announce(`Added ${button.textContent.replace(/^Add /, '')} ${order.length}.`);
  else if (verb === 'remove') announce(`Removed ${noun}.`);
  else announce(`Moved ${noun} ${verb}; it is now number ${focus + 1}.`);
}

// ---- errors -----------------------------------------------------------------------------

function enhanceErrorSummary() {
  const summary = document.querySelector('[data-error-summary]');
  if (!summary) return;
  summary.focus();
  summary.addEventListener('click', (event) => {
    const link = event.target.closest('a[href^="#"]');
    const target = link && document.getElementById(link.hash.slice(1));
    if (!target) return;
    event.preventDefault();
    const field = target.matches(FIELDS) ? target : target.querySelector(FIELDS);
    (field ?? target).focus();
    (target.closest('.field') ?? target).scrollIntoView({ block: 'center' });
  });
}

// ---- soundscape preview -----------------------------------------------------------------

let previewAudio = null;
let previewButton = null;

/** The button says what it does now: preview this track, or stop its preview. */
function labelPreview(button, playing) {
  const number = button.closest('li').querySelector('[data-n]')?.textContent ?? '';
  button.textContent = playing ? 'Stop preview' : 'Preview';
  button.setAttribute('aria-label', playing ? `Stop preview of track ${number}` : `Preview track ${number}`);
}

function stopPreview() {
  if (previewAudio) {
    previewAudio.pause();
    URL.revokeObjectURL(previewAudio.src);
  }
  if (previewButton) labelPreview(previewButton, false);
  previewAudio = previewButton = null;
}

async function onPreview(button) {
  const row = button.closest('li');
  const state = row.querySelector('[data-preview-status]');
  if (previewButton === button) {
    stopPreview();
    state.textContent = '';
    return;
  }
  stopPreview();
  const value = (suffix) => row.querySelector(`[name$="-${suffix}"]`)?.value;
  state.textContent = 'Preparing…';
  button.disabled = true;
  try {
    const { renderSoundscape } = await import('../lib/session/soundscape.js');
    const wav = await renderSoundscape(
      { key: value('key'), texture: value('texture'), seed: Number(value('seed')) || 1 },
      { durationSeconds: PREVIEW_SECONDS },
    );
    previewAudio = new Audio(URL.createObjectURL(wav));
    previewButton = button;
    previewAudio.addEventListener('ended', () => {
      stopPreview();
      state.textContent = '';
    });
    labelPreview(button, true);
    state.textContent = 'Playing 15 seconds.';
    await previewAudio.play();
  } catch {
    stopPreview();
    state.textContent = 'This browser could not play the preview.';
  } finally {
    button.disabled = false;
  }
}

// ---- prompt recordings ------------------------------------------------------------------

const canRecord = () => Boolean(window.MediaRecorder && navigator.mediaDevices?.getUserMedia);
const fallbackLabel = () => {
  const select = editor.querySelector('[data-prompt-fallback]');
  return select?.selectedOptions[0]?.textContent ?? '';
};
const recorders = new WeakMap();

function showRecording(box, recording) {
  const id = box.querySelector('[data-recording-id]');
  const state = box.querySelector('[data-recording-state]');
  const record = box.querySelector('[data-record]');
  const number = box.closest('li').querySelector('[data-n]').textContent;
  id.value = recording ? String(recording.id) : '';
  box.dataset.recordingUrl = recording?.url ?? '';
  if (recording) {
    state.textContent = `Recorded${recording.duration_seconds ? ` (${minutesSeconds(recording.duration_seconds)})` : ''}`;
  } else {
    state.textContent = 'No recording: ';
    const fallback = document.createElement('span');
    fallback.dataset.fallback = '';
    fallback.textContent = fallbackLabel();
    state.append(fallback);
  }
  record.textContent = recording ? 'Re-record' : 'Record';
  record.setAttribute('aria-label', `${recording ? 'Re-record' : 'Record'} prompt ${number}`);
  box.querySelector('[data-play]').hidden = !recording?.url;
  box.querySelector('[data-remove-recording]').hidden = !recording;
}

async function upload(box, blob, filename) {
  const say = box.querySelector('[data-recording-status]');
  const url = editor.querySelector('ol[data-list="cues"]').dataset.recordingsUrl;
  const body = new FormData();
  body.append('audio', blob, filename);
  say.textContent = 'Saving the recording…';
  try {
    const response = await fetch(url, {
      method: 'POST',
      body,
      credentials: 'same-origin',
      headers: { Accept: 'application/json', 'X-CSRFToken': csrfToken() },
    });
    const data = await response.json().catch(() => null);
    if (!response.ok) throw new Error(data?.error?.message ?? `The recording was not saved (${response.status}).`);
    showRecording(box, data);
    say.textContent = 'Recording kept. Save the template to use it.';
  } catch (error) {
    say.textContent = error.message || 'The recording was not saved; try again.';
  }
}

async function startRecording(box) {
  const say = box.querySelector('[data-recording-status]');
  const elapsed = box.querySelector('[data-elapsed]');
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch {
    say.textContent = 'The microphone is not available. Allow it, or upload a recording.';
    return;
  }
  const recorder = new MediaRecorder(stream);
  const chunks = [];
  const started = Date.now();
  const tick = window.setInterval(() => {
    const seconds = (Date.now() - started) / 1000;
    elapsed.textContent = minutesSeconds(seconds);
    if (seconds >= MAX_RECORDING_SECONDS) recorder.stop();
  }, 250);
  recorder.addEventListener('dataavailable', (event) => chunks.push(event.data));
  recorder.addEventListener('stop', () => {
    window.clearInterval(tick);
    for (const track of stream.getTracks()) track.stop();
    recorders.delete(box);
    box.querySelector('[data-record]').hidden = false;
    box.querySelector('[data-stop]').hidden = true;
    const type = recorder.mimeType || 'audio/webm';
    const extension = type.includes('mp4') ? 'm4a' : type.includes('ogg') ? 'ogg' : 'webm';
    upload(box, new Blob(chunks, { type }), `prompt.${extension}`);
    box.querySelector('[data-record]').focus();
  });
  recorders.set(box, recorder);
  recorder.start();
  elapsed.textContent = '0:00';
  say.textContent = 'Recording… speak the prompt, then press Stop.';
  box.querySelector('[data-record]').hidden = true;
  const stop = box.querySelector('[data-stop]');
  stop.hidden = false;
  stop.focus();
}

function onRecordingClick(event) {
  const box = event.target.closest('[data-recording]');
  if (!box) return;
  if (event.target.closest('[data-record]')) startRecording(box);
  else if (event.target.closest('[data-stop]')) recorders.get(box)?.stop();
  else if (event.target.closest('[data-play]') && box.dataset.recordingUrl) new Audio(box.dataset.recordingUrl).play();
  else if (event.target.closest('[data-remove-recording]')) {
    showRecording(box, null);
    box.querySelector('[data-recording-status]').textContent =
      'Recording removed. Save the template to keep the change.';
    box.querySelector('[data-record]').focus();
  }
}

function onRecordingFile(event) {
  const input = event.target.closest('[data-recording-file]');
  const file = input?.files?.[0];
  if (!file) return;
  upload(input.closest('[data-recording]'), file, file.name).then(() => {
    input.value = '';
  });
}

// ---- wiring -----------------------------------------------------------------------------

/** Show what needs this script in rows that are new or were rendered by the server. */
function enhanceRows(root) {
  const previews = 'OfflineAudioContext' in window;
  for (const box of root.querySelectorAll('[data-preview]')) box.hidden = !previews;
  for (const box of root.querySelectorAll('[data-recording-controls]')) {
    box.hidden = false;
    box.querySelector('[data-record]').hidden = !canRecord();
  }
}

if (editor) {
  editor.addEventListener('click', (event) => {
    onRowAction(event);
    const preview = event.target.closest('[data-preview-button]');
    if (preview) onPreview(preview);
    onRecordingClick(event);
  });
  editor.addEventListener('change', (event) => {
    onRecordingFile(event);
    if (event.target.matches('[data-prompt-fallback]')) {
      for (const label of editor.querySelectorAll('[data-fallback]')) label.textContent = fallbackLabel();
    }
  });
  enhanceRows(editor);
  enhanceErrorSummary();
  const arrived = window.location.hash && document.getElementById(window.location.hash.slice(1));
  if (arrived?.matches('li.row') && !document.querySelector('[data-error-summary]')) focusRow(arrived);
}
