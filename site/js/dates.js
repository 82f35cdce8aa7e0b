// Dates typed the GOV.UK way, as day, month and year in three inputs.

/** `{day, month, year}` text -> `YYYY-MM-DD`, or null if it is no real date. */
export function dateFromParts(day, month, year) {
  const d = Number(day);
  const m = Number(month);
  const y = Number(year);
  if (!/^\d{1,2}$/.test(day) || !/^\d{1,2}$/.test(month) || !/^\d{4}$/.test(year)) return null;
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return null;
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** Today's date, `YYYY-MM-DD`, in the browser's time zone. */
export function today(now = new Date()) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/** Today's date, `YYYY-MM-DD`, in Kazakhstan (UTC+5, no daylight saving), where the API counts its days. */
export function kazakhstanToday(now = new Date()) {
  return new Date(now.getTime() + 5 * 3_600_000).toISOString().slice(0, 10);
}

/** Whole days from one `YYYY-MM-DD` date to another (negative when `to` comes first). */
export function daysBetween(from, to) {
  const ms = (iso) => Date.UTC(Number(iso.slice(0, 4)), Number(iso.slice(5, 7)) - 1, Number(iso.slice(8, 10)));
  return Math.round((ms(to) - ms(from)) / 86_400_000);
}
