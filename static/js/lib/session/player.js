// Session-mode music: plays the playlist through two <audio> elements, following the session clock.
//
// Why <audio> and not Web Audio: iOS suspends an AudioContext when the screen locks; media
// elements (with Media Session metadata) keep playing. Track i always plays on element i % 2,
// so a cross-fade is both elements sounding. The position is recomputed from the clock on every
// tick, never counted, so pauses, reloads and throttled timers cannot put music and cues apart.

import { fadeGain, positionAt, trackStarts } from './timeline.js';
import { silentClip, unlockAudio } from './unlock.js';

export { silentClip, unlockAudio };

const TICK_MS = 100;
const RESYNC_SECONDS = 2; // drift allowed before seeking: a seek is audible, small drift is not
const RESUME_FADE_MS = 1500;
const MEDIA_EVENTS = ['timeupdate', 'ended', 'error', 'playing'];
/** The lock screen's picture: the app's icons, the size the platform prefers picked from them. */
export const ARTWORK = [
  { src: '/static/icons/icon-192.png', sizes: '192x192', type: 'image/png' },
  { src: '/static/icons/icon-512.png', sizes: '512x512', type: 'image/png' },
];

function pauseIfPlaying(el) {
  if (!el.paused) el.pause();
}

// The synthesiser loads on first use: a session page that never reaches a soundscape, or has not
// started yet, does not parse it. (A service worker must precache it for offline sessions.)
const renderLazily = async (...args) => (await import('./soundscape.js')).renderSoundscape(...args);

/**
 * Whether writing HTMLMediaElement.volume works. iOS ignores it (the hardware buttons own the
 * level), so there cross-fades cannot ramp: the tracks simply overlap, then switch.
 * @param {HTMLAudioElement} audio
 */
export function volumeIsWritable(audio) {
  try {
    const before = audio.volume;
    audio.volume = before === 0.5 ? 0.25 : 0.5;
    const writable = audio.volume !== before;
    audio.volume = before;
    return writable;
  } catch {
    return false;
  }
}

export class SessionPlayer extends EventTarget {
  #opts;
  #playlist;
  #starts;
  #clock;
  #slots;
  #urls = new Map(); // playlist index -> playable URL
  #pending = new Map(); // playlist index -> Promise while loading or rendering
  #ownUrls = new Set(); // blob URLs we created and must revoke
  #failed = new Set();
  #retried = new Set(); // tracks that failed once and were loaded again
  #queue = Promise.resolve(); // one render at a time: each holds several MB
  #volume = 1;
  #rampable;
  #timer = null;
  #current = -1;
  #resumedAt = 0;
  #lastSync = 0;
  #blocked = false;
  #ended = false;
  #destroyed = false;
  #onMedia = (e) => this.#mediaEvent(e);
  #onVisible = () => this.#sync();

  /**
   * @param {object} o
   * @param {object} o.data  the session JSON (playlist, crossfade_seconds, template_name)
   * @param {import('./clock.js').SessionClock} o.clock
   * @param {HTMLAudioElement[]} [o.audioElements]  two elements; created when omitted
   * @param {(track) => Promise<Blob|null>} [o.loadBlob]  a cached copy of a track, tried first
   * @param {(track, blob: Blob) => unknown} [o.store]  receives each generated soundscape blob
   * @param {number} [o.volume]  master volume 0–1
   * @param {(elapsed: number) => number} [o.duck]  a gain factor 0–1 at a session time (the
   *   music lowered under a spoken prompt); applied only where volume is writable
   * @param {Function} [o.renderSoundscape]  @param {MediaSession} [o.mediaSession]  for tests
   */
  constructor({ data, clock, audioElements, volume = 1, ...opts }) {
    super();
    this.#opts = { renderSoundscape: renderLazily, mediaSession: globalThis.navigator?.mediaSession, ...opts };
    this.#opts.album = data.template_name ?? '';
    this.#opts.crossfade = data.crossfade_seconds;
    this.#playlist = data.playlist ?? [];
    this.#starts = trackStarts(this.#playlist, data.crossfade_seconds);
    this.#clock = clock;
    const elements = audioElements ?? [0, 1].map(() => document.createElement('audio'));
    this.#slots = elements.slice(0, 2).map((el) => {
      el.preload = 'auto';
      for (const type of MEDIA_EVENTS) el.addEventListener(type, this.#onMedia);
      return { el, index: -1, url: null, seek: true, playing: false };
    });
    this.#rampable = volumeIsWritable(elements[0]);
    this.volume = volume;
  }

  /** Master volume 0–1 (no effect where volume is read-only). */
  get volume() {
    return this.#volume;
  }

  set volume(value) {
    this.#volume = Math.min(1, Math.max(0, Number(value) || 0));
    this.#sync();
  }

  /** True while paused (the session clock's state). */
  get paused() {
    return this.#clock.isPaused;
  }

  /**
   * Loads or renders the tracks needed now and next; resolves when the current one is ready.
   * Call early (before "Start session") so the music does not wait for rendering.
   */
  async prepare() {
    const pos = positionAt(this.#clock.elapsed(), this.#playlist, this.#opts.crossfade);
    if (!pos) return;
    const now = pos.fadingTo ?? pos.index;
    for (const i of [pos.index, now, now + 1]) this.#prepare(i);
    await this.#pending.get(now);
  }

  /** Plays from the clock's position, resuming the clock. Call from a tap: it unlocks audio. */
  start() {
    if (this.#destroyed) throw new Error('SessionPlayer was destroyed');
    for (const { el } of this.#slots) unlockAudio(el);
    this.#blocked = false;
    this.#clock.resume();
    this.#resumedAt = Date.now();
    if (this.#timer === null) {
      this.#timer = setInterval(() => this.#sync(), TICK_MS);
      globalThis.document?.addEventListener('visibilitychange', this.#onVisible);
      this.#actions(
        () => this.start(),
        () => this.pause(),
      );
    }
    this.#state();
    this.#sync();
  }

  /** Pauses the music and the session clock together. */
  pause() {
    this.#clock.pause();
    for (const { el } of this.#slots) el.pause();
    this.#state();
  }

  /** Stops, detaches the elements' sources and revokes every blob URL it made. */
  destroy() {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#stopTimer();
    globalThis.document?.removeEventListener('visibilitychange', this.#onVisible);
    this.#actions(null, null);
    this.#state('none');
    if (this.#opts.mediaSession) this.#opts.mediaSession.metadata = null;
    for (const { el } of this.#slots) {
      for (const type of MEDIA_EVENTS) el.removeEventListener(type, this.#onMedia);
      el.pause();
      el.removeAttribute('src');
      el.load?.(); // frees the decoded audio
    }
    for (const url of this.#ownUrls) URL.revokeObjectURL(url);
    this.#ownUrls.clear();
    this.#urls.clear();
  }

  #emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  #state(playbackState = this.paused ? 'paused' : 'playing') {
    if (this.#opts.mediaSession) this.#opts.mediaSession.playbackState = playbackState;
    if (playbackState !== 'none') this.#emit('statechange', { paused: this.paused });
  }

  #actions(play, pause) {
    for (const [action, handler] of [
      ['play', play],
      ['pause', pause],
    ]) {
      try {
        this.#opts.mediaSession?.setActionHandler(action, handler);
      } catch {
        /* action unsupported */
      }
    }
  }

  #stopTimer() {
    clearInterval(this.#timer);
    this.#timer = null;
  }

  #mediaEvent(event) {
    const slot = this.#slots.find((s) => s.el === event.target);
    if (event.type === 'error') {
      if (!slot?.url || this.#failed.has(slot.index)) return;
      if (this.#retried.has(slot.index)) return this.#fail(slot.index, slot.el.error);
      this.#retry(slot); // once: a media pipeline under load (WebKitGTK's) may fail a good file
    } else if (event.type === 'playing') {
      this.applyMetadata(); // iOS drops the lock screen's metadata when an element (re)starts
    } else if (Date.now() - this.#lastSync >= TICK_MS * 0.9) {
      this.#sync(); // media events still fire with the screen locked, when timers may not
    }
  }

  /** Loads the slot's track afresh (rendered or fetched again, not from the phone's copy). */
  #retry(slot) {
    const { index, url } = slot;
    this.#retried.add(index);
    slot.el.pause();
    slot.el.removeAttribute('src');
    Object.assign(slot, { url: null, index: -1 });
    this.#urls.delete(index);
    if (this.#ownUrls.delete(url)) URL.revokeObjectURL(url);
    this.#prepare(index);
  }

  #fail(index, error) {
    this.#failed.add(index); // skip the track, never retry in a loop: silence beats a stuck session
    this.#emit('error', { index, track: this.#playlist[index], error });
  }

  #prepare(index) {
    const track = this.#playlist[index];
    if (!track || this.#urls.has(index) || this.#pending.has(index) || this.#failed.has(index)) return;
    const done = (url, error) => {
      this.#pending.delete(index);
      if (this.#destroyed) return url && URL.revokeObjectURL(url);
      if (error) return this.#fail(index, error);
      this.#urls.set(index, url);
      this.#sync();
    };
    this.#pending.set(
      index,
      this.#load(track).then(done, (error) => done(null, error)),
    );
  }

  async #load(track) {
    const { loadBlob, store } = this.#opts;
    // A cache miss or a failing cache is not an error: fall back to the network or to rendering.
    const index = this.#playlist.indexOf(track);
    let blob = this.#retried.has(index)
      ? null // the stored copy may be what failed
      : await Promise.resolve(track)
          .then((t) => loadBlob?.(t))
          .catch(() => null);
    if (!blob) {
      if (track.kind !== 'soundscape') return track.url;
      const render = () =>
        this.#destroyed
          ? null
          : this.#opts.renderSoundscape(track.soundscape, { durationSeconds: track.duration_seconds });
      this.#queue = this.#queue.then(render, render);
      blob = await this.#queue;
      if (!blob) throw new Error('destroyed');
      Promise.resolve(blob)
        .then((b) => store?.(track, b))
        .catch(() => {}); // caching is best effort
    }
    const url = URL.createObjectURL(blob);
    this.#ownUrls.add(url);
    return url;
  }

  #sync() {
    if (this.#destroyed || this.#timer === null) return;
    this.#lastSync = Date.now();
    const elapsed = this.#clock.elapsed();
    const { crossfade } = this.#opts;
    const pos = positionAt(elapsed, this.#playlist, crossfade);
    if (!pos) return this.#finish();
    const current = pos.fadingTo ?? pos.index;
    if (current !== this.#current) this.#announce(current);
    for (const i of [pos.index, current, current + 1]) this.#prepare(i);
    this.#release(pos.index);

    const sounding = new Map([[pos.index, pos.offset]]);
    if (pos.fadingTo !== null) sounding.set(pos.fadingTo, elapsed - this.#starts[pos.fadingTo]);
    const resumeFade = Math.min(1, (Date.now() - this.#resumedAt) / RESUME_FADE_MS);
    const duck = this.#opts.duck ? Math.min(1, Math.max(0, this.#opts.duck(elapsed))) : 1;
    this.#slots.forEach((slot, parity) => {
      // Each element serves the sounding track of its parity; an idle one buffers the next.
      const index = [...sounding.keys()].find((i) => i % 2 === parity) ?? current + 1;
      if (slot.index !== index) Object.assign(slot, { index, url: null }).el.pause();
      if (!slot.url && this.#urls.has(index)) {
        slot.url = this.#urls.get(index);
        slot.seek = true;
        slot.el.loop = this.#playlist[index].kind === 'soundscape'; // the loop fills the duration
        slot.el.src = slot.url;
      }
      if (!sounding.has(index)) {
        pauseIfPlaying(slot.el);
        return;
      }
      const offset = sounding.get(index);
      this.#drive(slot, offset, this.#volume * resumeFade * duck * fadeGain(index, offset, this.#playlist, crossfade));
    });
  }

  /** Keeps one element playing at the right place and level. */
  #drive(slot, offset, gain) {
    const { el } = slot;
    if (!slot.url || this.#failed.has(slot.index)) return;
    if (this.#clock.isPaused) return pauseIfPlaying(el);
    if (el.readyState >= 1) {
      const length = el.duration;
      const loop = el.loop && length > 0 && Number.isFinite(length);
      const target = loop ? offset % length : offset;
      if (target >= length) return pauseIfPlaying(el); // the file is shorter than listed: wait
      const drift = Math.abs(el.currentTime - target);
      if (slot.seek || Math.min(drift, loop ? length - drift : drift) > RESYNC_SECONDS) {
        el.currentTime = target;
        slot.seek = false;
      }
    }
    // Muted until seeked: iOS loads nothing before play(), so the element must play to learn its
    // duration, and the patient should not hear a snatch of the track's opening first.
    el.muted = slot.seek || el.seeking;
    this.#setVolume(el, this.#rampable ? gain : 1);
    if (el.paused && !el.ended && !slot.playing && !this.#blocked) {
      slot.playing = true;
      el.play()
        .catch((error) => {
          if (error?.name !== 'NotAllowedError' || this.#blocked) return;
          this.#blocked = true; // autoplay refused: wait for start() from a tap
          this.#emit('error', { index: slot.index, error, needsGesture: true });
        })
        .finally(() => (slot.playing = false));
    }
  }

  #setVolume(el, value) {
    if (Math.abs(el.volume - value) < 0.002) return;
    el.volume = value;
    if (Math.abs(el.volume - value) > 0.01) this.#rampable = false; // ignored (iOS): overlap instead
  }

  /** Revokes URLs of finished tracks: the timeline never moves backwards. */
  #release(firstNeeded) {
    for (const [index, url] of this.#urls) {
      if (index >= firstNeeded || this.#slots.some((s) => s.url === url)) continue;
      this.#urls.delete(index);
      if (this.#ownUrls.delete(url)) URL.revokeObjectURL(url);
    }
  }

  #announce(index) {
    this.#current = index;
    const track = this.#playlist[index];
    this.applyMetadata();
    this.#emit('trackchange', { index, track });
  }

  /**
   * Sets the lock screen's Media Session metadata for the current track: its title, the app as
   * artist, the session's template as album, the app icons as artwork. Re-applied on every
   * `playing` event (of the music or the prompt element), because iOS forgets it.
   */
  applyMetadata() {
    const { mediaSession, album } = this.#opts;
    const track = this.#playlist[this.#current] ?? this.#playlist[0];
    if (!mediaSession || !globalThis.MediaMetadata || !track || this.#destroyed) return;
    try {
      mediaSession.metadata = new MediaMetadata({
        title: track.title,
        artist: 'KAP Companion',
        album,
        artwork: ARTWORK,
      });
    } catch {
      /* a platform without artwork support still shows the rest on the next call */
    }
  }

  #finish() {
    for (const s of this.#slots) pauseIfPlaying(s.el);
    this.#stopTimer();
    this.#state('none');
    if (!this.#ended) this.#emit('ended');
    this.#ended = true;
  }
}
