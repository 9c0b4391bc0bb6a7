// When Start session may be pressed and day-of items ticked, as the server decides it
// (kap/services/sessions/start_window.py). The phone only keeps the buttons honest and says why; the
// server checks again. Times are shown in the clinic's zone, as the server's pages show them.

const FORMAT_LOCALE = 'en-GB'; // "Thursday 10 December", "08:00": the server's wording

function format(iso, options, zone) {
  const withZone = { ...options };
  if (zone) {
    try {
      new Intl.DateTimeFormat(FORMAT_LOCALE, { timeZone: zone });
      withZone.timeZone = zone;
    } catch {
      // an unknown zone: the phone's own
    }
  }
  return new Intl.DateTimeFormat(FORMAT_LOCALE, withZone).format(new Date(iso));
}

/** "Thursday 10 December" in `zone`. */
export const dayLabel = (iso, zone) => format(iso, { weekday: 'long', day: 'numeric', month: 'long' }, zone);

/** "08:00" in `zone`. */
export const clockLabel = (iso, zone) => format(iso, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }, zone);

/** 'before', 'open' or 'after' the window {opens_at, closes_at} at `now` (ms); 'open' if unknown. */
export function windowState(window, now = Date.now()) {
  const opens = Date.parse(window?.opens_at ?? '');
  const closes = Date.parse(window?.closes_at ?? '');
  if (Number.isNaN(opens) || Number.isNaN(closes)) return 'open';
  if (now < opens) return 'before';
  return now < closes ? 'open' : 'after';
}

/** Why the session cannot start at `now`, worded as the server words it; '' inside the window. */
export function notTodayMessage(window, now, zone) {
  const state = windowState(window, now);
  if (state === 'before') {
    return `This session can start from ${clockLabel(window.opens_at, zone)} on ${dayLabel(window.opens_at, zone)}.`;
  }
  if (state === 'after') {
    const lastMoment = new Date(Date.parse(window.closes_at) - 1).toISOString();
    return `This session was booked for ${dayLabel(lastMoment, zone)}; it can no longer be started. Please contact the clinic.`;
  }
  return '';
}

/** A day-of item that cannot be ticked yet at `now` (never one already ticked: it may be unticked). */
export const notYetTickable = (item, now = Date.now()) =>
  Boolean(item.tickable_from) && !item.checked && now < Date.parse(item.tickable_from);

/** "You can tick this from Wednesday 9 December." */
export const tooEarlyMessage = (iso, zone) => `You can tick this from ${dayLabel(iso, zone)}.`;
