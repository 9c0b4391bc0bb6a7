// Session mode: plays the session on the phone (music, eye-mask prompts), then downtime, then integration.
//
// Where the session is comes from the session clock (the recorded start time, less pauses) on
// every tick, never from counting ticks, so a reload, a locked screen or throttled timers resume
// at the right place. The session's data comes from the page or, offline, from this phone's store
// (static/js/lib/offline.js keeps it with its audio); phase changes and Call staff go through the
// outbox, which keeps each until the server has it (re-sending a phase is a no-op there). Call
// staff and the real state of the call are in lib/session/staff-call.js.
//
// Start-up loads only what the first screen needs; the rest is imported when first used (the
// soundscape renderer, the wake lock, the direct API fallback). The service worker precaches
// every one of them (kap/pwa/views.py), so a session started offline finds them all.

import {
  clinicZone,
  core,
  currentUser,
  keepTrack,
  promptBlob,
  sessionWithPending,
  storedSession,
  storeSessionData,
  trackBlob,
} from '../lib/device.js';
import * as outbox from '../lib/outbox.js';
import { quietly, SessionClock } from '../lib/session/clock.js';
import { announceCue, CueRunner, prepareChime, primeSpeech, releaseChime } from '../lib/session/cues.js';
import { SessionPlayer, silentClip } from '../lib/session/player.js';
import { duckGain, PromptTrack } from '../lib/session/prompts.js';
import { startStaffCall } from '../lib/session/staff-call.js';
import { downtimeRemaining, phaseAt, playlistLength, positionAt } from '../lib/session/timeline.js';
import { takeSessionAudio } from '../lib/session/unlock.js';

const TICK_MS = 250; // cues must land within 1 s of their time
const RANK = { session: 0, downtime: 1, integration: 2 };
const VOLUME_KEY = 'kap:session-volume';
const SAID = {
  downtime: 'The music has ended. Rest quietly until the countdown ends.',
  integration: 'Downtime is over. Your integration journal is ready when you are.',
};

const $ = (id) => document.getElementById(id);
const ui = {
  root: $('sm'),
  announce: $('sm-announce'),
  title: $('sm-track-title'),
  of: $('sm-track-of'),
  progress: $('sm-progress'),
  begin: $('sm-begin'),
  prompt: $('sm-prompt'),
  countdown: $('sm-countdown'),
  music: $('sm-music'),
  pause: $('sm-pause'),
  volume: $('sm-volume'),
  call: $('sm-call'),
  confirm: $('sm-confirm'),
  yes: $('sm-call-yes'),
  no: $('sm-call-no'),
  staff: $('sm-staff-status'),
  note: $('sm-note'),
  intention: $('sm-intention'),
  intentionText: $('sm-intention-text'),
  elapsed: $('sm-elapsed'),
  remaining: $('sm-remaining'),
  stop: $('sm-stop'),
  stopPanel: $('sm-stop-panel'),
  stopCall: $('sm-stop-call'),
  stopResume: $('sm-stop-resume'),
};
const user = currentUser();
// Audio elements unlocked by the Start session tap on the preparation page, when session mode was
// loaded into that same document: the music starts at once, with no second tap.
const handed = takeSessionAudio();
/** One direct try, where there is no device store for the outbox (storage blocked). */
const postNow = (url, body) => import('../lib/api.js').then(({ api }) => api.post(url, body));
/** After start-up, once the page is idle (Safari has no requestIdleCallback). */
const whenIdle = (work) =>
  globalThis.requestIdleCallback ? requestIdleCallback(work, { timeout: 1000 }) : setTimeout(work, 200);

/** The session: the page's data block online, this phone's copy offline; pending writes applied. */
async function sessionData() {
  const block = $('session-data');
  const id = Number(location.pathname.match(/\/sessions\/(\d+)/)?.[1]);
  const stored = user ? await storedSession(user, id).catch(() => null) : null;
  let found = block ? JSON.parse(block.textContent) : stored?.data;
  if (!found) return null;
  if (block && stored) storeSessionData(user, found).catch(() => {}); // keep the phone's copy fresh
  if (user) found = await sessionWithPending(user, found).catch(() => found);
  found.urls ??= {
    phase: `/api/v1/sessions/${found.id}/phase`,
    call_staff: `/api/v1/sessions/${found.id}/call-staff`,
    calls: `/api/v1/sessions/${found.id}/calls`,
    integration: `/patient/sessions/${found.id}/integration`,
    prepare: `/patient/sessions/${found.id}`,
  };
  if (found.status === 'scheduled' || found.status === 'cancelled') location.replace(found.urls.prepare);
  else if (found.status === 'complete') location.replace(found.urls.integration);
  else return found;
  return null;
}

const data = await sessionData();
if (!data) {
  if (!$('session-data')) $('sm-missing')?.removeAttribute('hidden');
  await new Promise(() => {}); // nothing to run here (a module cannot return early)
}
$('sm-journal').href = data.urls.integration;
const playlist = data.playlist ?? [];
const musicEnd = playlistLength(playlist, data.crossfade_seconds);
const downtimeMs = Math.max(0, Number(data.downtime_minutes) || 0) * 60000;
const clock = new SessionClock({ sessionId: data.id, startedAt: data.started_at });
const cues = new CueRunner({ cues: data.cues, clock, sessionId: data.id, onCue: showCue });

let known = data.status in RANK ? data.status : 'session'; // the last phase recorded (on the server or in the outbox)
// If the server is ahead of this device's clock (the phase moved on elsewhere), its times rule.
const serverDowntimeEnd = (Date.parse(data.downtime_started_at) || Date.now()) + downtimeMs;
let shown = null;
let player = null;
let prompts = null; // the prompt track's player, when the session has one
let started = false; // player.start() has run: never twice from this page's own code
let trackIndex = -1;
let countdownText = '';
let timeText = '';
let lateCue = null; // a prompt that fired while the music was still loading
let lastTick = 0;
let timer = null;

const setAudio = (state) => (ui.root.dataset.audio = state);
const say = (text) => (ui.announce.textContent = text);
const clockText = (seconds) => `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;

/** Phase, elapsed session seconds and the downtime's end (ms) at `now`. */
function where(now) {
  const elapsed = clock.elapsed(now);
  const phase = phaseAt(elapsed, data);
  if (RANK[phase] >= RANK[known]) {
    return { phase, elapsed, downtimeEnd: now + downtimeRemaining(elapsed, data) * 1000 };
  }
  const phaseByServer = known === 'downtime' && now >= serverDowntimeEnd ? 'integration' : known;
  return { phase: phaseByServer, elapsed, downtimeEnd: serverDowntimeEnd };
}

// ---- Phase changes: into the outbox, in order; it sends each until the server has it.
const queued = new Set();

function record(phase, atMs) {
  if (queued.has(phase) || RANK[phase] <= RANK[known]) return;
  queued.add(phase);
  const change = { phase, at: new Date(atMs).toISOString() };
  const spec = {
    kind: 'phase',
    session: data.id,
    method: 'POST',
    url: data.urls.phase,
    body: change,
    label: 'Session step',
  };
  // Without a device store (storage blocked), one direct try: the phase is not writing, and the
  // server's order rules still hold on the next change.
  (user ? outbox.enqueue(spec) : Promise.reject()).catch(() => postNow(data.urls.phase, change).catch(() => {}));
}

outbox.on('synced', ({ record: sent }) => {
  if (sent.kind !== 'phase' || Number(sent.session) !== Number(data.id)) return;
  if (RANK[sent.body.phase] > RANK[known]) known = sent.body.phase;
  if (known === 'integration') forget();
});

/** The session is over on this device: drop its stored clock and cue progress. */
function forget() {
  clock.clear();
  cues.clear();
}

// ---- Music.
let wakeLock = null; // loaded with the music: before it plays there is no screen to keep on

/** Keeps the screen on while the music plays (on) or lets it sleep again (off). */
function keepAwake(on) {
  if (!on && !wakeLock) return;
  wakeLock ??= import('../lib/session/wakelock.js').then(({ ScreenWakeLock }) => new ScreenWakeLock());
  wakeLock.then((lock) => (on ? lock.start() : lock.stop())).catch(() => {});
}

function gesture() {
  if (prompts?.active) return; // the prompt track carries chime and voice: nothing else to unlock
  // iOS: unlock the chime's <audio> and speech inside the tap, before any await.
  prepareChime({ audio: handed?.chime }).catch(() => {});
  primeSpeech();
}

/** Puts a session element in the page (no controls: never shown), so it can be found and inspected. */
function attach(audio, role) {
  audio.dataset.kapAudio = role;
  ui.root.append(audio);
}

/** The prompt track on its own element, kept on the clock like the music (lib/session/prompts.js). */
function makePrompts() {
  const info = data.prompt_audio;
  if (!info?.url) return null;
  const track = new PromptTrack({
    element: handed?.prompt ?? document.createElement('audio'),
    clock,
    info,
    ...(user && { loadBlob: () => promptBlob(user, data.id, info) }),
  });
  track.addEventListener('playing', () => {
    setAudio('playing');
    ui.begin.hidden = true;
    player?.applyMetadata(); // iOS drops the lock screen's metadata when an element starts
  });
  track.addEventListener('blocked', () => blocked());
  track.addEventListener('error', () => {
    // Quietly: the words stay on screen and the phone's own chime and voice take over.
    ui.note.textContent = 'Spoken prompts could not play here; this phone reads them instead.';
    ui.note.hidden = false;
    prepareChime({ audio: handed?.chime }).catch(() => {});
  });
  track.load().catch(() => {});
  attach(track.element, 'prompts');
  return track;
}

function makePlayer() {
  const audios = handed?.music ?? [0, 1].map(() => document.createElement('audio'));
  prompts = makePrompts();
  for (const audio of audios) attach(audio, 'music');
  const volume = Number(quietly(() => sessionStorage.getItem(VOLUME_KEY)) ?? ui.volume.value);
  ui.volume.value = String(Number.isFinite(volume) ? volume : 80);
  player = new SessionPlayer({
    data,
    clock,
    audioElements: audios,
    volume: ui.volume.value / 100,
    // The music is lowered under each spoken prompt of the track (where volume is writable).
    duck: (elapsed) => (prompts?.active ? duckGain(elapsed, data.cues) : 1),
    // Stored audio first, so the session runs without signal; a rendered soundscape is kept.
    ...(user && {
      loadBlob: (track) => trackBlob(user, data.id, track.id),
      store: (track, blob) => keepTrack(user, data.id, track.id, blob),
    }),
  });
  for (const audio of audios) {
    audio.addEventListener('playing', () => {
      setAudio('playing');
      ui.begin.hidden = true;
      if (!clock.isPaused) keepAwake(true);
      if (lateCue && Date.now() - lateCue.at < 10000) announceCue(lateCue.cue).catch(() => {});
      lateCue = null;
    });
    // Media events keep coming with the screen locked, when timers may be throttled.
    audio.addEventListener('timeupdate', () => Date.now() - lastTick > 200 && tick());
  }
  player.addEventListener('error', ({ detail }) => {
    if (detail.needsGesture) {
      blocked();
    } else {
      if (ui.root.dataset.audio === 'pending') setAudio('error');
      ui.of.textContent = '· could not play; prompts will still come';
      // For support and tests: the media error's code (MediaError) or the message.
      const { error } = detail;
      ui.root.dataset.audioError = String(error?.code ?? error?.message ?? error ?? 'unknown');
    }
  });
  player.addEventListener('statechange', ({ detail }) => {
    prompts?.sync(); // paused and resumed with the clock
    if (!detail.paused && ui.root.dataset.stop === 'y') stopping(false); // resumed from the lock screen
    ui.pause.textContent = detail.paused ? 'Resume' : 'Pause';
    if (detail.paused) {
      keepAwake(false);
      ui.begin.hidden = true; // Resume is the tap that starts the music now
    }
  });
}

/** Starts (or resumes) the music and the prompt track together, with the clock. */
function startAudio() {
  player.start();
  prompts?.start();
}

/** From a tap: starts (or resumes) the music, unlocking audio and speech first. */
function play() {
  started = true;
  startAudio();
  gesture();
  ui.begin.hidden = true;
}

function blocked() {
  setAudio('blocked');
  ui.begin.hidden = clock.isPaused;
  say('Tap to begin the music.');
}

/**
 * Starts the music without a tap if the browser allows it. A silent probe asks first, so the
 * player's own elements are first played inside a tap where autoplay is refused (iOS needs that
 * for every element it will play later).
 */
function tryAutoplay() {
  const probe = document.createElement('audio');
  probe.src = silentClip(); // shared and kept: a refused play() leaves the clip still loading
  const allowed = () => {
    if (started || !player || clock.isPaused) return;
    started = true;
    startAudio();
  };
  Promise.resolve(probe.play()) // old Safari returns undefined
    .then(allowed, (error) => (error?.name === 'NotAllowedError' ? started || blocked() : allowed()))
    .finally(() => probe.pause());
}

function stopMusic() {
  player?.destroy(); // the last track has already faded out with the playlist's end
  player = null;
  prompts?.destroy();
  prompts = null;
  for (const audio of ui.root.querySelectorAll('audio[data-kap-audio]')) audio.remove();
  keepAwake(false);
  releaseChime();
  quietly(() => speechSynthesis.cancel());
  setAudio('off');
}

ui.begin.addEventListener('click', play);
ui.pause.addEventListener('click', () => {
  if (!player) return;
  if (clock.isPaused) play();
  else player.pause();
  tick();
});
ui.volume.addEventListener('input', () => {
  if (player) player.volume = ui.volume.value / 100;
  quietly(() => sessionStorage.setItem(VOLUME_KEY, ui.volume.value));
});

// ---- "I need to stop": pauses the music and the clock and offers help. It never ends the
// session (that is the clinician's decision with the patient); Resume goes on where it paused.
function stopping(on) {
  ui.stopPanel.hidden = !on;
  ui.root.dataset.stop = on ? 'y' : '';
  $('view-session').hidden = on || shown !== 'session';
  ui.music.hidden = on || shown !== 'session';
  ui.stop.hidden = on || shown !== 'session';
  if (on) ui.stopPanel.focus();
}

ui.stop.addEventListener('click', () => {
  if (player && !clock.isPaused) player.pause();
  else if (!player) clock.pause();
  stopping(true);
  tick();
});
ui.stopResume.addEventListener('click', () => {
  stopping(false);
  if (player) play();
  else clock.resume();
  tick();
  ui.pause.focus();
});
ui.stopCall.addEventListener('click', () => ui.yes.click()); // the Call staff flow, confirmed by this tap

// ---- Prompts.
function showCue(cue) {
  ui.intention.open = false; // the intention was read at the start; the prompts speak now
  ui.prompt.textContent = cue.text;
  ui.prompt.classList.remove('is-new');
  void ui.prompt.offsetWidth; // restart the gentle fade-in
  ui.prompt.classList.add('is-new');
  if (prompts?.active) return; // the prompt track sounds it, inside the media already playing
  const audio = ui.root.dataset.audio;
  if (audio === 'pending' || audio === 'blocked') lateCue = { cue, at: Date.now() };
  else announceCue(cue).catch(() => {}); // also when a track failed: the voice still guides
}

// ---- Views.
function enter(phase, w) {
  const first = shown === null;
  shown = phase;
  ui.root.dataset.phase = phase;
  for (const name of Object.keys(RANK)) $(`view-${name}`).hidden = name !== phase;
  ui.music.hidden = phase !== 'session';
  ui.stop.hidden = phase !== 'session';
  if (phase !== 'session') stopping(false);
  if (phase === 'session') {
    const passed = (data.cues ?? []).filter((cue) => cue.at_seconds <= w.elapsed).pop();
    ui.prompt.textContent = passed?.text ?? ''; // the last prompt, shown again after a reload
    ui.intentionText.textContent = data.intention ?? '';
    ui.intention.hidden = !data.intention;
    ui.intention.open = !passed;
    makePlayer();
    ui.pause.textContent = clock.isPaused ? 'Resume' : 'Pause';
    // Load or render the music once the first screen is up (autoplay or a tap may start it sooner).
    whenIdle(() => player?.prepare().catch(() => {}));
    if (clock.isPaused) {
      /* Resume is the tap that starts it */
    } else if (handed)
      play(); // unlocked by the Start session tap in this document: start now
    else tryAutoplay();
  } else {
    ui.prompt.textContent = '';
    stopMusic();
  }
  if (!first) say(SAID[phase]);
}

function render(w, now) {
  if (w.phase !== shown) enter(w.phase, w);
  if (w.phase === 'session') {
    const played = Math.min(Math.max(0, w.elapsed), musicEnd);
    ui.progress.value = Math.round((1000 * played) / (musicEnd || 1));
    const times = [clockText(Math.floor(played)), clockText(Math.ceil(musicEnd - played))];
    if (times.join() !== timeText) {
      timeText = times.join();
      [ui.elapsed.textContent, ui.remaining.textContent] = times;
    }
    const pos = positionAt(w.elapsed, playlist, data.crossfade_seconds);
    const index = pos ? (pos.fadingTo ?? pos.index) : playlist.length - 1;
    if (index !== trackIndex && playlist[index]) {
      trackIndex = index;
      ui.title.textContent = playlist[index].title;
      ui.of.textContent = `· ${index + 1} of ${playlist.length}`;
    }
  } else if (w.phase === 'downtime') {
    const text = clockText(Math.max(0, Math.ceil((w.downtimeEnd - now) / 1000)));
    if (text !== countdownText) ui.countdown.textContent = countdownText = text;
  }
}

function tick() {
  const now = Date.now();
  lastTick = now;
  const w = where(now);
  if (RANK[w.phase] >= RANK.downtime) record('downtime', w.downtimeEnd - downtimeMs);
  if (w.phase === 'integration') record('integration', w.downtimeEnd);
  render(w, now);
  if (w.phase === 'session') cues.tick(now);
  if (w.phase === 'integration') clearInterval(timer); // nothing left to time
}

// ---- Start.
startStaffCall({
  data,
  ui: { root: ui.root, call: ui.call, confirm: ui.confirm, yes: ui.yes, no: ui.no, status: ui.staff },
  outbox,
  user,
  zone: clinicZone(user).catch(() => undefined), // times as the clinic's pages show them
  directPost: postNow,
  uuid: core.uuid,
});
ui.root.hidden = false;
if (known === 'integration') forget();
timer = setInterval(tick, TICK_MS);
tick();
document.addEventListener('visibilitychange', tick);
