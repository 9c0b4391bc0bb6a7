// Call staff in session mode: confirm inline, send through the outbox (ahead of everything else,
// once per client_id), and show the call's real state and nothing more:
//   calling      the request is in flight
//   queued       still in this phone's outbox: nobody has been reached
//   failed       the server refused it (kept in the outbox, shown on the home page)
//   sent         the server has it; no member of staff has said they are on it yet
//   acknowledged a member of staff has seen it (their name and the time)
//   resolved     staff closed it
// While a call is open and the page is visible, the server is asked every few seconds.
//
// Loaded with session mode's first screen, not lazily: pressing Call staff with no signal and
// no service worker yet must still work.

const POLL_MS = 5000;

/** "14:32": a time as the clinic reads it (24-hour, in its zone when the browser knows it). */
export function clockTime(iso, zone) {
  const moment = new Date(iso);
  if (!iso || Number.isNaN(moment.getTime())) return '';
  const options = { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
  try {
    return moment.toLocaleTimeString('en-GB', { ...options, timeZone: zone || undefined });
  } catch {
    return moment.toLocaleTimeString('en-GB', options); // an unknown zone: the phone's own
  }
}

/**
 * What the patient reads for a call: {state, text, phone}. `phone` is the clinic's number to
 * link after the text, or '' (the call may not have reached anyone).
 */
export function callStatus(call, { zone, phone = '' } = {}) {
  const state = call?.status ?? '';
  const orPhone = phone ? 'Call out loud, or phone the clinic:' : 'Call out loud for help.';
  switch (state) {
    case 'calling':
      return { state, text: 'Calling staff…', phone: '' };
    case 'queued':
      return { state, text: `Not sent yet — no connection. ${orPhone}`, phone };
    case 'failed':
      return { state, text: `Staff could not be called from here. ${orPhone}`, phone };
    case 'sent':
      return { state, text: 'Sent — waiting for staff', phone: '' };
    case 'acknowledged': {
      const who = [call.acknowledged_by, clockTime(call.acknowledged_at, zone)].filter(Boolean);
      return {
        state,
        text: ['Staff have seen your call', ...(who.length ? [who.join(', ')] : [])].join(' — '),
        phone: '',
      };
    }
    case 'resolved': {
      const at = clockTime(call.resolved_at, zone);
      return {
        state,
        text: at ? `Your call was closed by staff at ${at}` : 'Your call was closed by staff',
        phone: '',
      };
    }
    default:
      return { state: '', text: '', phone: '' };
  }
}

/** `tel:` form of a number as people write it ("+1 212 555 0142" → "tel:+12125550142"). */
export const telLink = (phone) => `tel:${String(phone).replace(/[^\d+]/g, '')}`;

/**
 * Wires the Call staff buttons. `ui`: {root, call, confirm, yes, no, status}; `outbox`: the
 * page's outbox module; `zone`: the clinic's time zone (or a promise of it);
 * `directPost(url, body)`: one try without the outbox (no device store).
 */
export function startStaffCall({ data, ui, outbox, user, zone: zoneOrPromise, directPost, uuid }) {
  const urls = {
    send: data.urls?.call_staff ?? `/api/v1/sessions/${data.id}/call-staff`,
    poll: data.urls?.calls ?? `/api/v1/sessions/${data.id}/calls`,
  };
  let latest = (data.calls ?? []).at(-1) ?? null; // the newest call the server told us about
  let local = null; // {status: calling|queued|failed} while this phone's own call is not sent
  let pending = null; // that call's outbox record
  let shown = '';
  let timer = null;
  let zone;

  function render() {
    const { state, text, phone } = callStatus(local ?? latest, { zone, phone: data.clinic_phone });
    if (`${state}|${text}|${phone}` === shown) return; // unchanged: nothing new to announce
    shown = `${state}|${text}|${phone}`;
    ui.root.dataset.staff = state;
    const parts = [text];
    if (phone) {
      const link = document.createElement('a');
      link.href = telLink(phone);
      link.textContent = phone;
      parts.push(' ', link);
    }
    ui.status.replaceChildren(...parts);
  }

  const isOpen = () => Boolean(latest) && latest.status !== 'resolved';

  function schedule(delay = POLL_MS) {
    clearTimeout(timer);
    timer = isOpen() && document.visibilityState !== 'hidden' ? setTimeout(poll, delay) : null;
  }

  async function poll() {
    timer = null;
    let stop = false;
    try {
      const response = await fetch(urls.poll, {
        credentials: 'same-origin',
        cache: 'no-store',
        // Passive: asking for news is not the patient at work (kap/auth/sessions.py).
        headers: { Accept: 'application/json', 'X-KAP-Passive': '1' },
      });
      stop = [401, 403, 404].includes(response.status);
      if (response.ok) {
        const calls = (await response.json())?.calls;
        if (Array.isArray(calls) && calls.length) latest = calls.at(-1);
        render();
      }
    } catch {
      // No connection: keep showing what the server last said, and ask again.
    }
    if (!stop) schedule();
  }

  /** The server has this phone's call: show what it says and keep asking while it is open. */
  function sent(answer) {
    pending = null;
    local = null;
    latest = answer?.call ?? { ...latest, id: answer?.alert?.id, status: 'sent' };
    render();
    schedule();
  }

  function show(status) {
    local = status ? { status } : null;
    render();
  }

  async function callStaff() {
    const body = { client_id: uuid(), at: new Date().toISOString() };
    show('calling');
    let record;
    try {
      if (!user) throw new Error('no device store');
      record = await outbox.enqueue({
        kind: 'call-staff',
        priority: 0,
        session: data.id,
        method: 'POST',
        url: urls.send,
        body,
        label: 'Call staff',
      });
    } catch {
      return directPost(urls.send, body).then(sent, () => show('failed')); // one direct try
    }
    pending = record;
    const { state, result } = await outbox.outcome(record, 8000);
    if (pending?.id !== record.id) return; // already settled by the 'synced' notice
    if (state === 'synced') sent(result);
    else if (state === 'attention') {
      pending = null;
      show('failed');
    } else show('queued');
  }

  outbox.on('synced', ({ record, result }) => record.id === pending?.id && sent(result));
  outbox.on('change', async () => {
    if (!pending) return;
    const mine = (await outbox.list()).find((r) => r.id === pending.id);
    if (mine?.state === 'attention') {
      pending = null;
      show('failed');
    }
  });

  function confirming(on) {
    ui.confirm.hidden = !on;
    ui.call.hidden = on;
    (on ? ui.yes : ui.call).focus();
  }

  ui.call.addEventListener('click', () => confirming(true));
  ui.no.addEventListener('click', () => confirming(false));
  ui.yes.addEventListener('click', () => {
    confirming(false);
    if (pending)
      render(); // one call is already on its way: say where it is
    else callStaff();
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && isOpen()) schedule(0);
    else if (document.visibilityState === 'hidden') clearTimeout(timer);
  });

  // A call still in the outbox from before a reload (or from the offline page) is this one.
  if (user) {
    outbox
      .list()
      .then((records) => {
        const waiting = records.find((r) => r.kind === 'call-staff' && Number(r.session) === Number(data.id));
        if (!waiting || pending) return;
        pending = waiting;
        show(waiting.state === 'attention' ? 'failed' : navigator.onLine === false ? 'queued' : 'calling');
        outbox.outcome(waiting, 8000).then(({ state, result }) => {
          if (pending?.id !== waiting.id) return;
          if (state === 'synced') sent(result);
          else show(state === 'attention' ? 'failed' : 'queued');
        });
      })
      .catch(() => {});
  }
  Promise.resolve(zoneOrPromise).then((found) => {
    zone = found;
    render(); // a time read in the clinic's zone now (unchanged text is not announced again)
  });
  render();
  schedule();
}
