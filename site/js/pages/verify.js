// Border control: /verify#<compact JWS> (the visa's QR code) is verified on
// this device with WebCrypto against the published JWKS; or a visa number
// and passport number are checked online with
// GET /api/visas/{number}/verification?passport_number=...

import { start, onLanguageChange } from '../page.js';
import { t, el, formatDate, formatDateTime, countryName, has } from '../i18n.js';
import { get, ApiProblem } from '../api.js';
import { FormErrors, problemMessages, problemKey } from '../errors.js';
import { verifyCompactJws, readClaims, validityOn } from '../visa-token.js';
import { today } from '../dates.js';

// The last good JWKS, so a check still works with a poor connection.
const JWKS_CACHE_KEY = 'visa.jwks';

let tokenResult = null;   // {status, claims, validity, keysFrom}
let manualResult = null;  // {kind: 'found' | 'not-found' | 'problem', data?, key?}

async function loadJwks() {
  try {
    const jwks = await get('/.well-known/jwks.json');
    try { localStorage.setItem(JWKS_CACHE_KEY, JSON.stringify(jwks)); } catch { /* storage disabled */ }
    return { jwks, from: 'network' };
  } catch {
    try {
      const cached = JSON.parse(localStorage.getItem(JWKS_CACHE_KEY) || 'null');
      if (cached) return { jwks: cached, from: 'cache' };
    } catch { /* nothing cached */ }
    return { jwks: null, from: 'none' };
  }
}

function row(labelKey, value, name) {
  return el('div', { className: 'summary-list__row' }, [
    el('dt', { key: labelKey }),
    el('dd', { text: value === undefined || value === null ? '' : value, attrs: name ? { 'data-holder': name } : {} }),
  ]);
}

function categoryName(cat) {
  return has(`category.${cat}_visa`) ? t(`category.${cat}_visa`) : String(cat || '');
}

function panel(valid, titleKey, bodyKey, vars) {
  return el('div', { className: `panel${valid ? '' : ' panel--invalid'}`, attrs: { 'data-verdict': valid ? 'valid' : 'invalid' } }, [
    el('h2', { key: titleKey }),
    bodyKey ? el('div', { className: 'panel__body' }, [el('p', { key: bodyKey, vars })]) : null,
  ]);
}

function renderToken() {
  const host = document.getElementById('token-result');
  host.replaceChildren();
  delete host.dataset.signature;
  if (!tokenResult) return;
  const { status, claims, validity, keysFrom } = tokenResult;
  // Genuine (signature checks out) is separate from in force (today within validity).
  host.dataset.signature = status === 'valid' ? 'valid' : 'invalid';
  if (status !== 'valid') {
    host.append(panel(false, 'verify.invalid_title', `verify.reason.${status}`));
    return;
  }
  const inForce = validity === 'in-force';
  host.append(panel(inForce, inForce ? 'verify.valid_title' : 'verify.not_in_force_title', `verify.validity.${validity}`));
  host.append(el('p', { key: 'verify.compare' }));
  if (keysFrom === 'cache') host.append(el('p', { className: 'hint', key: 'verify.keys_cached' }));
  const issued = typeof claims.issuedAt === 'number' ? formatDateTime(new Date(claims.issuedAt * 1000).toISOString()) : '';
  host.append(el('dl', { className: 'summary-list', attrs: { 'data-holder-list': '' } }, [
    row('field.visa_number', claims.visaNumber, 'visa_number'),
    row('field.passport.surname', claims.surname, 'surname'),
    row('field.passport.given_names', claims.givenNames, 'given_names'),
    row('field.passport.nationality', claims.nationality ? countryName(claims.nationality) : '', 'nationality'),
    row('field.passport.date_of_birth', formatDate(claims.dateOfBirth), 'date_of_birth'),
    row('field.passport.number', claims.passportNumber, 'passport_number'),
    row('field.category', categoryName(claims.category), 'category'),
    row('field.valid_from', formatDate(claims.validFrom), 'valid_from'),
    row('field.valid_until', formatDate(claims.validUntil), 'valid_until'),
    issued ? row('field.issued_at', issued, 'issued_at') : null,
  ]));
  if (claims.visaNumber && claims.passportNumber) {
    const button = el('button', { className: 'button button--secondary', key: 'verify.check_online', attrs: { type: 'button' } });
    button.addEventListener('click', () => {
      const form = document.getElementById('verify-form');
      form.elements.visa_number.value = claims.visaNumber;
      form.elements.passport_number.value = claims.passportNumber;
      form.requestSubmit();
    });
    host.append(button);
  }
}

function renderManual() {
  const host = document.getElementById('manual-result');
  host.replaceChildren();
  delete host.dataset.status;
  if (!manualResult) return;
  if (manualResult.kind === 'not-found') {
    host.append(panel(false, 'verify.no_match_title', 'verify.no_match_body'));
    return;
  }
  if (manualResult.kind === 'problem') {
    host.append(el('p', { className: 'error-message', key: manualResult.key, attrs: { role: 'alert' } }));
    return;
  }
  const { data } = manualResult;
  const valid = data.valid === true;
  const statusText = data.status && has(`status.${data.status}`) ? t(`status.${data.status}`) : String(data.status || '');
  const visa = data.visa || {};
  // Why it is not valid, when the portal says (dates, or a review).
  const standingKey = `verify.standing.${data.status}`;
  // In force, the body says so (and, entered, that its holder is in the country).
  const body = has(standingKey) && (!valid || data.status === 'entered') ? standingKey
    : valid ? 'verify.online_valid_body' : 'verify.online_invalid_body';
  host.append(panel(valid, valid ? 'verify.valid_title' : 'verify.online_invalid_title', body,
    { status: statusText, from: formatDate(visa.valid_from), until: formatDate(visa.valid_until) }));
  host.dataset.status = String(data.status || '');
  const holder = data.holder || {};
  host.append(el('dl', { className: 'summary-list', attrs: { 'data-online-list': '' } }, [
    row('field.visa_number', visa.number, 'visa_number'),
    holder.surname !== undefined ? row('field.passport.surname', holder.surname, 'surname') : null,
    holder.given_names !== undefined ? row('field.passport.given_names', holder.given_names, 'given_names') : null,
    holder.nationality !== undefined ? row('field.passport.nationality', countryName(holder.nationality), 'nationality') : null,
    holder.date_of_birth !== undefined ? row('field.passport.date_of_birth', formatDate(holder.date_of_birth), 'date_of_birth') : null,
    holder.sex !== undefined ? row('field.passport.sex', has(`sex.${holder.sex}`) ? t(`sex.${holder.sex}`) : t('sex.X'), 'sex') : null,
    holder.passport_number !== undefined ? row('field.passport.number', holder.passport_number, 'passport_number') : null,
    row('field.category', categoryName(visa.category), 'category'),
    row('field.entries', visa.entries === 'single' ? t('visa.single_entry') : String(visa.entries || ''), 'entries'),
    row('field.valid_from', formatDate(visa.valid_from), 'valid_from'),
    row('field.valid_until', formatDate(visa.valid_until), 'valid_until'),
    visa.issued_at ? row('field.issued_at', formatDateTime(visa.issued_at), 'issued_at') : null,
  ]));
}

async function checkToken() {
  let compact = window.location.hash.replace(/^#/, '');
  try { compact = decodeURIComponent(compact).trim(); } catch { /* left as is: it will not parse */ }
  if (!compact) {
    tokenResult = null;
    renderToken();
    return;
  }
  const { jwks, from } = await loadJwks();
  const result = await verifyCompactJws(compact, jwks);
  const claims = readClaims(result.payload);
  tokenResult = {
    status: result.status === 'unknown-key' && !jwks ? 'no-keys' : result.status,
    claims,
    validity: result.status === 'valid' ? validityOn(claims, today()) : null,
    keysFrom: from,
  };
  renderToken();
}

function setUpManualForm() {
  const form = document.getElementById('verify-form');
  const errors = new FormErrors(form, document.getElementById('summary-host'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const number = form.elements.visa_number.value.replace(/\s+/g, '').toUpperCase();
    const passport = form.elements.passport_number.value.replace(/\s+/g, '').toUpperCase();
    const missing = [];
    if (!number) missing.push({ field: 'visa_number', key: 'missing.visa_number' });
    if (!passport) missing.push({ field: 'passport_number', key: 'missing.passport.number' });
    if (missing.length) {
      manualResult = null;
      renderManual();
      errors.show(missing);
      return;
    }
    errors.clear();
    try {
      const data = await get(`/visas/${encodeURIComponent(number)}/verification?passport_number=${encodeURIComponent(passport)}`);
      manualResult = { kind: 'found', data };
    } catch (err) {
      if (!(err instanceof ApiProblem)) throw err;
      if (err.status === 404) manualResult = { kind: 'not-found' };
      else if (err.status === 422) {
        manualResult = null;
        errors.show(problemMessages(err));
      } else manualResult = { kind: 'problem', key: problemKey(err) };
    }
    renderManual();
  });
}

start(async () => {
  setUpManualForm();
  onLanguageChange(() => { renderToken(); renderManual(); });
  window.addEventListener('hashchange', () => { checkToken(); });
  await checkToken();
});
