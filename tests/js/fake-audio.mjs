// A stand-in <audio> element for the session-mode tests (tests/js/player, prompts).

/** Enough of HTMLAudioElement for the session players: metadata "loads" as soon as src is
 * set (its duration from `durationOf`); time moves by hand; `plays` counts play() calls. */
export class FakeAudio extends EventTarget {
  constructor({ readOnlyVolume = false, durationOf = () => 60, refuse = null } = {}) {
    super();
    Object.assign(this, { dataset: {}, paused: true, ended: false, loop: false, muted: false, seeking: false });
    Object.assign(this, { readyState: 0, duration: NaN, currentTime: 0, plays: 0, readOnlyVolume, durationOf, refuse });
    Object.assign(this, { seeks: 0, error: null });
    this._src = null;
    this._volume = 1;
  }
  get volume() {
    return this._volume;
  }
  set volume(v) {
    if (!this.readOnlyVolume) this._volume = v;
  }
  get src() {
    return this._src ?? '';
  }
  set src(url) {
    this._src = url;
    this.currentTime = 0;
    this.readyState = 1;
    this.duration = this.durationOf(url);
  }
  getAttribute(name) {
    return name === 'src' ? this._src : null;
  }
  removeAttribute() {
    this._src = null;
    this.readyState = 0;
  }
  load() {}
  play() {
    this.plays++;
    if (this.refuse) return Promise.reject(Object.assign(new Error('no'), { name: this.refuse }));
    this.paused = false;
    return Promise.resolve();
  }
  pause() {
    this.paused = true;
  }
}
