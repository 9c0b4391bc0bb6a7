// Patient home: on the session day (or while a session runs) the next session is kept on the
// phone for offline use; anything stored for another session goes (only the next one stays).

import { currentUser } from '../lib/device.js';
import { forgetOtherSessions, showReadiness } from '../lib/offline.js';

const line = document.querySelector('[data-offline-ready]');
const user = currentUser();

const isToday = (iso) => new Date(iso).toDateString() === new Date().toDateString();

if (user) {
  const next = line ? Number(line.dataset.sessionId) : null;
  forgetOtherSessions(user, next).catch(() => {});
  if (line && (line.dataset.status !== 'scheduled' || isToday(line.dataset.scheduledAt))) {
    showReadiness(line, user, next);
  }
}
