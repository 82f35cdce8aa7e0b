// Translations and locale-aware formatting. Every visible word comes from
// /i18n/<lang>.json, keyed by meaning; the HTML templates carry only keys
// (the server sends each page with them filled in the reader's language,
// so a page reads before this script runs):
//   data-i18n="key"                 -> the element's text
//   data-i18n-vars='{"n": 3}'       -> its placeholders (plain values only)
//   data-i18n-attr="attr:key;..."   -> attributes (aria-label, ...)
// A language change re-translates the document in place and fires
// `languagechange` on document so pages re-render what they built.

export const LANGUAGES = [
  { code: 'en', name: 'English' },
  { code: 'ru', name: 'Русский' },
  { code: 'kk', name: 'Қазақша' },
];
const CODES = LANGUAGES.map((l) => l.code);
const STORAGE_KEY = 'visa.lang';
// The server's copy of the choice: the next page arrives in it, its words
// already in the HTML (infra/site; CloudFront's function in the cloud).
const COOKIE = 'visa_lang';

function rememberForServer(code) {
  const secure = location.protocol === 'https:' ? '; Secure' : '';
  document.cookie = `${COOKIE}=${code}; Path=/; Max-Age=31536000; SameSite=Lax${secure}`;
}

let lang = 'en';
let messages = {};
let countries = {};

export function currentLanguage() {
  return lang;
}

/** The reader's remembered choice, if any. */
function storedLanguage() {
  let stored = null;
  try { stored = localStorage.getItem(STORAGE_KEY); } catch { /* storage disabled */ }
  return CODES.includes(stored) ? stored : null;
}

/** The remembered choice, else the browser's first supported language, else English. */
export function preferredLanguage() {
  const stored = storedLanguage();
  if (stored) return stored;
  for (const tag of navigator.languages || [navigator.language || 'en']) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (CODES.includes(base)) return base;
  }
  return 'en';
}

async function fetchJson(path) {
  const res = await fetch(path, { headers: { Accept: 'application/json' } });
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return res.json();
}

/** Loads a language, remembers it, and translates the document. */
export async function setLanguage(code, { remember = true } = {}) {
  if (!CODES.includes(code)) code = 'en';
  const [m, c] = await Promise.all([
    fetchJson(`/i18n/${code}.json`),
    fetchJson(`/i18n/countries.${code}.json`).catch(() => ({})),
  ]);
  messages = m;
  countries = c;
  lang = code;
  if (remember) {
    try { localStorage.setItem(STORAGE_KEY, code); } catch { /* storage disabled */ }
  }
  // A choice made before the cookie existed reaches the server too.
  if (remember || storedLanguage() === code) rememberForServer(code);
  document.documentElement.lang = code;
  translate(document);
  document.documentElement.setAttribute('data-i18n-ready', '');
  document.dispatchEvent(new CustomEvent('languagechange', { detail: { lang: code } }));
}

/** The message for a key, with `{name}` placeholders filled in. */
export function t(key, vars = {}) {
  const template = Object.prototype.hasOwnProperty.call(messages, key) ? messages[key] : key;
  return String(template).replace(/\{(\w+)\}/g, (whole, name) =>
    Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : whole);
}

export function has(key) {
  return Object.prototype.hasOwnProperty.call(messages, key);
}

/** Applies data-i18n and data-i18n-attr below root (root included). */
export function translate(root) {
  const nodes = [];
  if (root.nodeType === 1) nodes.push(root);
  nodes.push(...root.querySelectorAll('[data-i18n], [data-i18n-attr]'));
  for (const el of nodes) {
    const key = el.getAttribute('data-i18n');
    if (key) {
      let vars = {};
      try { vars = JSON.parse(el.getAttribute('data-i18n-vars') || '{}'); } catch { vars = {}; }
      el.textContent = t(key, vars);
    }
    const attrs = el.getAttribute('data-i18n-attr');
    if (attrs) {
      for (const pair of attrs.split(';')) {
        const [attr, k] = pair.split(':').map((s) => s.trim());
        if (attr && k) el.setAttribute(attr, t(k));
      }
    }
  }
  updateTitle();
}

/** The page title: "<page> – <service>", prefixed with "Error:" while a form shows errors (GOV.UK). */
export function updateTitle() {
  const html = document.documentElement;
  const pageKey = html.getAttribute('data-title');
  if (!pageKey || !has(pageKey)) return;
  const title = t('title.pattern', { page: t(pageKey), service: t('service.name') });
  document.title = html.hasAttribute('data-has-errors') ? t('title.error', { title }) : title;
}

/** Creates an element with a translated text (or plain text via `text`). */
export function el(tag, { key, vars, text, className, attrs } = {}, children = []) {
  const node = document.createElement(tag);
  if (key) node.textContent = t(key, vars);
  else if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  if (attrs) for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? '' : v);
  for (const child of children) if (child) node.append(child);
  return node;
}

// ---------- Formatting ----------
// Chromium's bundled ICU has no Kazakh data, yet claims to support "kk"
// and then formats with the root locale ("2026 M12 1", "$ 60.00"). So a
// language counts as supported only if a long month really comes out as a
// name. Where it does not, dates are built from the translation file's
// month names and pattern, and numbers use Russian conventions, which
// CLDR's Kazakh data shares (space grouping, decimal comma, symbol after).
const NUMBER_FALLBACK = { kk: 'ru' };
// English as an international service writes "9 December 2026", not "December 9, 2026".
const INTL_TAG = { en: 'en-GB' };
const localeData = new Map();

function hasLocaleData(code) {
  if (!localeData.has(code)) {
    let ok = false;
    try {
      const parts = new Intl.DateTimeFormat(code, { month: 'long', timeZone: 'UTC' }).formatToParts(new Date(Date.UTC(2026, 11, 1)));
      const month = parts.find((p) => p.type === 'month');
      ok = Intl.DateTimeFormat.supportedLocalesOf([code]).length > 0 && Boolean(month) && !/^M?\d+$/.test(month.value);
    } catch {
      ok = false;
    }
    localeData.set(code, ok);
  }
  return localeData.get(code);
}

function intlLocale() {
  return hasLocaleData(lang) ? (INTL_TAG[lang] || lang) : (NUMBER_FALLBACK[lang] || 'en');
}

function parseDate(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(iso || ''));
  if (!m) return null;
  return { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
}

/** A `YYYY-MM-DD` date in the current language: "1 December 2026". */
export function formatDate(iso) {
  const d = parseDate(iso);
  if (!d) return iso ? String(iso) : '';
  if (hasLocaleData(lang)) {
    return new Intl.DateTimeFormat(intlLocale(), { year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' })
      .format(new Date(Date.UTC(d.year, d.month - 1, d.day)));
  }
  return t('format.date', { day: d.day, month: t(`format.month.${d.month}`), year: d.year });
}

/** An RFC 3339 instant in the current language, in the browser's time zone. */
export function formatDateTime(instant) {
  const date = new Date(instant);
  if (Number.isNaN(date.getTime())) return instant ? String(instant) : '';
  if (hasLocaleData(lang)) {
    return new Intl.DateTimeFormat(intlLocale(), { dateStyle: 'long', timeStyle: 'short' }).format(date);
  }
  const pad = (n) => String(n).padStart(2, '0');
  const day = t('format.date', { day: date.getDate(), month: t(`format.month.${date.getMonth() + 1}`), year: date.getFullYear() });
  return t('format.date_time', { date: day, time: `${pad(date.getHours())}:${pad(date.getMinutes())}` });
}

/** The time of day of an instant in the current language ("14:35"), with its date when that is not today. */
export function formatTime(instant) {
  const date = new Date(instant);
  if (Number.isNaN(date.getTime())) return '';
  if (date.toDateString() !== new Date().toDateString()) return formatDateTime(date);
  if (hasLocaleData(lang)) {
    return new Intl.DateTimeFormat(intlLocale(), { timeStyle: 'short' }).format(date);
  }
  const pad = (n) => String(n).padStart(2, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** Money `{amount_minor, currency}` in the current language: "$60.00", "60,00 $". */
export function formatMoney(money) {
  if (!money || typeof money.amount_minor !== 'number' || !money.currency) return '';
  const currency = String(money.currency).toUpperCase();
  let digits = 2;
  try {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
  } catch { /* unknown currency code: assume 2 */ }
  const locale = intlLocale();
  try {
    return new Intl.NumberFormat(locale, { style: 'currency', currency }).format(money.amount_minor / 10 ** digits);
  } catch {
    return `${(money.amount_minor / 10 ** digits).toFixed(digits)} ${currency}`;
  }
}

/** A country's name in the current language from its ISO 3166-1 alpha-3 code. */
export function countryName(code, fallback) {
  const c = String(code || '').toUpperCase();
  return countries[c] || fallback || c;
}

/** All known alpha-3 codes, sorted by their name in the current language. */
export function allCountryCodes() {
  return sortByName(Object.keys(countries), (c) => countryName(c));
}

export function sortByName(items, nameOf) {
  // Without Kazakh data the Russian order is the closest there is; letters only Kazakh has (Ә, Ғ, Қ ...) may sort slightly off.
  const collator = new Intl.Collator(intlLocale());
  return [...items].sort((a, b) => collator.compare(nameOf(a), nameOf(b)));
}

/** Entry points come as "Astana International Airport (NQZ)": translated by their IATA code. */
export function entryPointName(text) {
  const m = /\(([A-Z]{3})\)\s*$/.exec(String(text || ''));
  if (m && has(`airport.${m[1]}`)) return t(`airport.${m[1]}`);
  return String(text || '');
}
