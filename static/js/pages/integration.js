// After the session: "Mark this session complete" goes through the outbox, so it works offline;
// once the server has it, the phone forgets the session (SECURITY.md).

import { currentUser } from '../lib/device.js';
import * as outbox from '../lib/outbox.js';

const form = document.querySelector('[data-complete-form]');
const user = currentUser();

if (form && user) {
  const sessionId = Number(form.dataset.sessionId);
  const status = form.querySelector('[data-complete-status]');
  const button = form.querySelector('button');
  const done = () => {
    button.hidden = true;
    status.textContent = `This session is complete. ${outbox.SYNCED_LABEL}.`;
  };
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    button.disabled = true;
    const record = await outbox.enqueue({
      kind: 'phase',
      session: sessionId,
      method: 'POST',
      url: `/api/v1/sessions/${sessionId}/phase`,
      body: { phase: 'complete', at: new Date().toISOString() },
      label: 'Session complete',
    });
    const { state } = await outbox.outcome(record, 5000);
    if (state === 'synced') return done();
    button.hidden = true;
    status.textContent =
      state === 'attention' ? 'Not sent — see your journal page.' : `This session is complete. ${outbox.SAVED_LABEL}.`;
    const stop = outbox.on('synced', ({ record: sent }) => {
      if (sent.id !== record.id) return;
      stop();
      done();
    });
  });
}
