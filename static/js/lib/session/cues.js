// Eye-mask prompts: fires each cue once as the session clock passes it, with a chime and calm speech.

import { defaultStorage, quietly } from './clock.js';
import { primeSpeech, unlockAudio } from './unlock.js';

export { primeSpeech };

import { cuesBetween } from './timeline.js';

/** Cues older than this at start-up are skipped: a reload must not replay a burst of prompts. */
export const STALE_CUE_SECONDS = 60;

export class CueRunner {
  #cues;
  #clock;
  #onCue;
  #storage;
  #key;
  #last;
  #timer = null;

  /**
   * @param {object} o
   * @param {Array<{at_seconds: number, text: string, chime?: boolean}>} o.cues
   * @param {{elapsed(now?: number): number}} o.clock
   * @param {(cue: object) => void} o.onCue  called once per cue, in order
   * @param {number|string} [o.sessionId]  when given, the last fired time is kept in storage
   *   (kap:session-cues:<id>) so a reload never fires a cue twice
   * @param {Storage|null} [o.storage]  default localStorage
   */
  constructor({ cues, clock, onCue, sessionId, storage = defaultStorage() }) {
    this.#cues = cues ?? [];
    this.#clock = clock;
    this.#onCue = onCue;
    this.#storage = sessionId == null ? null : storage;
    this.#key = `kap:session-cues:${sessionId}`;
    const fired = Number.parseFloat(quietly(() => this.#storage?.getItem(this.#key)));
    // Negative on a fresh start, so the first tick includes a cue at 0 s.
    this.#last = Math.max(clock.elapsed() - STALE_CUE_SECONDS, Number.isFinite(fired) ? fired : -Infinity);
  }

  /** Fires the cues passed since the previous tick and returns them. @param {number} [now] ms */
  tick(now) {
    const elapsed = this.#clock.elapsed(now);
    if (elapsed <= this.#last) return [];
    const due = cuesBetween(this.#cues, this.#last, elapsed);
    this.#last = elapsed;
    if (!due.length) return due;
    quietly(() => this.#storage?.setItem(this.#key, String(elapsed)));
    for (const cue of due) {
      try {
        this.#onCue(cue);
      } catch (error) {
        globalThis.reportError?.(error); // one failing cue must not silence the rest
      }
    }
    return due;
  }

  /** Ticks every `intervalMs` (cues land within that of their time while timers run). */
  start(intervalMs = 250) {
    this.stop();
    this.#timer = setInterval(() => this.tick(), intervalMs);
    this.tick();
  }

  /** Stops ticking. */
  stop() {
    clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Forgets the remembered progress (when the session is over or on sign-out). */
  clear() {
    quietly(() => this.#storage?.removeItem(this.#key));
  }
}

/** Chooses a voice for `lang` ("en", "en-GB"), preferring one that works offline. */
export function pickVoice(voices, lang) {
  const base = String(lang || 'en')
    .toLowerCase()
    .split('-')[0];
  const matching = voices.filter((v) => v.lang?.toLowerCase().replace('_', '-').split('-')[0] === base);
  return (
    matching.find((v) => v.localService && v.default) ?? matching.find((v) => v.localService) ?? matching[0] ?? null
  );
}

/**
 * Speaks `text` slowly and calmly; returns false, never throws, where speech is unsupported or
 * no voice for the page's language is installed.
 * @param {string} text @param {{rate?: number, lang?: string, synth?: SpeechSynthesis}} [o]
 */
export function speak(
  text,
  { rate = 0.85, lang = globalThis.document?.documentElement.lang, synth = globalThis.speechSynthesis } = {},
) {
  try {
    const voice = synth && text ? pickVoice(synth.getVoices(), lang) : null;
    if (!voice) return false;
    const utterance = new SpeechSynthesisUtterance(text);
    utterance.voice = voice;
    utterance.lang = voice.lang;
    utterance.rate = rate;
    utterance.pitch = 0.95;
    synth.cancel(); // a new prompt replaces one still speaking rather than queueing behind it
    synth.speak(utterance);
    return true;
  } catch {
    return false;
  }
}

const chime = { audio: null, url: null, ready: null };

/**
 * Unlocks the chime's <audio> element (call from a tap) and renders the chime once.
 * @param {{audio?: HTMLAudioElement, render?: () => Promise<Blob>}} [o] @returns {Promise<boolean>} ready
 */
export function prepareChime({ audio, render } = {}) {
  render ??= async () => (await import('./soundscape.js')).renderChime(); // loaded when first needed
  chime.audio ??= audio ?? globalThis.document?.createElement('audio') ?? null;
  if (chime.audio) unlockAudio(chime.audio);
  chime.ready ??= render()
    .then((blob) => (chime.url = URL.createObjectURL(blob)))
    .catch(() => (chime.ready = null)); // try again next time
  return chime.ready.then(() => Boolean(chime.url && chime.audio));
}

/** Plays the chime through <audio>, so it sounds with the screen locked. @returns {Promise<boolean>} */
export async function playChime({ volume = 0.8 } = {}) {
  try {
    if (!(await prepareChime())) return false;
    const { audio, url } = chime;
    if (audio.src !== url) audio.src = url;
    audio.loop = false;
    audio.volume = volume;
    audio.currentTime = 0;
    await audio.play();
    return true;
  } catch {
    return false;
  }
}

/** Stops the chime and revokes its blob URL. */
export function releaseChime() {
  chime.audio?.pause();
  if (chime.url) URL.revokeObjectURL(chime.url);
  Object.assign(chime, { audio: null, url: null, ready: null });
}

/** A ready-made onCue: the chime if the cue asks for it, then, a moment later, its text spoken. */
export async function announceCue(cue, { speakDelayMs = 1200 } = {}) {
  if (cue.chime && (await playChime())) await new Promise((r) => setTimeout(r, speakDelayMs));
  return speak(cue.text);
}
