// Idle sign-out warning. The server signs a quiet session out (15 minutes for staff, 30 for
// patients); a minute before, this asks whether the person is still there. "Stay signed in"
// (or Escape) pings GET /api/v1/me, which counts as activity. Someone who typed or tapped
// since the page loaded is kept signed in without being asked. When the time is up the page
// goes to sign-in, where the server says why. Tabs of one browser share their deadline
// through localStorage, so a busy tab keeps a quiet one from signing out.
// Never loaded in session mode (see templates/_partials/idle_warning.html).

const WARN_MS = 60_000;
const dialog = document.getElementById('idle-warning');
if (dialog && typeof dialog.showModal === 'function') watch(dialog);

function watch(dialog) {
  const limitMs = Number(dialog.dataset.idleLimit) * 1000;
  const key = `kap-idle-deadline:${dialog.dataset.scope}`;
  const countdown = dialog.querySelector('[data-idle-countdown]');
  let deadline = Date.now() + Number(dialog.dataset.idleRemaining) * 1000;
  let interacted = false;
  let pinging = false;
  let timer = null;

  const share = () => {
    try {
      localStorage.setItem(key, String(deadline));
    } catch {
      // storage blocked: this tab still works alone
    }
  };

  // Another tab's later deadline wins, but never one beyond a full limit from now (a stale
  // value left by an earlier session of this browser).
  const adopt = (value) => {
    const other = Number(value);
    if (other > deadline && other <= Date.now() + limitMs) {
      deadline = other;
      if (dialog.open && deadline - Date.now() > WARN_MS) dialog.close();
    }
  };

  const leave = () => {
    clearInterval(timer);
    window.location.assign(dialog.dataset.signinUrl);
  };

  async function stay() {
    if (pinging) return;
    pinging = true;
    try {
      const response = await fetch(dialog.dataset.pingUrl, {
        credentials: 'same-origin',
        cache: 'no-store',
        headers: { Accept: 'application/json' },
      });
      if (response.status === 401) {
        leave();
        return;
      }
      if (response.ok) {
        deadline = Date.now() + limitMs;
        interacted = false;
        share();
        if (dialog.open) dialog.close();
      }
    } catch {
      // offline: the server cannot count this as activity; try again on the next tick
    } finally {
      pinging = false;
    }
  }

  function tick() {
    const left = deadline - Date.now();
    if (left <= 0) {
      if (navigator.onLine !== false) leave();
      return;
    }
    if (left > WARN_MS) return;
    if (!dialog.open) {
      if (interacted) {
        stay();
        return;
      }
      dialog.showModal();
    }
    countdown.textContent = String(Math.ceil(left / 1000));
  }

  try {
    adopt(localStorage.getItem(key));
  } catch {
    // storage blocked
  }
  share();
  window.addEventListener('storage', (event) => {
    if (event.key === key && event.newValue) adopt(event.newValue);
  });
  for (const type of ['keydown', 'pointerdown', 'input']) {
    document.addEventListener(
      type,
      () => {
        interacted = true;
      },
      { capture: true, passive: true },
    );
  }
  dialog.querySelector('[data-idle-stay]').addEventListener('click', stay);
  dialog.addEventListener('cancel', (event) => {
    event.preventDefault(); // Escape means "I am here", not "sign me out"
    stay();
  });
  timer = setInterval(tick, 1000);
}
