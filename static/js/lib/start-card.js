// The Start session card of the preparation page (server's and offline): the start window,
// staff check-in, and what only the server clears — an intake not yet cleared, a consent not
// signed (unticked items are counted by prepare.js). The card says what stands in the way,
// the button is described by exactly that, and staff check-in is picked up without a reload. The server checks everything again
// (kap/services/sessions/start_window.py).

import { clinicZone, storedSession, storeSessionData } from './device.js';
import { clockLabel, notTodayMessage, windowState } from './start-window.js';

const CHECK_IN_POLL_MS = 10_000;
const WINDOW_TICK_MS = 30_000;

/** Keeps the card current; `update(missing)` takes the number of unticked required items. */
export function startGate({ form, sessionId, user }) {
  const card = document.querySelector('[data-start-card]');
  const start = document.querySelector('[data-start]');
  if (!card || !start) return { update() {}, reason: () => '' };
  const span = { opens_at: card.dataset.opensAt, closes_at: card.dataset.closesAt };
  const notToday = card.querySelector('[data-not-today]');
  const parts = {
    later: card.querySelector('[data-check-in-later]'),
    waiting: card.querySelector('[data-check-in-waiting]'),
    done: card.querySelector('[data-check-in-done]'),
  };
  const blockers = [...card.querySelectorAll('[data-start-blocker]')];
  let missing = form.querySelectorAll('input[data-required="y"]:not(:checked)').length;
  let zone;
  let worded = false; // the not-today text was written here, not by the server
  clinicZone(user).then((found) => {
    zone = found;
    if (worded) notToday.textContent = notTodayMessage(span, Date.now(), zone);
  });

  function update(missingCount = missing) {
    missing = missingCount;
    const state = windowState(span);
    if (state !== (card.dataset.window ?? 'open')) {
      // The window opened or closed while the page was open.
      card.dataset.window = state;
      notToday.textContent = notTodayMessage(span, Date.now(), zone);
      worded = true;
    }
    notToday.hidden = state === 'open';
    const checkIn = card.dataset.checkIn ?? 'none';
    const waiting = checkIn === 'waiting' && state === 'open';
    if (parts.later) parts.later.hidden = !(checkIn === 'waiting' && state !== 'open');
    if (parts.waiting) parts.waiting.hidden = !waiting;
    if (parts.done) parts.done.hidden = checkIn !== 'done';
    const reasons = [
      state !== 'open' && 'start-not-today',
      ...blockers.map((blocker) => blocker.id), // what only the server can clear (intake, consent)
      waiting && 'start-check-in',
      missing > 0 && 'start-missing',
    ].filter(Boolean);
    if (start.dataset.starting !== 'y') start.disabled = reasons.length > 0;
    if (reasons.length) start.setAttribute('aria-describedby', reasons.join(' '));
    else start.removeAttribute('aria-describedby');
  }

  // Staff check the patient in on the board: the page notices without a reload.
  async function pollCheckIn() {
    if (card.dataset.checkIn !== 'waiting' || windowState(span) !== 'open') return;
    if (document.visibilityState !== 'visible' || navigator.onLine === false) return;
    const response = await fetch(`/api/v1/sessions/${sessionId}`, {
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { Accept: 'application/json', 'X-KAP-Passive': '1' }, // not the person's activity
    }).catch(() => null);
    if (!response?.ok) return;
    const data = await response.json();
    if (!data.checked_in_at) return;
    if (user && (await storedSession(user, sessionId).catch(() => null))) {
      await storeSessionData(user, data).catch(() => {}); // the offline copy knows too
    }
    markCheckedIn(data.checked_in_at);
  }

  function markCheckedIn(iso) {
    card.dataset.checkIn = 'done';
    const time = card.querySelector('[data-checked-in-at]');
    if (time) {
      time.dateTime = iso;
      time.textContent = clockLabel(iso, zone);
    }
    update();
  }

  setInterval(update, WINDOW_TICK_MS);
  setInterval(() => pollCheckIn().catch(() => {}), CHECK_IN_POLL_MS);
  update();
  return {
    update,
    /** Why Start cannot be pressed now ('' when it can, apart from unticked items). */
    reason() {
      if (!notToday.hidden) return notToday.textContent;
      if (blockers.length) return blockers[0].querySelector('strong')?.textContent ?? blockers[0].textContent;
      // biome-ignore lint/performance/useDomNodeTextContent: the rendered line breaks become sentence breaks.
      if (parts.waiting && !parts.waiting.hidden) return parts.waiting.innerText.replace(/\s*\n\s*/g, '. ');
      return '';
    },
  };
}
