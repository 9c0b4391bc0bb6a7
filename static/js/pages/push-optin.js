// "This device" on the Reminders page: turn this device's notifications on or off.
//
// On: ask permission → wait for the service worker → pushManager.subscribe() with the server's
// VAPID key → save the subscription (POST /api/v1/me/push-subscriptions). Off: forget this
// device on the server and in the browser (lib/push-device.js, which sign-out uses too).
// Every way this can fail ends in words the person can act on; the section's
// data-push-state names the outcome for tests.

import { api } from '../lib/api.js';
import { forgetThisDevice } from '../lib/push-device.js';

const section = document.querySelector('[data-push-optin]');
const WAIT_MS = 15000;

const SAY = {
  unsupported:
    'This browser cannot show notifications from KAP Companion. E-mail reminders or the calendar work instead.',
  iphone:
    'On iPhone, add KAP Companion to your Home Screen first (Share → Add to Home Screen), then open it from there. Notifications need iOS 16.4 or later.',
  denied:
    'Notifications are blocked for KAP Companion in this browser. Allow them in the site settings, then try again.',
  dismissed: 'Notifications were not allowed. Tap the button again when you want them.',
  'no-worker': 'The app is still setting up on this device. Reload the page and try again.',
  'subscribe-failed':
    'This device could not reach its notification service, so notifications are not on. Try again later; e-mail reminders or the calendar work meanwhile.',
  offline: 'No connection to the clinic’s server. Try again when you are online.',
  working: 'Turning on notifications…',
  on: 'Notifications are on for this device',
  off: 'Notifications are off for this device.',
};

/** True on an iPhone or iPad (iPadOS reports itself as a Mac with a touch screen). */
function isAppleMobile() {
  return (
    /iPhone|iPad|iPod/.test(navigator.userAgent) || (navigator.platform === 'MacIntel' && navigator.maxTouchPoints > 1)
  );
}

/** True when the app runs from the Home Screen, where iOS allows Web Push. */
function isStandalone() {
  return navigator.standalone === true || matchMedia('(display-mode: standalone)').matches;
}

function pushSupported() {
  return 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
}

/** The VAPID key (base64url) as the bytes subscribe() wants (Safari takes no string). */
function keyBytes(base64url) {
  const base64 = base64url.replace(/-/g, '+').replace(/_/g, '/');
  const raw = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(raw, (ch) => ch.charCodeAt(0));
}

function sameKey(subscription, key) {
  const current = subscription.options?.applicationServerKey;
  if (!current) return true; // not told: assume it is ours
  const bytes = new Uint8Array(current);
  return bytes.length === key.length && bytes.every((value, index) => value === key[index]);
}

function within(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(Object.assign(new Error('timeout'), { name: 'TimeoutError' })), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

function start(root) {
  const status = root.querySelector('[data-push-status]');
  const onButton = root.querySelector('[data-push-on]');
  const offButton = root.querySelector('[data-push-off]');
  const url = root.dataset.subscriptionsUrl;
  const key = keyBytes(root.dataset.applicationServerKey);

  function show(state, text = SAY[state]) {
    root.dataset.pushState = state;
    status.textContent = text;
    status.hidden = !text;
    status.classList.toggle('flash--error', !['on', 'off', 'working', 'ready'].includes(state));
    onButton.hidden = state === 'on' || state === 'unsupported' || state === 'iphone';
    offButton.hidden = state !== 'on';
    onButton.disabled = offButton.disabled = state === 'working';
  }

  function refused(error) {
    if (!error.status) return show('offline');
    return show('server-refused', `The clinic’s server did not accept this device: ${error.message}`);
  }

  async function registration() {
    try {
      return await within(navigator.serviceWorker.ready, WAIT_MS);
    } catch {
      return null;
    }
  }

  async function turnOn() {
    show('working');
    const permission = await Notification.requestPermission();
    if (permission !== 'granted') return show(permission === 'denied' ? 'denied' : 'dismissed');
    const worker = await registration();
    if (!worker) return show('no-worker');
    let subscription;
    try {
      subscription = await worker.pushManager.getSubscription();
      if (subscription && !sameKey(subscription, key)) {
        await subscription.unsubscribe(); // made with a key the server no longer signs with
        subscription = null;
      }
      subscription ??= await within(
        worker.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key }),
        WAIT_MS,
      );
    } catch (error) {
      root.dataset.pushError = error.name || 'Error';
      return show('subscribe-failed');
    }
    try {
      await api.post(url, subscription.toJSON());
    } catch (error) {
      return refused(error);
    }
    return show('on');
  }

  async function turnOff() {
    show('working', 'Turning off notifications…');
    try {
      await forgetThisDevice(await registration(), url);
    } catch (error) {
      return refused(error);
    }
    return show('off');
  }

  /** What the page opens with; a device already subscribed is saved again (keys may change). */
  async function opening() {
    if (!pushSupported()) return show(isAppleMobile() && !isStandalone() ? 'iphone' : 'unsupported');
    if (Notification.permission === 'denied') return show('denied');
    const worker = Notification.permission === 'granted' ? await registration() : null;
    const subscription = await worker?.pushManager.getSubscription();
    if (!subscription) return show('ready', '');
    try {
      await api.post(url, subscription.toJSON());
    } catch (error) {
      return refused(error);
    }
    return show('on');
  }

  onButton.addEventListener('click', () => turnOn().catch(() => show('subscribe-failed')));
  offButton.addEventListener('click', () => turnOff().catch(() => show('offline')));
  opening().catch(() => show('ready', ''));
}

if (section?.dataset.applicationServerKey) start(section);
