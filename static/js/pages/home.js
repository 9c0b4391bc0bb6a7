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
  // The server laid the line out if it is the session day on the clinic's clock; this phone's
  // clock decides (they differ only across time zones).
  if (line && (line.dataset.status !== 'scheduled' || isToday(line.dataset.scheduledAt))) {
    showReadiness(line, user, next);
  } else if (line) {
    line.hidden = true;
  }
}

// A first visit: the welcome shows until "Got it", remembered on this phone (there is no field
// for it on the account; signing out clears it, and the server stops offering it once the
// patient has written or finished a session).
const welcome = document.querySelector('[data-welcome]');
const seenKey = user ? `kap:welcome-seen:${user}` : null;
const seen = () => {
  try {
    return localStorage.getItem(seenKey) === '1';
  } catch {
    return false;
  }
};
if (welcome && seenKey && !seen()) {
  welcome.hidden = false;
  welcome.querySelector('[data-welcome-dismiss]').addEventListener('click', () => {
    try {
      localStorage.setItem(seenKey, '1');
    } catch {
      /* shown again next visit: harmless */
    }
    welcome.hidden = true;
    document.getElementById('main')?.focus();
  });
}
