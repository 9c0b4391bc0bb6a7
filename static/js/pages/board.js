// Session board: fetch the server-rendered rows every few seconds and patch in what changed.
//
// Parts of the page carry data-key. A part whose children are keyed is patched child by
// child; any other part is swapped whole, unless someone is busy in it (focus inside, a
// changed field, an error shown), so typing and open forms are never lost. Nothing is
// fetched while a field on the board has focus or was typed into in the last few seconds.
// A board in a background tab keeps fetching (the browser slows it down): a new Call staff
// must still reach the tab's title and the call sound.
//
// Calls nobody has acknowledged yet are counted in the title ("(1) Call staff · Session
// board") and ring: at once when a new one appears, then every RING_EVERY_MS until each is
// acknowledged (board-sound.js; the sound needs one press of "Turn on call sound").

import { callSound } from '../lib/board-sound.js';

const TYPING_PAUSE_MS = 8000;
const RING_EVERY_MS = 10000;
const FIELDS = 'input, textarea, select';
const UNACKNOWLEDGED = '.call:not(.call--acknowledged)';

function startRefreshing(root) {
  const url = root.dataset.rowsUrl;
  const interval = Number(root.dataset.intervalMs) || 5000;
  const status = document.querySelector('[data-board-status]');
  const clock = timeFormat(root.dataset.timezone);
  const baseTitle = document.title;
  const sound = callSound(document.querySelector('[data-call-sound]'));
  const heard = new Set(); // unacknowledged calls this page has already rung for
  let lastRing = 0;
  let lastHtml = null;
  let lastTyped = 0;
  let timer = null;

  root.addEventListener('input', () => {
    lastTyped = Date.now();
  });

  const fieldFocused = () => {
    const active = document.activeElement;
    return Boolean(active && root.contains(active) && active.matches(FIELDS));
  };

  const say = (text) => {
    if (status) status.textContent = text;
  };

  const ring = () => {
    lastRing = Date.now();
    sound.ring();
  };

  /** Title and sound for the calls on show; a call the page has not rung for rings now. */
  const showCalls = () => {
    const waiting = [...root.querySelectorAll(UNACKNOWLEDGED)].map((call) => call.id);
    document.title = waiting.length ? `(${waiting.length}) Call staff · ${baseTitle}` : baseTitle;
    const fresh = waiting.filter((id) => !heard.has(id));
    heard.clear();
    for (const id of waiting) heard.add(id);
    if (fresh.length) ring();
  };

  setInterval(() => {
    if (root.querySelector(UNACKNOWLEDGED) && Date.now() - lastRing >= RING_EVERY_MS - 500) ring();
  }, 1000);

  async function tick() {
    timer = null;
    if (fieldFocused() || Date.now() - lastTyped < TYPING_PAUSE_MS) {
      schedule();
      return;
    }
    try {
      const response = await fetch(url, {
        credentials: 'same-origin',
        // Passive: a board left on the wall is not someone at work, so idle sign-out still
        // applies (kap/auth/sessions.py PASSIVE_HEADER).
        headers: { Accept: 'text/html', 'X-KAP-Passive': '1' },
      });
      if (response.redirected || response.status === 401) {
        say('Signed out. Reload the page to sign in again.');
        return; // stop: the board must not pretend to be live
      }
      if (!response.ok) throw new Error(String(response.status));
      const fresh = document.createElement('template');
      fresh.innerHTML = await response.text();
      // Each answer carries a freshly signed CSRF token; the page's own is as good, and
      // using it keeps unchanged forms identical, so they are left alone.
      const token = document.querySelector('meta[name="csrf-token"]')?.content;
      if (token) {
        for (const input of fresh.content.querySelectorAll('input[name="csrf_token"]')) {
          input.setAttribute('value', token);
        }
      }
      const html = fresh.innerHTML;
      if (html !== lastHtml && !fieldFocused()) {
        const next = root.cloneNode(false);
        next.append(fresh.content);
        keptBusy = false;
        patch(root, next);
        lastHtml = keptBusy ? null : html; // a part left alone is patched again next time
        showCalls();
      }
      say(`Live: updates every ${Math.round(interval / 1000)} s, last ${clock()}.`);
    } catch {
      say(`Could not reach the server at ${clock()}; trying again.`);
    }
    schedule();
  }

  function schedule() {
    if (timer === null) timer = setTimeout(tick, interval);
  }

  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && timer !== null) {
      clearTimeout(timer);
      timer = null;
      tick();
    }
  });
  showCalls();
  say(`Live: updates every ${Math.round(interval / 1000)} s.`);
  schedule();
}

/** Times as the rest of the board shows them: 24-hour, in the clinic's time zone. */
function timeFormat(timeZone) {
  const options = { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' };
  let format;
  try {
    format = new Intl.DateTimeFormat('en-GB', { ...options, timeZone });
  } catch {
    format = new Intl.DateTimeFormat('en-GB', options); // unknown zone: the device's own
  }
  return () => format.format(new Date());
}

let keptBusy = false;

const keyOf = (element, index) => element.dataset.key ?? `${element.tagName}#${index}`;

/** Someone is using this part: focus inside, a changed field, or an error on show. */
function busy(element) {
  const active = document.activeElement;
  if (active && active !== document.body && element.contains(active)) return true;
  if (element.querySelector('.field--invalid, .form-errors')) return true;
  return [...element.querySelectorAll(FIELDS)].some((field) =>
    field.type === 'checkbox' || field.type === 'radio'
      ? field.checked !== field.defaultChecked
      : field.value !== field.defaultValue,
  );
}

/** Keep <details> the person opened or closed as they left them. */
function keepOpenState(current, fresh) {
  const all = (element) => [element, ...element.querySelectorAll('details[id]')];
  for (const details of all(current)) {
    if (details.tagName !== 'DETAILS' || !details.id) continue;
    const twin = all(fresh).find((candidate) => candidate.id === details.id);
    if (twin) twin.open = details.open;
  }
}

/** Make ``current`` look like ``fresh``; returns the node now in the page. */
function patch(current, fresh) {
  if (current.isEqualNode(fresh)) return current;
  const keyed = [...fresh.children].some((child) => child.dataset.key);
  if (!keyed || current.tagName !== fresh.tagName) {
    if (busy(current)) {
      keptBusy = true;
      return current;
    }
    keepOpenState(current, fresh);
    current.replaceWith(fresh);
    return fresh;
  }
  for (const { name, value } of [...fresh.attributes]) {
    if (current.getAttribute(name) !== value) current.setAttribute(name, value);
  }
  for (const { name } of [...current.attributes]) {
    if (!fresh.hasAttribute(name)) current.removeAttribute(name);
  }
  const old = new Map([...current.children].map((child, i) => [keyOf(child, i), child]));
  const wanted = [...fresh.children].map((child, i) => {
    const key = keyOf(child, i);
    const mine = old.get(key);
    old.delete(key);
    return mine ? patch(mine, child) : child;
  });
  for (const leftover of old.values()) leftover.remove();
  wanted.forEach((node, i) => {
    const here = current.children[i];
    if (here !== node) current.insertBefore(node, here ?? null);
  });
  return current;
}

const printButton = document.querySelector('[data-print]');
if (printButton) {
  printButton.hidden = false;
  printButton.addEventListener('click', () => window.print());
}

const board = document.querySelector('[data-board]');
if (board) startRefreshing(board);
