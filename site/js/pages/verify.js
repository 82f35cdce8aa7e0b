// Border control: the visa's QR code (/verify#<compact JWS>, opened by a
// phone's camera or scanned here) and its ICAO digital seal are verified on
// this device with WebCrypto against the published keys, kept for offline
// use (offline.js; the service worker keeps the page); or a visa number and
// passport number are checked online with
// GET /api/visas/{number}/verification?passport_number=...

import { start, onLanguageChange } from '../page.js';
import { t, el, formatDate, formatDateTime, countryName, has } from '../i18n.js';
import { get, ApiProblem } from '../api.js';
import { FormErrors, problemMessages, problemKey } from '../errors.js';
import { verifyCompactJws, readClaims, validityOn } from '../visa-token.js';
import { today } from '../dates.js';
import { verifySeal } from '../seal.js';
import { Scanner, cameraAvailable } from '../scan.js';
import { keepPageOffline, loadKeys, lastSynced } from '../offline.js';

let tokenResult = null;   // {status, claims, validity, keysFrom}
let sealResult = null;    // {status, visa?, seal?, validity?}
let manualResult = null;  // {kind: 'found' | 'not-found' | 'problem', data?, key?}
let keys = null;          // the last loadKeys() answer
let scanState = null;     // null | 'looking' | 'no-camera' | 'denied' | 'no-reader'
let scanner = null;

async function currentKeys() {
  keys = await loadKeys();
  renderSync();
  return keys;
}

function renderSync() {
  const host = document.getElementById('sync-status');
  const synced = keys ? keys.synced : lastSynced();
  const when = synced ? formatDateTime(synced) : '';
  let key = 'verify.sync.never';
  if (synced) key = keys && keys.from === 'cache' ? 'verify.sync.offline' : 'verify.sync.fresh';
  host.replaceChildren(el('p', { className: 'hint', key, vars: { when } }));
  host.dataset.synced = synced || '';
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

/** The compact JWS in a scanned QR code: the part after `#` of the visa's URL. */
function compactOf(text) {
  const hash = String(text || '').indexOf('#');
  let compact = hash >= 0 ? text.slice(hash + 1) : String(text || '');
  try { compact = decodeURIComponent(compact).trim(); } catch { /* left as is: it will not parse */ }
  return compact;
}

async function checkCompact(compact) {
  if (!compact) {
    tokenResult = null;
    renderToken();
    return;
  }
  const { jwks, from } = await currentKeys();
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

function checkToken() {
  return checkCompact(compactOf(window.location.hash));
}

/** The first day of a seal's validity: its last day less the days of stay (the e-visa's window). */
function sealValidity(visa) {
  const days = visa.durationOfStay ? visa.durationOfStay.days : 0;
  if (!visa.validUntil || !days) return 'unknown';
  const until = new Date(`${visa.validUntil}T00:00:00Z`);
  const from = new Date(until.getTime() - (days - 1) * 86400000).toISOString().slice(0, 10);
  return validityOn({ validFrom: from, validUntil: visa.validUntil }, today());
}

async function checkSeal(text) {
  const { jwks } = await currentKeys();
  const result = await verifySeal(text, jwks);
  const status = result.status === 'unknown-key' && !jwks ? 'no-keys' : result.status;
  sealResult = { ...result, status, validity: status === 'valid' ? sealValidity(result.visa) : null };
  renderSeal();
}

function renderSeal() {
  const host = document.getElementById('seal-result');
  host.replaceChildren();
  delete host.dataset.signature;
  if (!sealResult) return;
  const { status, visa, seal, validity } = sealResult;
  host.dataset.signature = status === 'valid' ? 'valid' : 'invalid';
  host.append(el('p', { className: 'caption', key: 'verify.seal_heading' }));
  if (status !== 'valid') {
    host.append(panel(false, 'verify.invalid_title', `verify.seal.reason.${status}`));
    return;
  }
  const inForce = validity === 'in-force';
  host.append(panel(inForce, inForce ? 'verify.valid_title' : 'verify.not_in_force_title', `verify.validity.${validity}`));
  if (!visa.checks) host.append(el('p', { className: 'error-message', key: 'verify.seal.mrz_checks_failed' }));
  // Both codes genuine but of two visas: a collage of two real visas.
  const qr = tokenResult && tokenResult.status === 'valid' ? tokenResult.claims : null;
  if (qr && qr.visaNumber !== visa.visaNumber) {
    host.append(el('p', { className: 'error-message', key: 'verify.seal.mismatch', attrs: { role: 'alert', 'data-mismatch': '' } }));
  }
  host.append(el('dl', { className: 'summary-list', attrs: { 'data-seal-list': '' } }, [
    row('field.visa_number', visa.visaNumber, 'visa_number'),
    row('field.passport.surname', visa.surname, 'surname'),
    row('field.passport.given_names', visa.givenNames, 'given_names'),
    row('field.passport.nationality', visa.nationality ? countryName(visa.nationality) : '', 'nationality'),
    row('field.passport.date_of_birth', visa.dateOfBirth ? formatDate(visa.dateOfBirth) : '', 'date_of_birth'),
    row('field.passport.sex', has(`sex.${visa.sex}`) ? t(`sex.${visa.sex}`) : t('sex.X'), 'sex'),
    row('field.passport.number', visa.passportNumber, 'passport_number'),
    row('field.valid_until', visa.validUntil ? formatDate(visa.validUntil) : '', 'valid_until'),
    visa.durationOfStay ? row('verify.seal.stay', t('verify.seal.days', { days: visa.durationOfStay.days }), 'stay') : null,
    visa.entries === 1 ? row('field.entries', t('visa.single_entry'), 'entries') : null,
    row('verify.seal.signer', `${seal.header.signer} ${seal.header.certificateReference}`, 'signer'),
  ]));
}

function renderScan() {
  const status = document.getElementById('scan-status');
  const video = document.getElementById('scan-video');
  const start = document.getElementById('scan-start');
  const stop = document.getElementById('scan-stop');
  const looking = scanState === 'looking';
  video.hidden = !looking;
  stop.hidden = !looking;
  start.hidden = looking;
  status.replaceChildren();
  if (scanState) {
    status.append(el('p', {
      className: looking ? 'hint' : 'error-message',
      key: `verify.scan.${scanState}`,
    }));
  }
}

async function startScan() {
  if (!cameraAvailable()) {
    scanState = 'no-camera';
    renderScan();
    return;
  }
  const video = document.getElementById('scan-video');
  const found = { qr: null, seal: null, frames: 0 };
  scanner = new Scanner(video, async (codes) => {
    for (const code of codes) {
      if (code.format === 'qr_code' && !found.qr) found.qr = code.rawValue;
      if (code.format === 'data_matrix' && !found.seal) found.seal = code.rawValue;
    }
    // One code found: a few more frames for the other, which may be
    // out of view or out of focus.
    found.frames += 1;
    return (found.qr && found.seal) || found.frames > 6;
  });
  scanState = 'looking';
  renderScan();
  try {
    await scanner.start();
  } catch (err) {
    scanner.stop();
    scanState = err && err.name === 'NotAllowedError' ? 'denied'
      : err && /vendor|WebAssembly|load/i.test(String(err.message)) ? 'no-reader' : 'denied';
    renderScan();
    return;
  }
  if (scanState !== 'looking') return; // stopped by hand
  scanState = null;
  renderScan();
  tokenResult = null;
  sealResult = null;
  renderToken();
  renderSeal();
  if (found.qr) await checkCompact(compactOf(found.qr));
  if (found.seal) await checkSeal(found.seal);
  document.getElementById(found.qr ? 'token-result' : 'seal-result').focus();
}

function setUpScanner() {
  document.getElementById('scan-start').addEventListener('click', () => { startScan(); });
  document.getElementById('scan-stop').addEventListener('click', () => {
    scanState = null;
    if (scanner) scanner.stop();
    renderScan();
  });
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
  setUpScanner();
  onLanguageChange(() => { renderSync(); renderScan(); renderToken(); renderSeal(); renderManual(); });
  window.addEventListener('hashchange', () => { checkToken(); });
  renderSync();
  keepPageOffline();
  if (window.location.hash.length > 1) await checkToken();
  else await currentKeys();
});
