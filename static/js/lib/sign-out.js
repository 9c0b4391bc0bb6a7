// Signing out of a phone: send what waits, warn about what cannot be sent, then remove
// everything this person kept on it (caches, IndexedDB, storage) before the server ends the
// session and sends Clear-Site-Data. Loaded by pages/pwa.js on the first sign-out.

function ask(button, question, details, note, confirmText, cancelText) {
  return new Promise((resolve) => {
    const dialog = document.createElement('dialog');
    dialog.className = 'dialog';
    dialog.setAttribute('aria-labelledby', 'signout-title');
    const title = document.createElement('h2');
    title.id = 'signout-title';
    title.textContent = question;
    const list = document.createElement('ul');
    for (const line of details) {
      const li = document.createElement('li');
      li.textContent = line;
      list.append(li);
    }
    const warning = document.createElement('p');
    warning.textContent = note;
    const actions = document.createElement('p');
    actions.className = 'dialog__actions';
    const close = (value) => {
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    const stay = button(cancelText, () => close(false));
    stay.classList.add('button--primary');
    const go = button(confirmText, () => close(true));
    go.classList.add('button--danger');
    actions.append(stay, go);
    dialog.append(title, list, warning, actions);
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault(); // Escape: the same as "Stay signed in"
      close(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    stay.focus();
  });
}

async function reachable() {
  try {
    const response = await fetch('/healthz', { cache: 'no-store' });
    return response.ok;
  } catch {
    return false;
  }
}

function describeLeft(records, drafts) {
  const counts = new Map();
  for (const r of records) counts.set(r.label || 'Change', (counts.get(r.label || 'Change') ?? 0) + 1);
  if (drafts.length) counts.set('Unfinished draft', drafts.length);
  return [...counts].map(([label, n]) => (n === 1 ? `1 × ${label}` : `${n} × ${label}`));
}

/** This device stops getting the person's notifications (best effort: Clear-Site-Data
 * unregisters the service worker anyway, and the server forgets a subscription the push
 * service calls gone). */
async function forgetPushSubscription() {
  try {
    const registration = await navigator.serviceWorker?.getRegistration();
    if (registration?.pushManager) await (await import('./push-device.js')).forgetThisDevice(registration);
  } catch {
    /* signing out goes on */
  }
}

/**
 * Signs out through ``form`` (the page's sign-out form), or stays signed in when offline or
 * when the person chooses to keep writing that has not reached the clinic.
 * @param {HTMLFormElement} form
 * @param {{say: Function, button: Function, beforeWipe: Function}} page  the page's status
 *   line, its button maker, and what to do just before this phone's data is removed
 */
export async function signOut(form, { say, button, beforeWipe }) {
  if (!(await reachable())) {
    say(
      'signin',
      'You are offline. Signing out needs a connection so your sign-in can be ended; nothing was removed.',
      null,
    );
    return;
  }
  const device = await import('./device.js');
  const user = device.currentUser();
  if (user) {
    const outbox = await import('./outbox.js');
    say('sync', 'Sending what is saved on this phone…');
    await outbox.flushNow();
    say('sync', null);
    const [left, drafts] = await Promise.all([outbox.list(), device.drafts.all(user).catch(() => [])]);
    if (left.length || drafts.length) {
      const go = await ask(
        button,
        'Some of your writing has not reached the clinic',
        describeLeft(left, drafts),
        'Signing out deletes it from this phone for good. Stay signed in to keep it and send it later.',
        'Sign out and delete it',
        'Stay signed in',
      );
      if (!go) return;
    }
  }
  await forgetPushSubscription();
  beforeWipe();
  await device.wipe();
  HTMLFormElement.prototype.submit.call(form); // the server ends the session, sends Clear-Site-Data
}
