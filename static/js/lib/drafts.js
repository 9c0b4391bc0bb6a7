// Drafts: what a patient types is saved on the phone as it is typed, so a crash, a reload or
// a dead battery loses nothing. A draft is deleted only once its text is safely in the outbox.

import { currentUser, drafts } from './device.js';

const SAVE_DELAY_MS = 250;
export const DRAFT_LABEL = 'Draft saved on this phone';

/**
 * Keeps the named fields of `form` as the draft `key`.
 * @param {HTMLFormElement} form
 * @param {string} key  e.g. "journal-new", "journal-edit:12", "intention:5"
 * @param {object} o
 * @param {string[]} o.fields  names of the inputs to keep
 * @param {() => object} [o.extra]  more to keep with it (client_id, base_revision ...)
 * @param {(draft) => boolean} [o.accept]  false: the draft is stale, deleted instead of restored
 * @param {(draft) => void} [o.onRestore]  called after a draft has been put back
 * @param {(text: string) => void} [o.onStatus]  "Draft saved on this phone", or a problem
 */
export function bindDraft(
  form,
  key,
  { fields, extra = () => ({}), accept = () => true, onRestore, onStatus = () => {} },
) {
  const user = currentUser();
  let timer = null;
  let dirty = false;
  let cleared = false;
  const inputs = () => fields.map((name) => form.elements.namedItem(name)).filter(Boolean);

  const values = () => {
    const out = {};
    for (const el of inputs()) out[el.name] = el.type === 'checkbox' ? el.checked : el.value;
    return out;
  };

  async function save() {
    clearTimeout(timer);
    timer = null;
    if (!user || !dirty || cleared) return;
    dirty = false;
    try {
      await drafts.put(user, key, { fields: values(), ...extra() });
      if (!cleared) onStatus(DRAFT_LABEL);
    } catch {
      onStatus('Could not save a draft on this phone. Keep this page open until you save.');
    }
  }

  const changed = () => {
    dirty = true;
    clearTimeout(timer);
    timer = setTimeout(save, SAVE_DELAY_MS);
  };

  // Words typed before this ran (a slow phone, the page's script still loading) count as
  // typing: they are saved, and a draft coming back does not overwrite them.
  const typedEarly = inputs().some(
    (el) => (el.tagName === 'TEXTAREA' || el.type === 'text') && el.value !== el.defaultValue,
  );
  let touched = typedEarly; // typing before the draft is back wins: it is newer
  const touch = () => (touched = true);
  form.addEventListener('input', touch, { once: true });

  const ready = (async () => {
    if (!user) return null;
    let draft = await drafts.get(user, key).catch(() => null);
    form.removeEventListener('input', touch);
    if (draft && !accept(draft)) {
      await drafts.delete(user, key).catch(() => {});
      draft = null;
    }
    if (draft?.fields && !touched) {
      for (const el of inputs()) {
        if (!(el.name in draft.fields)) continue;
        if (el.type === 'checkbox') el.checked = Boolean(draft.fields[el.name]);
        else el.value = draft.fields[el.name];
      }
      onRestore?.(draft);
    }
    return draft ?? null;
  })();

  form.addEventListener('input', changed);
  form.addEventListener('change', changed);
  if (typedEarly) changed();
  // Leaving or hiding the page (the app switcher, a locked screen) saves at once.
  addEventListener('pagehide', save);
  document.addEventListener('visibilitychange', () => document.visibilityState === 'hidden' && save());

  return {
    /** Resolves with the restored draft (or null) once it has been put back. */
    ready,
    values,
    saveNow: () => {
      dirty = true;
      return save();
    },
    /** The text is in the outbox now: the draft can go. */
    async clear() {
      cleared = true;
      clearTimeout(timer);
      if (user) await drafts.delete(user, key).catch(() => {});
    },
  };
}
