// Session clock: seconds since the session started, less time spent paused, surviving reloads.
//
// Elapsed time comes from wall-clock timestamps, never from counting timer ticks: timers are
// throttled or frozen while the screen is locked. The pause state is kept in storage so a
// reload (or the OS discarding the tab) resumes at the right place.

/**
 * Runs a storage call, swallowing the errors browsers throw when storage is blocked or full:
 * persistence is a convenience, never a reason for session mode to fail.
 * @template T @param {() => T} call @returns {T|null}
 */
export function quietly(call) {
  try {
    return call() ?? null;
  } catch {
    return null;
  }
}

/** localStorage, or null where it is missing or blocked (its getter itself can throw). */
export const defaultStorage = () => quietly(() => globalThis.localStorage);

const toMillis = (value) =>
  value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(value ?? '');

/** A stored state, or null when missing, malformed or inconsistent. */
function readState(storage, key) {
  const state = quietly(() => JSON.parse(storage?.getItem(key)));
  const { startedAt, pausedMs, pausedAt } = state ?? {};
  const valid =
    Number.isFinite(startedAt) &&
    Number.isFinite(pausedMs) &&
    pausedMs >= 0 &&
    (pausedAt === null || (Number.isFinite(pausedAt) && pausedAt >= startedAt));
  return valid ? { startedAt, pausedMs, pausedAt } : null;
}

export class SessionClock {
  #storage;
  #key;
  #startedAt;
  #pausedMs = 0;
  #pausedAt = null;

  /**
   * @param {object} o
   * @param {number|string} o.sessionId  names the storage key kap:session-clock:<id>
   * @param {string|number|Date|null} [o.startedAt]  the recorded start (the server's wins); when
   *   null or invalid, a start kept by an earlier load, else `now`
   * @param {Storage|null} [o.storage]  default localStorage; null keeps nothing
   * @param {number} [o.now]  ms timestamp for a fresh start
   */
  constructor({ sessionId, startedAt = null, storage = defaultStorage(), now = Date.now() } = {}) {
    this.#storage = storage;
    this.#key = `kap:session-clock:${sessionId}`;
    const saved = readState(storage, this.#key);
    const recorded = toMillis(startedAt);
    this.#startedAt = Number.isFinite(recorded) ? recorded : (saved?.startedAt ?? now);
    if (saved) {
      this.#pausedMs = saved.pausedMs;
      this.#pausedAt = saved.pausedAt === null ? null : Math.max(saved.pausedAt, this.#startedAt);
    }
    this.#save();
  }

  /** The session start as a ms timestamp. */
  get startedAt() {
    return this.#startedAt;
  }

  /** True while paused. */
  get isPaused() {
    return this.#pausedAt !== null;
  }

  /** Seconds of session time at `now` (ms): never negative, frozen while paused. */
  elapsed(now = Date.now()) {
    return Math.max(0, ((this.#pausedAt ?? now) - this.#startedAt - this.#pausedMs) / 1000);
  }

  /** Freezes session time; no-op when paused. @param {number} [now] */
  pause(now = Date.now()) {
    if (this.isPaused) return;
    this.#pausedAt = Math.max(now, this.#startedAt);
    this.#save();
  }

  /** Lets session time run again; no-op when running. @param {number} [now] */
  resume(now = Date.now()) {
    if (!this.isPaused) return;
    this.#pausedMs += Math.max(0, now - this.#pausedAt); // a clock set backwards adds nothing
    this.#pausedAt = null;
    this.#save();
  }

  /** Forgets the stored state (when the session is over, and on sign-out). */
  clear() {
    quietly(() => this.#storage?.removeItem(this.#key));
  }

  #save() {
    const state = { startedAt: this.#startedAt, pausedMs: this.#pausedMs, pausedAt: this.#pausedAt };
    quietly(() => this.#storage?.setItem(this.#key, JSON.stringify(state)));
  }
}
