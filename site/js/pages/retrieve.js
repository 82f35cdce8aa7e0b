// "Get your e-visa again" (a phone lost at the airport), without signing
// in: the visa number, the passport number and the date of birth, all
// three, give a fresh download link (POST /api/visa-retrievals). Every miss
// is the same 404, so the page never says which detail is wrong; misses are
// limited per client (429). The link works for minutes only: a click after
// it has lapsed asks for a new one with the details that matched, which are
// kept in this page's memory and nowhere else.

import { start, onLanguageChange } from '../page.js';
import { el, formatDateTime, updateTitle } from '../i18n.js';
import { post, ApiProblem } from '../api.js';
import { FormErrors, problemMessages, problemKey } from '../errors.js';
import { dateFromParts, today } from '../dates.js';
import { visaLink, visaFileName, saveVisa } from '../visa-download.js';

// Visa numbers are 9 characters A-Z0-9 (docs/API.md); passport numbers letters and digits.
const VISA_NUMBER = /^[A-Z0-9]{9}$/;
const PASSPORT_NUMBER = /^[A-Z0-9]+$/;
// A link this close to its end is renewed rather than followed.
const MARGIN_MS = 10_000;

// What each state is called in the page title.
const STATES = {
  ask: { title: 'retrieve.title' },
  found: { title: 'retrieve.found_title' },
};

let asked = null;    // the details that matched, for a new link
let found = null;    // {visa_number, url, expires_at}
let downloadProblem = null;

/** Shows one state and names the page after it; `focus` moves focus to its heading. */
function show(state, { focus = false } = {}) {
  for (const section of document.querySelectorAll('[data-state]')) section.hidden = section.getAttribute('data-state') !== state;
  document.getElementById('main').setAttribute('data-shown', state);
  document.documentElement.setAttribute('data-title', STATES[state].title);
  updateTitle();
  if (focus) document.querySelector(`[data-state="${state}"] h1`).focus();
}

/** The message for a failed retrieval: a miss never names a field. */
function problemList(err) {
  // 429 from the portal or from the WAF in front of it.
  if (err.status === 429) return [{ field: null, key: 'retrieve.too_many' }];
  if (err.slug === 'not-found') return [{ field: null, key: 'retrieve.not_found' }];
  return problemMessages(err);
}

/** Reads the form; returns {body, errors}. Only what can never match is refused here. */
function read(form) {
  const v = (name) => form.elements[name].value.trim();
  const errors = [];
  const visaNumber = v('visa_number').replace(/[\s-]+/g, '').toUpperCase();
  if (!visaNumber) errors.push({ field: 'visa_number', key: 'missing.visa_number' });
  else if (!VISA_NUMBER.test(visaNumber)) errors.push({ field: 'visa_number', key: 'validation.visa_number' });
  const passportNumber = v('passport_number').replace(/\s+/g, '').toUpperCase();
  if (!passportNumber) errors.push({ field: 'passport_number', key: 'missing.passport.number' });
  else if (!PASSPORT_NUMBER.test(passportNumber)) errors.push({ field: 'passport_number', key: 'validation.passport_number' });
  const parts = ['day', 'month', 'year'].map((p) => v(`dob-${p}`));
  let dateOfBirth = null;
  if (parts.every((p) => !p)) {
    errors.push({ field: 'date_of_birth', key: 'missing.passport.date_of_birth' });
  } else {
    dateOfBirth = dateFromParts(...parts);
    if (!dateOfBirth || dateOfBirth > today()) errors.push({ field: 'date_of_birth', key: 'validation.date_of_birth' });
  }
  return { body: { visa_number: visaNumber, passport_number: passportNumber, date_of_birth: dateOfBirth }, errors };
}

function renderFound() {
  const link = document.getElementById('download-link');
  const expiry = document.getElementById('link-expiry');
  if (!found) {
    link.removeAttribute('href');
    link.removeAttribute('download');
    expiry.replaceChildren();
    return;
  }
  document.querySelector('[data-visa-number]').textContent = found.visa_number || '';
  link.href = visaLink(found);
  link.download = visaFileName(found);
  expiry.setAttribute('data-expires-at', found.expires_at || '');
  expiry.replaceChildren(el('span', { key: 'retrieve.link_expires', vars: { time: formatDateTime(found.expires_at) } }));
}

function renderDownloadProblem() {
  const host = document.getElementById('download-problem');
  host.replaceChildren();
  if (downloadProblem) host.append(el('p', { className: 'error-message', key: downloadProblem, attrs: { role: 'alert' } }));
}

/** A link still in time is followed as it is; a lapsed one is replaced first. */
async function onDownload(ev) {
  if (!found || !asked) return;
  const ends = Date.parse(found.expires_at);
  if (Date.now() < ends - MARGIN_MS) return;
  ev.preventDefault();
  downloadProblem = null;
  renderDownloadProblem();
  try {
    found = await post('/visa-retrievals', asked);
    renderFound();
    saveVisa(found);
  } catch (err) {
    if (!(err instanceof ApiProblem)) throw err;
    downloadProblem = err.status === 429 ? 'retrieve.too_many' : err.slug === 'not-found' ? 'retrieve.not_found' : problemKey(err);
    renderDownloadProblem();
  }
}

start(async () => {
  show('ask');
  const form = document.getElementById('retrieve-form');
  const errors = new FormErrors(form, document.getElementById('summary-host'));
  onLanguageChange(() => { renderFound(); renderDownloadProblem(); });
  document.getElementById('download-link').addEventListener('click', onDownload);

  document.getElementById('another').addEventListener('click', () => {
    asked = null;
    found = null;
    downloadProblem = null;
    renderFound();
    renderDownloadProblem();
    form.reset();
    errors.clear();
    show('ask', { focus: true });
  });

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const { body, errors: wrong } = read(form);
    if (wrong.length) {
      errors.show(wrong);
      return;
    }
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const answer = await post('/visa-retrievals', body);
      errors.clear();
      asked = body;
      found = answer;
      downloadProblem = null;
      renderFound();
      renderDownloadProblem();
      show('found', { focus: true });
    } catch (err) {
      if (!(err instanceof ApiProblem)) throw err;
      errors.show(problemList(err));
    } finally {
      button.disabled = false;
    }
  });
});
