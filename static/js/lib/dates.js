// Dates as the server's pages write them (kap/web/templating.py local_datetime), so an offline
// page and its online twin read the same: "Mon 23 Nov 2026, 10:00", "Mon 23 Nov 2026",
// "Mon 23 Nov, 10:00". Always in the clinic's time zone when it is known.

const PARTS = { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' };

function parts(date, zone) {
  let format;
  try {
    format = new Intl.DateTimeFormat('en-US', { ...PARTS, hourCycle: 'h23', ...(zone ? { timeZone: zone } : {}) });
  } catch {
    format = new Intl.DateTimeFormat('en-US', { ...PARTS, hourCycle: 'h23' }); // an unknown zone
  }
  const out = {};
  for (const { type, value } of format.formatToParts(date)) out[type] = value;
  return out;
}

/**
 * @param {string | Date} when  an ISO 8601 time or a Date
 * @param {'full' | 'date' | 'short' | 'time'} style  as the server's `local` filter
 * @param {string | null} zone  the clinic's IANA time zone
 */
export function localLabel(when, style = 'full', zone = null) {
  const date = when instanceof Date ? when : new Date(when);
  if (Number.isNaN(date.getTime())) return '';
  const p = parts(date, zone);
  const day = `${p.weekday} ${Number(p.day)} ${p.month}`;
  const time = `${p.hour}:${p.minute}`;
  if (style === 'date') return `${day} ${p.year}`;
  if (style === 'short') return `${day}, ${time}`;
  if (style === 'time') return time;
  return `${day} ${p.year}, ${time}`;
}
