// Screen Wake Lock while session mode runs: re-acquired when the page is shown again, no-op where unsupported.
//
// The browser drops a wake lock whenever the page is hidden, so it has to be asked for again
// on every return to visible.

export class ScreenWakeLock {
  #navigator;
  #document;
  #sentinel = null;
  #wanted = false;
  #onVisibility = () => this.#acquire();

  /** @param {{navigator?: Navigator, document?: Document}} [env]  injectable for tests */
  constructor({ navigator = globalThis.navigator, document = globalThis.document } = {}) {
    this.#navigator = navigator;
    this.#document = document;
  }

  /** Whether the platform offers a screen wake lock. */
  get supported() {
    return Boolean(this.#navigator?.wakeLock?.request);
  }

  /** Whether the lock is currently held. */
  get active() {
    return this.#sentinel !== null;
  }

  /** Holds the screen on until stop(), re-acquiring after the page was hidden. */
  async start() {
    if (this.#wanted || !this.supported) return;
    this.#wanted = true;
    this.#document?.addEventListener('visibilitychange', this.#onVisibility);
    await this.#acquire();
  }

  /** Releases the lock and stops re-acquiring it. */
  async stop() {
    this.#wanted = false;
    this.#document?.removeEventListener('visibilitychange', this.#onVisibility);
    const sentinel = this.#sentinel;
    this.#sentinel = null;
    try {
      await sentinel?.release();
    } catch {
      /* already released */
    }
  }

  async #acquire() {
    if (!this.#wanted || this.#sentinel || this.#document?.visibilityState === 'hidden') return;
    try {
      const sentinel = await this.#navigator.wakeLock.request('screen');
      if (!this.#wanted || this.#sentinel) return void sentinel.release(); // stopped meanwhile
      this.#sentinel = sentinel;
      sentinel.addEventListener?.('release', () => {
        if (this.#sentinel === sentinel) this.#sentinel = null;
      });
    } catch {
      /* refused (battery saver, not visible): try again on the next visibilitychange */
    }
  }
}
