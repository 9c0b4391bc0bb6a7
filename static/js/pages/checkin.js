// Check-ins (PHQ-9, GAD-7) through the outbox: answers are saved on the phone first, then sent
// once (client_id). Online, the result page follows; offline, the page says where the answers
// are — and if question 9 of the PHQ-9 was answered above 0, crisis support comes first at once,
// without waiting for the server.

import { currentUser } from '../lib/device.js';
import * as outbox from '../lib/outbox.js';

const form = document.querySelector('[data-checkin-form]');
const user = currentUser();

function answers() {
  const count = form.querySelectorAll('fieldset[id^="q"]').length;
  const chosen = [];
  for (let n = 1; n <= count; n += 1) {
    const picked = form.querySelector(`input[name="q${n}"]:checked`);
    chosen.push(picked ? Number(picked.value) : null);
  }
  return chosen;
}

async function save(event) {
  const chosen = answers();
  const missing = chosen.indexOf(null);
  if (missing !== -1) return; // the server's page lists what is missing (the plain form post)
  event.preventDefault();
  const instrument = form.dataset.instrument;
  const session = form.elements.namedItem('session_id')?.value;
  let record;
  try {
    record = await outbox.enqueue({
      kind: 'measure',
      method: 'POST',
      url: '/api/v1/measures',
      label: 'Check-in',
      body: {
        instrument,
        answers: chosen,
        client_id: form.elements.namedItem('client_id').value,
        session_id: session ? Number(session) : null,
      },
    });
  } catch {
    return HTMLFormElement.prototype.submit.call(form); // no device store: the server's form post
  }
  const sent = outbox.outcome(record, 6000);
  const panel = document.querySelector('[data-checkin-saved]');
  form.hidden = true;
  panel.hidden = false;
  // PHQ-9 item 9 (thoughts of self-harm): crisis contacts first, whatever the network does.
  panel.querySelector('[data-checkin-crisis]').hidden = !(instrument === 'phq9' && chosen[8] > 0);
  const label = panel.querySelector('[data-sync-label]');
  panel.focus();
  const { state, result } = await sent;
  if (state === 'synced' && result?.id) return location.assign(`/patient/check-ins/result?id=${result.id}`);
  label.dataset.state = state;
  if (state === 'attention') label.textContent = 'Not sent — see your journal page';
  const stop = outbox.on('synced', ({ record: done }) => {
    if (done.id !== record.id) return;
    stop();
    label.dataset.state = 'synced';
    label.textContent = outbox.SYNCED_LABEL;
  });
}

if (form && user) form.addEventListener('submit', save);
