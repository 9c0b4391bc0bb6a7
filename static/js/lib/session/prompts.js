// The prompt track: every eye-mask prompt (chime and spoken words) inside one audio file whose
// time 0 is the session clock's 0 (interfaces: session JSON `prompt_audio`). It plays on its own
// <audio> element from the Start session tap to the end, silent between prompts, so a prompt
// sounds at its time with the screen locked and no timer running: the media pipeline plays it.
//
// Kept on the clock like the music: position = clock.elapsed(), re-seeked when it drifts more
// than half a second (a seek in silence is inaudible), paused and resumed with the clock, and
// synced again on `timeupdate`, which still fires when a locked phone throttles timers. The file
// is a small AAC track: it is played by the element, never decoded to samples on the phone.

/** Drift allowed before seeking: cues must sound within 1 s of their time. */
export const PROMPT_RESYNC_SECONDS = 0.5;
/** How long the music is lowered from a cue's time: the chime, then the words. */
export const DUCK_SECONDS = 9;
/** The music's level under a prompt, where volume is writable (not on iOS). */
export const DUCK_GAIN = 0.4;
const DUCK_RAMP_SECONDS = 0.6;
const TICK_MS = 250;
const EVENTS = ['timeupdate', 'error', 'playing'];

/**
 * The music's gain factor at `elapsed` seconds: DUCK_GAIN from each cue's time for DUCK_SECONDS,
 * ramped in and out, 1 elsewhere.
 * @param {number} elapsed @param {Array<{at_seconds: number}>} cues
 */
export function duckGain(elapsed, cues, { seconds = DUCK_SECONDS, gain = DUCK_GAIN, ramp = DUCK_RAMP_SECONDS } = {}) {
  let level = 1;
  for (const cue of cues ?? []) {
    const into = elapsed - cue.at_seconds;
    if (into < -ramp || into > seconds + ramp) continue;
    const edge = into < 0 ? -into : Math.max(0, into - seconds); // 0 inside, ramping at the edges
    level = Math.min(level, gain + ((1 - gain) * edge) / ramp);
  }
  return level;
}

export class PromptTrack extends EventTarget {
  #el;
  #clock;
  #info;
  #loadBlob;
  #url = null;
  #ownUrl = null;
  #seek = true;
  #starting = false;
  #failed = false;
  #blocked = false;
  #timer = null;
  #lastSync = 0;
  #destroyed = false;
  #onEvent = (event) => this.#event(event);

  /**
   * @param {object} o
   * @param {HTMLAudioElement} o.element  ideally unlocked in the Start session tap
   * @param {{elapsed(): number, isPaused: boolean}} o.clock  the session clock
   * @param {{url: string, key: string, duration_seconds: number, type?: string}} o.info  prompt_audio
   * @param {() => Promise<Blob|null>} [o.loadBlob]  this phone's stored copy, tried first
   */
  constructor({ element, clock, info, loadBlob }) {
    super();
    this.#el = element;
    this.#clock = clock;
    this.#info = info;
    this.#loadBlob = loadBlob;
    element.preload = 'auto';
    for (const type of EVENTS) element.addEventListener(type, this.#onEvent);
  }

  /** True while the track can carry the prompts: it has a source and has not failed. */
  get active() {
    return !this.#failed && !this.#destroyed;
  }

  /** True once the element failed to load or decode the track (use chime and speech instead). */
  get failed() {
    return this.#failed;
  }

  /** The element (for tests and Media Session). */
  get element() {
    return this.#el;
  }

  /** Finds the source: the stored blob first, the network URL second. Resolves with the URL. */
  async load() {
    if (this.#url) return this.#url;
    const blob = await Promise.resolve()
      .then(() => this.#loadBlob?.())
      .catch(() => null);
    if (this.#destroyed) return null;
    if (blob) {
      this.#ownUrl = URL.createObjectURL(blob);
      this.#url = this.#ownUrl;
    } else {
      this.#url = this.#info.url;
    }
    this.#el.src = this.#url;
    this.#seek = true;
    this.#sync();
    return this.#url;
  }

  /** Starts following the clock (call from a tap, or once the elements were unlocked by one). */
  start() {
    if (this.#destroyed) return;
    this.#blocked = false;
    if (this.#timer === null) this.#timer = setInterval(() => this.#sync(), TICK_MS);
    if (!this.#url) this.load().catch(() => this.#fail(new Error('no prompt track')));
    this.#sync();
  }

  /** Re-reads the clock now (pause, resume, a tick of the page). */
  sync() {
    this.#sync();
  }

  /** Stops and frees the element and the blob URL. */
  destroy() {
    if (this.#destroyed) return;
    this.#destroyed = true;
    clearInterval(this.#timer);
    this.#timer = null;
    for (const type of EVENTS) this.#el.removeEventListener(type, this.#onEvent);
    this.#el.pause();
    this.#el.removeAttribute('src');
    this.#el.load?.();
    if (this.#ownUrl) URL.revokeObjectURL(this.#ownUrl);
    this.#ownUrl = null;
  }

  #event(event) {
    if (event.type === 'error') {
      if (this.#url && !this.#failed) this.#fail(this.#el.error);
    } else if (event.type === 'playing') {
      this.dispatchEvent(new Event('playing'));
    } else if (Date.now() - this.#lastSync >= TICK_MS * 0.9) {
      this.#sync(); // timers may be throttled on a locked screen; media events still come
    }
  }

  #fail(error) {
    if (this.#failed) return;
    this.#failed = true;
    this.#el.pause();
    this.dispatchEvent(new CustomEvent('error', { detail: { error } }));
  }

  #sync() {
    if (this.#destroyed || this.#failed || this.#timer === null || !this.#url) return;
    this.#lastSync = Date.now();
    const el = this.#el;
    if (this.#clock.isPaused) {
      if (!el.paused) el.pause();
      return;
    }
    const target = this.#clock.elapsed();
    const length = Number.isFinite(el.duration) && el.duration > 0 ? el.duration : this.#info.duration_seconds;
    if (target >= length) {
      if (!el.paused) el.pause(); // after the last prompt: nothing left to sound
      return;
    }
    if (el.readyState >= 1 && (this.#seek || Math.abs(el.currentTime - target) > PROMPT_RESYNC_SECONDS)) {
      el.currentTime = target;
      this.#seek = false;
    }
    // Muted until it is at the clock's place: never a snatch of a prompt from the wrong time.
    el.muted = this.#seek || el.seeking;
    if (el.paused && !this.#starting && !this.#blocked) {
      this.#starting = true;
      Promise.resolve(el.play())
        .catch((error) => {
          if (error?.name === 'NotAllowedError') {
            this.#blocked = true; // the page asks for a tap; start() tries again
            this.dispatchEvent(new CustomEvent('blocked', { detail: { error } }));
          } else if (error?.name !== 'AbortError') this.#fail(error);
        })
        .finally(() => (this.#starting = false));
    }
  }
}
