// What the service worker shows for a push, and where a tap on it may lead.
//
// A plain script with no import or export (like outbox-core.js), loaded by the service worker
// through importScripts() and by tests/js as a module; it sets globalThis.KapNotifications.
// The server never puts clinical text in a push ("You have a reminder from Demo Clinic"): the
// detail is shown in the app after sign-in. A tap opens a path of this app only — a payload
// naming another site ("//evil.example", "/\evil.example", "https://…") opens the home page.

((global) => {
  'use strict';

  const HOME = '/';
  const DEFAULT_TITLE = 'KAP Companion';
  const DEFAULT_BODY = 'You have a reminder';
  const DEFAULT_TAG = 'kap-reminder';
  // Session mode is never navigated away from by a tap: the reminder opens in a new window.
  const SESSION_MODE = /^\/patient\/sessions\/\d+\/mode(\/|$)/;

  /** A character the URL parser drops or reads as "/" (tabs, new lines, a backslash). */
  function unsafe(path) {
    return [...path].some((ch) => ch === '\\' || ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f);
  }

  /** ``path`` when it is a path of ``origin``'s app, else the home page. */
  function safePath(path, origin) {
    if (typeof path !== 'string' || !path.startsWith('/') || path.startsWith('//') || unsafe(path)) {
      return HOME;
    }
    let url;
    try {
      url = new URL(path, origin);
    } catch {
      return HOME;
    }
    return url.origin === origin ? url.pathname + url.search + url.hash : HOME;
  }

  function text(value, fallback, max) {
    return typeof value === 'string' && value.trim() ? value.slice(0, max) : fallback;
  }

  /** The title and showNotification options for a push's JSON ``data`` (any shape, or none). */
  function fromPush(data, origin, icon) {
    const payload = data && typeof data === 'object' ? data : {};
    return {
      title: text(payload.title, DEFAULT_TITLE, 100),
      options: {
        body: text(payload.body, DEFAULT_BODY, 200),
        tag: text(payload.tag, DEFAULT_TAG, 64),
        icon,
        data: { path: safePath(payload.path, origin) },
      },
    };
  }

  /**
   * What a tap does with the app's open windows: focus one already at ``target`` (a full URL),
   * else bring one to it — unless it is in session mode — else open a new window.
   * Returns { action: 'focus' | 'navigate' | 'open', client }.
   */
  function tapAction(windows, target) {
    const targetUrl = new URL(target);
    const sameOrigin = windows.filter((client) => new URL(client.url).origin === targetUrl.origin);
    const there = sameOrigin.find((client) => client.url === targetUrl.href);
    if (there) return { action: 'focus', client: there };
    const free = sameOrigin.find((client) => !SESSION_MODE.test(new URL(client.url).pathname));
    if (free) return { action: 'navigate', client: free };
    return { action: 'open', client: null };
  }

  global.KapNotifications = Object.freeze({ HOME, fromPush, safePath, tapAction });
})(globalThis);
