// Check-ins (any questionnaire) through the outbox: answers are saved on the phone first, then sent
// once (client_id). Online, the result page follows; offline, the page says where the answers
// are — and if question 9 of the PHQ-9 was answered above 0, crisis support comes first at once,
// without waiting for the server.

import { currentUser } from '../lib/device.js';
import * as outbox from '../lib/outbox.js';

const form = document.querySelector('[data-checkin-form]');
const user = currentUser();

const questions = [...form.querySelectorAll('[data-question]')];

// One answer per question, as the API reads it: a number for choices and number fields, text
// for text boxes, null where nothing was given.
function answerOf(question) {
  const kind = question.dataset.question;
  if (kind === 'choice') {
    const picked = question.querySelector('input:checked');
    return picked ? Number(picked.value) : null;
  }
  const field = question.querySelector('input, textarea');
  const value = field.value.trim();
  if (!value) return null;
  return kind === 'number' ? Number(value) : value;
}

function complete(question, answer) {
  const field = question.querySelector('input, textarea');
  if (!field.required) return answer === null || question.dataset.question !== 'number' || Number.isInteger(answer);
  return (
    answer !== null && (question.dataset.question !== 'number' || (Number.isInteger(answer) && field.checkValidity()))
  );
}

// PHQ-9 item 9 (thoughts of self-harm) at or above its threshold: crisis contacts come first.
function crisis() {
  return questions.some((question) => {
    const at = question.dataset.crisisAt;
    const answer = answerOf(question);
    return at !== undefined && answer !== null && answer >= Number(at);
  });
}

async function save(event) {
  const chosen = questions.map(answerOf);
  // Anything missing or malformed: the plain form post, whose page says what and where.
  if (!questions.every((question, index) => complete(question, chosen[index]))) return;
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
  panel.querySelector('[data-checkin-crisis]').hidden = !crisis();
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
