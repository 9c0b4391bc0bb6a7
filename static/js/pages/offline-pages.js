// The offline pages (templates/pwa/*): filled in from this phone's device store, then handed to
// the same scripts as the online pages (prepare.js, integration.js, journal-form.js).

import { localLabel } from '../lib/dates.js';
import {
  clinicLine,
  clinicZone,
  crisisContacts,
  currentUser,
  sessionWithPending,
  storedSession,
  storedSessions,
} from '../lib/device.js';
import { readiness } from '../lib/offline.js';
import * as outbox from '../lib/outbox.js';
import { clockLabel, notTodayMessage, notYetTickable, tooEarlyMessage, windowState } from '../lib/start-window.js';

const page = document.body.dataset.shell;
const user = currentUser();
const $ = (selector, root = document) => root.querySelector(selector);
const sessionId = Number(location.pathname.match(/\/sessions\/(\d+)/)?.[1]) || null;

const zone = await clinicZone(user); // times as the clinic's pages show them, wherever the phone is
const longDate = (iso) => localLabel(iso, 'full', zone); // as the online page writes it

function setTime(node, iso) {
  if (!node || !iso) return;
  node.dateTime = iso;
  node.textContent = longDate(iso);
}

function list(node, texts) {
  node.replaceChildren(
    ...texts.map((text) => {
      const li = document.createElement('li');
      li.dir = 'auto'; // the clinic's or the patient's words, in any script
      li.textContent = text;
      return li;
    }),
  );
  node.hidden = texts.length === 0;
}

/** The stored session (with what waits in the outbox applied), or null. */
async function session(id) {
  const stored = id && (await storedSession(user, id).catch(() => null));
  return stored ? sessionWithPending(user, stored.data) : null;
}

function sessionUrl(data) {
  const base = `/patient/sessions/${data.id}`;
  if (data.status === 'session' || data.status === 'downtime') return `${base}/mode`;
  if (data.status === 'integration' || data.status === 'complete') return `${base}/integration`;
  return base;
}

async function home() {
  const [stored] = await storedSessions(user).catch(() => []);
  const data = stored ? await sessionWithPending(user, stored.data) : null;
  $('[data-no-session]').hidden = Boolean(data);
  if (data) {
    const card = $('[data-next-session]');
    setTime($('[data-when]', card), data.scheduled_at);
    $('[data-name]', card).textContent = data.template_name;
    $('[data-open]', card).href = sessionUrl(data);
    $('[data-ready]', card).hidden = !(await readiness(user, data.id)).ready;
    card.hidden = false;
  }
  const waiting = (await outbox.list()).filter((r) => r.kind.startsWith('journal.')).length;
  if (waiting) {
    $('[data-journal-count]').textContent = `${waiting} entr${waiting === 1 ? 'y' : 'ies'}: ${outbox.SAVED_LABEL}.`;
  }
}

async function prepare() {
  const data = await session(sessionId);
  if (!data) {
    $('[data-not-stored]').hidden = false;
    for (const part of document.querySelectorAll('[data-session-part]')) part.hidden = true;
    return;
  }
  if (data.status !== 'scheduled') return location.replace(sessionUrl(data));
  setTime($('[data-when]'), data.scheduled_at);
  $('[data-name]').textContent = data.template_name;
  const form = $('[data-checklist]');
  form.dataset.sessionId = String(data.id);
  const template = $('[data-item-template]');
  const items = data.checklist ?? [];
  $('[data-items]').replaceChildren(
    ...items.map((item) => {
      const row = template.content.firstElementChild.cloneNode(true);
      row.id = `item-${item.id}`;
      const box = $('input', row);
      // The stored state is the page's own (defaultChecked), not a tick made here: prepare.js
      // saves boxes that differ from it as ticks made before it ran.
      Object.assign(box, { value: String(item.id), defaultChecked: item.checked, checked: item.checked });
      Object.assign(box.dataset, { itemId: String(item.id), required: item.required ? 'y' : 'n' });
      $('[data-text]', row).textContent = item.required ? item.text : `${item.text} (optional)`;
      const described = [];
      if (item.help_text) {
        const help = $('[data-help]', row);
        help.id = `help-${item.id}`;
        help.textContent = item.help_text;
        help.hidden = false;
        described.push(help.id);
      }
      if (notYetTickable(item)) {
        // a day-of item before the day before the session
        const when = $('[data-when]', row);
        when.id = `when-${item.id}`;
        when.textContent = tooEarlyMessage(item.tickable_from, zone);
        when.hidden = false;
        box.disabled = true;
        described.push(when.id);
      }
      if (described.length) box.setAttribute('aria-describedby', described.join(' '));
      return row;
    }),
  );
  const missing = $('[data-missing-list]');
  missing.replaceChildren(
    ...items
      .filter((item) => item.required)
      .map((item) => {
        const li = document.createElement('li');
        li.dataset.missingItem = String(item.id);
        li.append(Object.assign(document.createElement('strong'), { textContent: item.text }));
        return li;
      }),
  );
  startCard(data);
  list($('[data-prompts]'), data.intention_prompts ?? []);
  $('#text').defaultValue = data.intention ?? ''; // as the server renders it: not the patient's typing
  await import('./prepare.js');
}

/** The start card as the server would show it: the window, and staff check-in (prepare.js keeps it). */
function startCard(data) {
  const card = $('[data-start-card]');
  const span = data.start_window ?? {};
  Object.assign(card.dataset, { opensAt: span.opens_at ?? '', closesAt: span.closes_at ?? '' });
  card.dataset.window = windowState(span);
  $('[data-not-today]', card).textContent = notTodayMessage(span, Date.now(), zone);
  card.dataset.checkIn = !data.requires_check_in ? 'none' : data.checked_in_at ? 'done' : 'waiting';
  if (data.checked_in_at) {
    const time = $('[data-checked-in-at]', card);
    time.dateTime = data.checked_in_at;
    time.textContent = clockLabel(data.checked_in_at, zone);
  }
}

async function integration() {
  const data = await session(sessionId);
  if (!data) return;
  list($('[data-prompts]'), data.integration_prompts ?? []);
  $('[data-prompts-card]').hidden = !(data.integration_prompts ?? []).length;
  $('[data-write]').href = `/patient/journal/new?session_id=${data.id}`;
  if (data.status === 'integration') {
    $('[data-complete-form]').dataset.sessionId = String(data.id);
    $('[data-complete-card]').hidden = false;
    await import('./integration.js');
  }
}

async function crisis() {
  const clinic = user ? await clinicLine(user) : null;
  const clinicCards = [];
  if (clinic?.phone) {
    // the clinic's own line first, above the national lines
    const card = $('[data-clinic-template]').content.firstElementChild.cloneNode(true);
    $('[data-name]', card).textContent = clinic.name;
    Object.assign($('[data-phone]', card), { href: clinic.tel, textContent: `Call ${clinic.name}: ${clinic.phone}` });
    clinicCards.push(card);
  }
  const contacts = user ? await crisisContacts(user) : [];
  const template = $('[data-contact-template]');
  $('[data-contacts]').replaceChildren(
    ...clinicCards,
    ...contacts.map((contact) => {
      const card = template.content.firstElementChild.cloneNode(true);
      $('[data-name]', card).textContent = contact.name;
      if (contact.description)
        Object.assign($('[data-description]', card), { textContent: contact.description, hidden: false });
      if (contact.phone)
        Object.assign($('[data-phone]', card), {
          href: `tel:${contact.phone}`,
          textContent: `Call ${contact.phone}`,
          hidden: false,
        });
      if (contact.sms)
        Object.assign($('[data-sms]', card), {
          href: `sms:${contact.sms}`,
          textContent: `Text ${contact.sms}`,
          hidden: false,
        });
      return card;
    }),
  );
}

for (const button of document.querySelectorAll('[data-offline-reload]')) {
  button.addEventListener('click', () => location.reload());
}

/**
 * "No connection" is true only while it is: once the phone is online and the server answers,
 * the banner says so (this page still shows what is on the phone until it is reloaded).
 */
async function watchConnection() {
  const banner = $('[data-offline-banner]');
  if (!banner) return;
  const text = $('.offline-banner__text', banner);
  const button = $('[data-offline-reload]', banner);
  const offlineText = text.innerHTML;
  const reachable = async () => {
    try {
      const response = await fetch('/healthz', { cache: 'no-store', credentials: 'omit' });
      return response.ok;
    } catch {
      return false;
    }
  };
  const check = async () => {
    const back = navigator.onLine && (await reachable());
    banner.dataset.state = back ? 'online' : 'offline';
    if (back) {
      text.textContent = 'Connected again. Reload to see everything from your clinic.';
      button.textContent = 'Reload';
    } else {
      text.innerHTML = offlineText; // the page's own markup, not data
      button.textContent = 'Try again';
    }
  };
  addEventListener('online', check);
  addEventListener('offline', check);
  await check();
}
watchConnection();

const pages = { home, prepare, integration, crisis };
if (page === 'crisis') {
  crisis();
} else if (page === 'offline') {
  const links = $('[data-offline-links]');
  if (links) links.hidden = !user;
} else if (!user) {
  $('[data-nobody]').hidden = false;
} else {
  $('[data-shell-body]').hidden = false;
  pages[page]?.().catch((error) => console.error('Offline page', error));
}
