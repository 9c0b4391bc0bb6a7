// Audio unlocking and the hand-off of unlocked elements from the preparation page's Start
// session tap to session mode in the same document.
//
// iOS (and any strict autoplay policy) lets script play an <audio> element later only if it was
// played once inside a tap. Start session therefore creates every element session mode will use
// (music ×2, the prompt track, the fallback chime) and plays a silent clip on each before its first
// await; session mode, loaded into the same document, takes them from here and starts at once.

import { encodeWav } from './wav.js';

let silentUrl = null;
let held = null;

/**
 * A 20 ms silent WAV clip's blob URL, made once and never revoked: an element may still be
 * loading it (play() is refused at once without a tap, the fetch goes on), and revoking it then
 * fails that load with an error in the console.
 */
export function silentClip() {
  silentUrl ??= URL.createObjectURL(encodeWav([new Float32Array(441)], 22050));
  return silentUrl;
}

/**
 * Plays a silent clip on `audio` so that later play() calls from script are allowed: iOS
 * requires one play inside a user gesture, so call this in the tap handler before any await.
 * @param {HTMLAudioElement} audio
 */
export function unlockAudio(audio) {
  if (!audio || audio.dataset.kapUnlocked) return;
  audio.dataset.kapUnlocked = '1';
  if (!audio.getAttribute('src')) audio.src = silentClip();
  audio.play()?.catch(() => {}); // AbortError once the real source replaces it
}

/** Speaks an empty utterance, which iOS requires inside a gesture before later speech. */
export function primeSpeech(synth = globalThis.speechSynthesis) {
  try {
    synth.getVoices(); // Chrome lists its voices asynchronously: ask early
    const hush = new SpeechSynthesisUtterance('');
    hush.volume = 0;
    synth.speak(hush);
  } catch {
    /* speech unsupported */
  }
}

/**
 * Call from the Start session tap, before any await: creates and unlocks session mode's audio
 * elements and keeps them for takeSessionAudio(). Calling it again replaces the held set.
 * @param {{create?: () => HTMLAudioElement, speech?: boolean}} [o]
 * @returns {{music: HTMLAudioElement[], prompt: HTMLAudioElement, chime: HTMLAudioElement}}
 */
export function unlockSessionAudio({ create = () => document.createElement('audio'), speech = true } = {}) {
  const set = { music: [create(), create()], prompt: create(), chime: create() };
  for (const el of [...set.music, set.prompt, set.chime]) unlockAudio(el);
  if (speech) primeSpeech();
  held = set;
  return set;
}

/** The elements unlocked by the Start session tap, once (null on a direct load of session mode). */
export function takeSessionAudio() {
  const set = held;
  held = null;
  return set;
}
