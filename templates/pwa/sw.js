// KAP Companion service worker (served from /sw.js by kap/pwa/views.py; STYLE habit 8).
//
// Conservative on purpose: it precaches the app shell (an explicit list, one versioned cache),
// answers pages network first with an offline page as the fallback, and never stores a
// signed-in page or an API answer. What the offline features need of a patient (the next
// session, its audio, the outbox, drafts) lives in that patient's IndexedDB database, written by
// the pages, not here.
'use strict';

const VERSION = {{ version|tojson }};
const SHELL_CACHE = `kap-shell-${VERSION}`;
const PRECACHE = {{ precache|tojson }};
const OFFLINE_URL = {{ offline_url|tojson }};
const SHELLS = {{ shells|tojson }};
// A patient page with an offline version waits this long for a slow network, then shows that.
const NETWORK_TIMEOUT_MS = 4000;

importScripts(
  {{ url_for('static', filename='js/lib/device-store.js')|tojson }},
  {{ url_for('static', filename='js/lib/outbox-core.js')|tojson }},
  {{ url_for('static', filename='js/lib/notifications.js')|tojson }},
);
const NOTIFICATION_ICON = {{ url_for('static', filename='icons/icon-192.png')|tojson }};

const PRECACHED_PATHS = new Set(PRECACHE);
// Which offline page stands in for which patient page.
const ROUTES = [
  [/^\/(patient\/)?$/, 'home'],
  [/^\/patient\/sessions\/\d+$/, 'prepare'],
  [/^\/patient\/sessions\/\d+\/mode$/, 'session'],
  [/^\/patient\/sessions\/\d+\/integration$/, 'integration'],
  [/^\/patient\/journal$/, 'journal'],
  [/^\/patient\/journal\/new$/, 'journal-new'],
  [/^\/patient\/crisis-support$/, 'crisis'],
];

function shellFor(url) {
  const route = ROUTES.find(([pattern]) => pattern.test(url.pathname));
  return route ? SHELLS[route[1]] : null;
}

self.addEventListener('install', (event) => {
  // Without cookies: the cached pages must hold nobody's data. 'reload' skips the HTTP cache.
  const requests = PRECACHE.map((url) => new Request(url, { credentials: 'omit', cache: 'reload' }));
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.addAll(requests)));
  // No skipWaiting(): a new version waits until the person chooses "Reload" (or closes the app),
  // so a running session never has its scripts swapped underneath it.
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      // This worker owns the origin's Cache Storage: every other cache is an older version.
      for (const name of await caches.keys()) if (name !== SHELL_CACHE) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('message', (event) => {
  if (event.data?.type === 'skip-waiting') self.skipWaiting();
  if (event.data?.type === 'version') event.ports[0]?.postMessage({ version: VERSION });
});

function fromShell(url) {
  return caches.open(SHELL_CACHE).then((cache) => cache.match(url));
}

function timeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('network timeout')), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

async function page(request, url) {
  const shell = shellFor(url);
  // Session mode started on the phone while offline: straight from the cache, under a second.
  if (shell && url.searchParams.has('device')) {
    const cached = await fromShell(shell);
    if (cached) return cached;
  }
  try {
    const network = fetch(request);
    const response = await (shell ? timeout(network, NETWORK_TIMEOUT_MS) : network);
    // The server is there but failing (its database is down): this phone's copy serves better.
    if (shell && response.status >= 500) return (await fromShell(shell)) || response;
    return response;
  } catch {
    return (shell && (await fromShell(shell))) || (await fromShell(OFFLINE_URL)) || Response.error();
  }
}

async function asset(request, url) {
  return (await fromShell(url.pathname)) || fetch(request);
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return; // writes go to the network (the outbox retries them)
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === 'navigate') {
    event.respondWith(page(request, url));
  } else if (PRECACHED_PATHS.has(url.pathname) && !url.search) {
    event.respondWith(asset(request, url));
  }
  // Anything else (the API, audio, uploads) goes to the network untouched and is never stored.
});

// Background Sync (Chromium): send the outbox even when no page of the app is open.
self.addEventListener('sync', (event) => {
  if (event.tag !== 'kap-outbox') return;
  event.waitUntil(
    self.KapOutbox.flushSignedIn().then((result) => {
      if (result.state === 'offline' || result.state === 'retry') throw new Error('outbox not sent yet');
    }),
  );
});

// Web Push: a reminder arrived. It never carries clinical text (the server sends only "You have
// a reminder" and a path); what it is about shows in the app after sign-in.
self.addEventListener('push', (event) => {
  let data = null;
  try {
    data = event.data ? event.data.json() : null;
  } catch {
    data = null; // not JSON: still show the generic notice (a silent push is not allowed)
  }
  const { title, options } = self.KapNotifications.fromPush(data, self.location.origin, NOTIFICATION_ICON);
  event.waitUntil(self.registration.showNotification(title, options));
});

// A tap opens the reminder's page of this app (never another site), reusing an open window.
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const origin = self.location.origin;
  const target = new URL(self.KapNotifications.safePath(event.notification.data?.path, origin), origin).href;
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      const { action, client } = self.KapNotifications.tapAction(windows, target);
      if (action === 'focus') return client.focus();
      if (action === 'navigate') {
        const focused = await client.focus();
        // navigate() works on windows this worker controls; any other opens a new window.
        if (focused.navigate) return focused.navigate(target).catch(() => self.clients.openWindow(target));
      }
      return self.clients.openWindow(target);
    })(),
  );
});
