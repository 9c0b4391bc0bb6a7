// The board's Call staff sound: a two-tone chime made with the Web Audio API (no audio file).
//
// Browsers let a page make sound only after someone pressed something on it, so the board
// shows "Turn on call sound"; once pressed, the choice is kept for this tab (sessionStorage).
// After a reload (every board form is a post, then a redirect) the browser may hold the sound
// back until the next tap: the button then says so again, and any tap on the board restarts it.
// The button tells the truth about whether sound can play right now.

const KEY = 'kap:board-call-sound';
const OFF_LABEL = 'Turn on call sound';
const ON_LABEL = 'Call sound on';
/** [frequency (Hz), start (s)]: ding-dong, twice — unlike anything else in the clinic app. */
const NOTES = [
  [880, 0],
  [659, 0.28],
  [880, 0.7],
  [659, 0.98],
];

const remembered = () => {
  try {
    return sessionStorage.getItem(KEY) === 'on';
  } catch {
    return false;
  }
};

const remember = (on) => {
  try {
    if (on) sessionStorage.setItem(KEY, 'on');
    else sessionStorage.removeItem(KEY);
  } catch {
    // Storage refused: the sound stays on for this page only.
  }
};

/** Wires the button; returns {ring()} for the board to call (it plays only when allowed). */
export function callSound(button) {
  const Context = globalThis.AudioContext ?? globalThis.webkitAudioContext;
  if (!button || !Context) return { ring() {} };
  let context = null;
  let wanted = remembered();

  const running = () => context?.state === 'running';

  function show() {
    const on = wanted && running();
    button.textContent = on ? ON_LABEL : OFF_LABEL;
    button.setAttribute('aria-pressed', String(on));
  }

  /** Creates or wakes the audio context (inside a tap it is allowed to start). */
  function wake() {
    if (!context) {
      context = new Context();
      context.addEventListener('statechange', show);
    }
    const woken = context.state === 'suspended' ? context.resume() : Promise.resolve();
    show();
    return woken.catch(() => {});
  }

  function ring() {
    if (!wanted || !context) return;
    if (!running()) {
      context.resume().catch(() => {});
      return;
    }
    const start = context.currentTime + 0.02;
    for (const [frequency, at] of NOTES) {
      const tone = context.createOscillator();
      const level = context.createGain();
      tone.type = 'triangle';
      tone.frequency.value = frequency;
      level.gain.setValueAtTime(0.0001, start + at);
      level.gain.exponentialRampToValueAtTime(0.6, start + at + 0.02);
      level.gain.exponentialRampToValueAtTime(0.0001, start + at + 0.4);
      tone.connect(level).connect(context.destination);
      tone.start(start + at);
      tone.stop(start + at + 0.45);
    }
  }

  button.addEventListener('click', () => {
    wanted = !(wanted && running());
    remember(wanted);
    if (wanted) {
      wake().then(ring); // what it sounds like, and a check that the volume is up
    } else {
      show();
    }
  });
  // Any tap on the board is a gesture the browser accepts for waking the sound again.
  for (const type of ['pointerdown', 'keydown']) {
    document.addEventListener(type, () => wanted && !running() && wake(), { capture: true });
  }
  if (wanted) wake(); // may stay suspended until the next tap; the label says so
  show();
  button.hidden = false;
  return { ring };
}
