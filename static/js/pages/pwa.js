// Every page: installs the service worker, says when the app works offline and when an update
// is waiting, keeps a patient's outbox flowing, and signs out without leaving anything behind.

const box = document.getElementById('app-status');
const patient = document.querySelector('meta[name="kap-patient"]')?.content ?? null;
const shell = Boolean(document.body.dataset.shell);
const quiet = document.body.classList.contains('session-mode'); // a dim room: no nudges
const messages = new Map(); // slot -> {text, action?, transient?}
const ORDER = ['update', 'signin', 'attention', 'sync', 'ready'];
let acceptedUpdate = false;

function render() {
  if (!box) return;
  const slot = ORDER.find((name) => messages.has(name));
  box.replaceChildren();
  box.hidden = !slot || quiet;
  if (!slot) return;
  const { text, action } = messages.get(slot);
  box.dataset.kind = slot;
  const p = document.createElement('p');
  p.className = 'app-status__text';
  p.textContent = text;
  box.append(p);
  if (action) box.append(action);
}

function say(slot, text, action = null, forMs = 0) {
  if (text) messages.set(slot, { text, action });
  else messages.delete(slot);
  render();
  if (text && forMs) setTimeout(() => messages.get(slot)?.text === text && say(slot, null), forMs);
}

function link(text, href) {
  const a = document.createElement('a');
  a.className = 'app-status__action';
  a.href = href;
  a.textContent = text;
  return a;
}

function button(text, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'button app-status__action';
  b.textContent = text;
  b.addEventListener('click', onClick);
  return b;
}

/**
 * "Ready to use offline" is for patients (clinicians' pages are never kept offline), and not on
 * a page with a session's own readiness line: the app shell being ready says nothing about
 * the session's music, and the two must never disagree.
 */
function mayAnnounceReady() {
  return (Boolean(patient) || shell) && !document.querySelector('[data-offline-ready], .offline-ready');
}

// ---- Service worker: install, "Ready to use offline", "Update available — reload".
function offerUpdate(worker) {
  say(
    'update',
    'Update available — reload',
    button('Reload', () => {
      acceptedUpdate = true;
      worker.postMessage({ type: 'skip-waiting' });
    }),
  );
}

async function registerWorker() {
  if (!('serviceWorker' in navigator)) return;
  const container = navigator.serviceWorker;
  const firstInstall = !container.controller;
  container.addEventListener('controllerchange', () => {
    if (acceptedUpdate) location.reload(); // only ever after the person chose to
  });
  let registration;
  try {
    registration = await container.register('/sw.js', { scope: '/', updateViaCache: 'none' });
  } catch (error) {
    console.warn('Service worker not registered:', error);
    return;
  }
  if (registration.waiting && container.controller) offerUpdate(registration.waiting);
  const watch = (worker) =>
    worker?.addEventListener('statechange', () => {
      // Installed while an older worker controls the page: an update, whether or not that
      // worker already controlled the page when it loaded (it may have claimed it since).
      if (worker.state === 'installed' && container.controller && container.controller !== worker) {
        offerUpdate(worker);
      }
      if (worker.state === 'activated' && firstInstall && mayAnnounceReady()) {
        say('ready', 'Ready to use offline', null, 6000);
      }
    });
  registration.addEventListener('updatefound', () => watch(registration.installing));
  if (firstInstall) watch(registration.installing); // installing since an earlier page
  // An installed app is rarely navigated: look for a new version when it comes back to the front.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') registration.update().catch(() => {});
  });
}

// ---- A patient's outbox: keep it flowing and say where things stand.
async function startOutbox() {
  const device = await import('../lib/device.js');
  if (patient) await device.adopt(patient).catch(() => {});
  if (!device.currentUser()) return null;
  const outbox = await import('../lib/outbox.js');
  const update = async () => {
    const { pending, attention } = await outbox.counts().catch(() => ({ pending: 0, attention: 0 }));
    const items = (n) => `${n} item${n === 1 ? '' : 's'}`;
    const state = outbox.lastState();
    const here = encodeURIComponent(location.pathname + location.search);
    say(
      'signin',
      pending && state === 'signed-out'
        ? `Your sign-in has ended. Sign in again to send ${items(pending)} saved on this phone.`
        : null,
      link('Sign in', `/signin?next=${here}`),
    );
    say(
      'attention',
      attention ? `${items(attention)} could not be sent and need${attention === 1 ? 's' : ''} you.` : null,
      link('See what', '/patient/journal#on-this-phone'),
    );
    say(
      'sync',
      pending && state !== 'signed-out'
        ? `${items(pending)} waiting to sync${navigator.onLine ? '' : ' — no connection'}`
        : null,
    );
  };
  outbox.on('change', update);
  outbox.on('state', update);
  addEventListener('online', update);
  addEventListener('offline', update);
  outbox.startSync();
  update();
  if (patient) {
    device.keepCrisisContacts(patient).catch(() => {});
    device.keepClinicZone(patient).catch(() => {});
  }
  return { device, outbox };
}

// ---- A message carried across a navigation (e.g. "Saved." after a journal entry syncs).
function showCarriedMessage() {
  let carried = null;
  try {
    carried = JSON.parse(sessionStorage.getItem('kap:flash') || 'null');
    sessionStorage.removeItem('kap:flash');
  } catch {
    return;
  }
  if (!carried?.message) return;
  const main = document.getElementById('main');
  const holder = document.createElement('div');
  holder.className = 'flashes';
  holder.setAttribute('role', 'status');
  const p = document.createElement('p');
  p.className = 'flash flash--info';
  p.textContent = `${carried.message} `;
  if (carried.label) {
    const label = document.createElement('span');
    label.className = 'sync-label sync-label--synced';
    label.textContent = carried.label;
    p.append(label);
  }
  holder.append(p);
  main?.prepend(holder);
}

// ---- Sign-out: send what waits, warn about what cannot be sent, then remove everything. The
// work is in lib/sign-out.js, loaded on the first sign-out (few page views end in one; the
// service worker precaches it, so it loads offline too).
let signingOut = false;
let leaving = false; // this page is signing out: the wipe's own notice is not news to it
document.addEventListener(
  'submit',
  async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.matches('form[action$="/signout"]')) return;
    event.preventDefault();
    if (signingOut) return;
    signingOut = true;
    try {
      const { signOut } = await import('../lib/sign-out.js');
      await signOut(form, { say, button, beforeWipe: () => (leaving = true) });
    } catch (error) {
      console.warn('Sign-out failed:', error);
      say('signin', 'Could not sign out just now; nothing was removed. Try again.', null);
    } finally {
      signingOut = false;
    }
  },
  true,
);

// Back after sign-out (or another patient signing in): never show a page from memory.
addEventListener('pageshow', (event) => {
  if (!event.persisted || !patient) return;
  let owner = null;
  try {
    owner = localStorage.getItem('kap:device-user');
  } catch {
    /* storage blocked */
  }
  if (owner !== patient) location.reload();
});

showCarriedMessage();
registerWorker();
if (!patient && !shell) {
  // Nobody (or not a patient) is signed in here: what a patient kept for offline use goes.
  import('../lib/device.js').then((device) => device.forgetSignedOut()).catch(() => {});
}
if (patient || shell) {
  startOutbox()
    .then((parts) => {
      // Signed out in another tab: this page must not keep writing to the phone.
      parts?.device.core.subscribe(
        (message) => message.type === 'signed-out' && !leaving && location.replace('/signin'),
      );
    })
    .catch((error) => console.warn('Outbox not started:', error));
}
