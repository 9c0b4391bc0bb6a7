// Session timeline maths (pure, no DOM): track starts, playback position, fades and phases.
//
// The server implements the identical rule, so a reload, another device and the server all
// agree on where the session is: effective cross-fade between tracks i and i+1 is
// min(crossfade, duration_i / 2, duration_{i+1} / 2); track i+1 starts at
// start_i + duration_i - that cross-fade.

const duration = (track) => Math.max(0, Number(track?.duration_seconds) || 0);

/**
 * Effective cross-fade (s) from track a to track b; a negative or missing setting counts as 0.
 * @param {{duration_seconds: number}} a @param {{duration_seconds: number}} b @param {number} crossfade
 */
export function effectiveCrossfade(a, b, crossfade) {
  return Math.max(0, Math.min(Number(crossfade) || 0, duration(a) / 2, duration(b) / 2));
}

/** Start of every track, in seconds from the session start. @returns {number[]} */
export function trackStarts(playlist, crossfade) {
  const starts = [];
  let at = 0;
  playlist.forEach((track, i) => {
    if (i > 0) at += duration(playlist[i - 1]) - effectiveCrossfade(playlist[i - 1], track, crossfade);
    starts.push(at);
  });
  return starts;
}

/** Playlist length (s): start of the last track plus its duration, 0 when empty. */
export function playlistLength(playlist, crossfade) {
  if (!playlist.length) return 0;
  const starts = trackStarts(playlist, crossfade);
  return starts[starts.length - 1] + duration(playlist[playlist.length - 1]);
}

/**
 * Where playback is at `elapsed` s: the earliest track still sounding, seconds into it, and during
 * a cross-fade the incoming track's index. Before 0 counts as 0; after the end, null.
 * @returns {{index: number, offset: number, fadingTo: number|null} | null}
 */
export function positionAt(elapsed, playlist, crossfade) {
  const e = Math.max(0, Number(elapsed) || 0);
  const starts = trackStarts(playlist, crossfade);
  for (let i = 0; i < playlist.length; i++) {
    if (e < starts[i] + duration(playlist[i])) {
      const next = i + 1 < playlist.length && e >= starts[i + 1] ? i + 1 : null;
      return { index: i, offset: e - starts[i], fadingTo: next };
    }
  }
  return null;
}

// Equal-power curve: the outgoing sin((1-p)·π/2) = cos(p·π/2) and the incoming sin(p·π/2)
// keep the summed loudness steady through a cross-fade.
const shape = (x, span) => (span > 0 ? Math.sin(Math.min(1, Math.max(0, x / span)) * (Math.PI / 2)) : 1);

/**
 * Gain 0–1 of track `index` at `offset` s into it: equal-power cross-fades with its neighbours,
 * and as gentle a fade in at the first track and out at the last.
 */
export function fadeGain(index, offset, playlist, crossfade) {
  const track = playlist[index];
  if (!track) return 0;
  const d = duration(track);
  const edge = Math.max(0, Math.min(Number(crossfade) || 0, d / 2));
  const fadeIn = index > 0 ? effectiveCrossfade(playlist[index - 1], track, crossfade) : edge;
  const fadeOut = index < playlist.length - 1 ? effectiveCrossfade(track, playlist[index + 1], crossfade) : edge;
  return shape(offset, fadeIn) * shape(d - offset, fadeOut);
}

/**
 * Phase at `elapsed` s: "session" while the playlist plays, "downtime" for downtime_minutes, then
 * "integration". `data` is the session JSON.
 * @returns {"session"|"downtime"|"integration"}
 */
export function phaseAt(elapsed, data) {
  const end = playlistLength(data.playlist ?? [], data.crossfade_seconds);
  if (elapsed < end) return 'session';
  if (elapsed < end + downtimeSeconds(data)) return 'downtime';
  return 'integration';
}

/** Seconds of downtime ahead at `elapsed`: all of it during the session, then counting down to 0. */
export function downtimeRemaining(elapsed, data) {
  const total = downtimeSeconds(data);
  const end = playlistLength(data.playlist ?? [], data.crossfade_seconds) + total;
  return Math.min(total, Math.max(0, end - elapsed));
}

/**
 * Cues with fromSec < at_seconds ≤ toSec, sorted (stably); a negative fromSec includes a cue at 0.
 * @template {{at_seconds: number}} T @param {T[]} cues @returns {T[]}
 */
export function cuesBetween(cues, fromSec, toSec) {
  return (cues ?? [])
    .filter((cue) => cue.at_seconds > fromSec && cue.at_seconds <= toSec)
    .sort((a, b) => a.at_seconds - b.at_seconds);
}

function downtimeSeconds(data) {
  return Math.max(0, Number(data.downtime_minutes) || 0) * 60;
}
