// The inviting party's page (/host). A Kazakh organisation (by its BIN)
// or resident (by their IIN) is an ordinary account with a host record
// beside it (docs/DESIGN.md, "Inviting parties"), so the page signs in
// like the cabinet and then shows one state: no host record yet (GET
// /api/hosts/current 404: the registration form, POST /api/hosts), waiting
// for an officer's approval, refused (with the officer's reason), or
// approved: the request form (one to ten foreigners at once, POST
// /api/hosts/current/invitation-requests), the requests with their
// decisions, and each invited foreigner's stage
// (GET /api/hosts/current/invitees). Once border control records an
// invitee's entry, the host notifies the migration service of the arrival
// (the address of stay and its dates) by the third working day: the
// arrivals (GET /api/hosts/current/arrivals), each notice not filed yet
// with its form (POST /api/hosts/current/arrivals/{request_id}/notice).

import { start, onLanguageChange } from '../page.js';
import { el, t, translate, formatDate, formatDateTime, countryName, allCountryCodes, LANGUAGES } from '../i18n.js';
import { get, post, getSession, ApiProblem } from '../api.js';
import { FormErrors, problemMessages, problemKey } from '../errors.js';
import { dateFromParts, kazakhstanToday, daysBetween } from '../dates.js';

// docs/API.md: a request names one to ten foreigners.
const MAX_INVITEES = 10;

const VIEWS = ['signed-out-view', 'register-view', 'status-view', 'arrivals-view', 'request-view', 'requests-view', 'invitees-view'];

let host = null; // GET /api/hosts/current, once known (null: not registered)
let requests = null;
let invitees = null;
let arrivals = null;
let sent = null; // how many requests the last batch made, while its message shows

function showViews(shown) {
  document.getElementById('host-loading').hidden = true;
  for (const id of VIEWS) document.getElementById(id).hidden = !shown.includes(id);
}

/** el() whose text follows a language change: setLanguage re-translates every data-i18n in the document. */
function live(tag, options = {}, children = []) {
  const node = el(tag, options, children);
  if (options.key) {
    node.setAttribute('data-i18n', options.key);
    if (options.vars) node.setAttribute('data-i18n-vars', JSON.stringify(options.vars));
  }
  return node;
}

function row(key, value, attrs = {}) {
  return el('div', { className: 'summary-list__row', attrs }, [
    el('dt', { key }),
    el('dd', {}, [value instanceof Node ? value : document.createTextNode(value)]),
  ]);
}

function fullName(invitee) {
  return [invitee.surname, invitee.given_names].filter(Boolean).join(' ');
}

// ---------- the host's own record ----------

function renderStatus() {
  const box = document.getElementById('host-status');
  box.replaceChildren();
  if (!host) return;
  if (host.status === 'pending_approval') {
    box.append(el('div', { className: 'banner', attrs: { role: 'region', 'aria-labelledby': 'host-banner-title', 'data-host-banner': 'pending' } }, [
      el('h3', { className: 'banner__title', key: 'host.pending.title', attrs: { id: 'host-banner-title' } }),
      el('div', { className: 'banner__content' }, [el('p', { key: 'host.pending.body' })]),
    ]));
  } else if (host.status === 'refused') {
    box.append(el('div', { className: 'banner', attrs: { role: 'region', 'aria-labelledby': 'host-banner-title', 'data-host-banner': 'refused' } }, [
      el('h3', { className: 'banner__title', key: 'host.refused.title', attrs: { id: 'host-banner-title' } }),
      el('div', { className: 'banner__content' }, [
        el('p', { key: 'host.refused.body', vars: { date: formatDate(String(host.decided_at || '').slice(0, 10)) } }),
        el('p', { key: 'host.refused.reason' }),
        el('p', { className: 'inset', text: host.reason || '', attrs: { 'data-host-reason': '' } }),
        el('p', { key: 'host.refused.next' }),
      ]),
    ]));
  }
  const rows = [
    row('host.field.status', el('strong', { className: `tag tag--${host.status}`, key: `host.status.${host.status}`, attrs: { 'data-host-status': host.status } })),
    row('host.field.kind', t(`host.kind_short.${host.kind}`)),
    row('host.field.number', host.number),
    row('host.field.name', host.name),
    row('host.field.contact', `${host.contact.name}, ${host.contact.phone}`),
    row('host.field.registered', formatDateTime(host.created_at)),
  ];
  if (host.decided_at) rows.push(row('host.field.decided', formatDateTime(host.decided_at)));
  // An approval may carry the officer's note; a refusal's reason is in the banner above.
  if (host.status === 'approved' && host.reason) rows.push(row('host.field.note', host.reason, { 'data-host-note': '' }));
  box.append(el('dl', { className: 'summary-list' }, rows));
}

/** Shows the state the host record is in; `focus` moves there (after registering). */
function showHost({ focus = false } = {}) {
  if (!host) {
    showViews(['register-view']);
    return;
  }
  renderStatus();
  if (host.status === 'approved') {
    showViews(['status-view', 'arrivals-view', 'request-view', 'requests-view', 'invitees-view']);
    renderArrivals();
    renderRequests();
    renderInvitees();
  } else {
    showViews(['status-view']);
  }
  if (focus) document.getElementById('status-title').focus();
}

async function loadHost() {
  try {
    host = await get('/hosts/current', { auth: true });
  } catch (err) {
    if (!(err instanceof ApiProblem) || err.slug !== 'not-found') throw err;
    host = null;
  }
  if (host && host.status === 'approved') await loadLists();
}

// ---------- registering ----------

function wireRegistration() {
  const form = document.getElementById('host-form');
  const errors = new FormErrors(form, document.getElementById('summary-host'));
  const unverified = document.getElementById('email-not-verified');
  let busy = false;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (busy) return;
    const f = form.elements;
    const body = {
      kind: f.kind.value,
      number: f.number.value.replace(/[\s-]+/g, ''),
      name: f.host_name.value.trim(),
      contact: { name: f.contact_name.value.trim(), phone: f.contact_phone.value.trim() },
    };
    // Only presence here: the BIN/IIN's check digit and the phone's format are the API's rules.
    const found = [];
    if (!body.kind) found.push({ field: 'kind', key: 'missing.kind' });
    if (!body.number) found.push({ field: 'number', key: 'missing.host_number' });
    if (!body.name) found.push({ field: 'name', key: 'missing.host_name' });
    if (!body.contact.name) found.push({ field: 'contact.name', key: 'missing.contact.name' });
    if (!body.contact.phone) found.push({ field: 'contact.phone', key: 'missing.contact.phone' });
    unverified.hidden = true;
    if (found.length) {
      errors.show(found);
      return;
    }
    busy = true;
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      host = await post('/hosts', body, { auth: true });
      errors.clear();
      showHost({ focus: true });
    } catch (err) {
      if (!(err instanceof ApiProblem)) throw err;
      if (err.slug === 'unauthenticated') return; // on the way to sign in
      if (err.slug === 'host-exists') {
        // This account may have registered meanwhile (another tab): show where it is.
        await loadHost().catch(() => {});
        if (host) {
          errors.clear();
          showHost({ focus: true });
          return;
        }
      }
      if (err.slug === 'email-not-verified') unverified.hidden = false;
      // The API calls the BIN/IIN `number`, as the officers' invitation form
      // calls the invitation's: the host's message is its own.
      errors.show(problemMessages(err).map((m) => (m.key === 'validation.number' ? { ...m, key: 'host.validation.number' } : m)));
    } finally {
      busy = false;
      button.disabled = false;
    }
  });
}

// ---------- requesting invitations: one fieldset per foreigner ----------

let rowSeq = 0; // ids stay unique as rows come and go; data-field follows the position

function fillCountrySelect(select) {
  const chosen = select.value;
  select.replaceChildren(live('option', { key: 'apply.choose_country', attrs: { value: '' } }));
  for (const code of allCountryCodes()) select.append(el('option', { text: countryName(code), attrs: { value: code } }));
  select.value = chosen;
}

function textGroup(uid, name, labelKey, { hintKey, type = 'text', width = 'input--width-20', upper = false, maxlength } = {}) {
  const id = `invitee-${uid}-${name}`;
  return el('div', { className: 'form-group', attrs: { 'data-name': name } }, [
    live('label', { className: 'label', key: labelKey, attrs: { for: id } }),
    hintKey ? live('p', { className: 'hint', key: hintKey, attrs: { id: `${id}-hint` } }) : null,
    el('input', {
      className: upper ? `${width} input--upper` : width,
      attrs: {
        type, id, 'data-input': name, autocomplete: 'off', spellcheck: 'false', maxlength,
        autocapitalize: upper ? 'characters' : null, 'aria-describedby': hintKey ? `${id}-hint` : null,
      },
    }),
  ]);
}

function dateGroup(uid, name, legendKey, hintKey) {
  const id = `invitee-${uid}-${name}`;
  const part = (p, width, max) => el('div', { className: 'date-input__item' }, [
    live('label', { className: 'label', key: `date.${p}`, attrs: { for: `${id}-${p}` } }),
    el('input', { className: width, attrs: { type: 'text', id: `${id}-${p}`, 'data-input': `${name}-${p}`, inputmode: 'numeric', maxlength: max, autocomplete: 'off' } }),
  ]);
  return el('div', { className: 'form-group', attrs: { 'data-name': name } }, [
    el('fieldset', { attrs: { role: 'group', 'aria-describedby': `${id}-hint` } }, [
      live('legend', { key: legendKey }),
      live('p', { className: 'hint', key: hintKey, attrs: { id: `${id}-hint` } }),
      el('div', { className: 'date-input' }, [part('day', 'input--width-2', '2'), part('month', 'input--width-2', '2'), part('year', 'input--width-4', '4')]),
    ]),
  ]);
}

function inviteeRow() {
  const uid = rowSeq;
  rowSeq += 1;
  const sex = el('div', { className: 'form-group', attrs: { 'data-name': 'sex' } }, [
    el('fieldset', {}, [
      live('legend', { key: 'field.passport.sex' }),
      el('div', { className: 'radios radios--inline' }, ['F', 'M', 'X'].map((value) => {
        const id = `invitee-${uid}-sex-${value.toLowerCase()}`;
        return el('div', { className: 'choice' }, [
          el('input', { attrs: { type: 'radio', id, name: `invitee-${uid}-sex`, value, 'data-input': 'sex' } }),
          live('label', { key: `sex.${value}`, attrs: { for: id } }),
        ]);
      })),
    ]),
  ]);
  const nationality = el('select', { attrs: { id: `invitee-${uid}-nationality`, 'data-input': 'nationality' } });
  fillCountrySelect(nationality);
  // The language of the foreigner's email, each named in itself.
  const lang = el('select', { attrs: { id: `invitee-${uid}-lang`, 'data-input': 'lang' } },
    LANGUAGES.map(({ code, name }) => el('option', { text: name, attrs: { value: code, lang: code, selected: code === 'en' } })));
  const remove = live('button', { className: 'button button--secondary', key: 'host.request.remove', vars: { n: 1 }, attrs: { type: 'button', 'data-remove-invitee': '' } });
  const fieldset = el('fieldset', { className: 'invitee', attrs: { 'data-invitee': String(uid) } }, [
    live('legend', { className: 'legend--large', key: 'host.request.foreigner', vars: { n: 1 } }),
    textGroup(uid, 'surname', 'field.passport.surname', { hintKey: 'host.request.names_hint', upper: true, maxlength: '60' }),
    textGroup(uid, 'given_names', 'field.passport.given_names', { hintKey: 'host.request.given_names_hint', upper: true, maxlength: '60' }),
    sex,
    el('div', { className: 'form-group', attrs: { 'data-name': 'nationality' } }, [
      live('label', { className: 'label', key: 'field.passport.nationality', attrs: { for: nationality.id } }),
      nationality,
    ]),
    dateGroup(uid, 'date_of_birth', 'field.passport.date_of_birth', 'apply.date_of_birth_hint'),
    textGroup(uid, 'passport_number', 'field.passport.number', { width: 'input--width-10', upper: true, maxlength: '12' }),
    textGroup(uid, 'email', 'field.email', { hintKey: 'host.request.email_hint', type: 'email' }),
    el('div', { className: 'form-group', attrs: { 'data-name': 'lang' } }, [
      live('label', { className: 'label', key: 'host.request.lang', attrs: { for: lang.id } }),
      lang,
    ]),
    remove,
  ]);
  remove.addEventListener('click', () => removeRow(fieldset));
  return fieldset;
}

function rows() {
  return [...document.querySelectorAll('#invitee-rows [data-invitee]')];
}

/** Numbers the rows as they stand: legends, remove buttons, and the API's field names (`invitees[i].surname`). */
function renumber() {
  const all = rows();
  all.forEach((fieldset, i) => {
    fieldset.setAttribute('data-invitee-index', String(i));
    for (const node of fieldset.querySelectorAll(':scope > legend, :scope > [data-remove-invitee]')) {
      node.setAttribute('data-i18n-vars', JSON.stringify({ n: i + 1 }));
    }
    // The one row left cannot go.
    fieldset.querySelector(':scope > [data-remove-invitee]').hidden = all.length === 1;
    for (const group of fieldset.querySelectorAll('[data-name]')) {
      group.setAttribute('data-field', `invitees[${i}].${group.getAttribute('data-name')}`);
    }
    translate(fieldset);
  });
  const full = all.length >= MAX_INVITEES;
  document.getElementById('add-invitee').hidden = full;
  document.getElementById('invitee-rows-full').hidden = !full;
}

let requestErrors = null;

function addRow() {
  if (rows().length >= MAX_INVITEES) return;
  // Messages name rows by position: stale once the rows change.
  requestErrors.clear();
  const fieldset = inviteeRow();
  document.getElementById('invitee-rows').append(fieldset);
  renumber();
  const n = rows().length;
  document.getElementById('invitee-rows-status').textContent = t('host.request.added', { n });
  fieldset.querySelector('[data-input="surname"]').focus();
}

function removeRow(fieldset) {
  requestErrors.clear();
  const at = rows().indexOf(fieldset);
  fieldset.remove();
  renumber();
  document.getElementById('invitee-rows-status').textContent = t('host.request.removed', { n: at + 1 });
  // The button that was clicked is gone: focus goes to "Add another foreigner", shown again now there is room.
  document.getElementById('add-invitee').focus();
}

function resetRows() {
  document.getElementById('invitee-rows').replaceChildren(inviteeRow());
  renumber();
}

function readDate(read, base, field, found, { missingKey, vars }) {
  const parts = ['day', 'month', 'year'].map((p) => read(`${base}-${p}`));
  if (parts.every((p) => !p)) {
    found.push({ field, key: missingKey, vars });
    return null;
  }
  const date = dateFromParts(...parts);
  if (!date) found.push({ field, key: vars ? 'host.not_a_date_row' : 'host.not_a_date', vars });
  return date;
}

/** The request body and what is missing; the rules themselves (stay window, passport numbers, eligibility) are the API's. */
function readRequest(form) {
  const found = [];
  const f = form.elements;
  const category = f.category.value;
  if (!category) found.push({ field: 'category', key: 'missing.category' });
  const top = (name) => f[name].value.trim();
  const validFrom = readDate(top, 'from', 'valid_from', found, { missingKey: 'missing.valid_from' });
  const validUntil = readDate(top, 'until', 'valid_until', found, { missingKey: 'missing.valid_until' });
  const purpose = f.purpose.value.trim();
  if (!purpose) found.push({ field: 'purpose', key: 'missing.purpose' });
  const list = rows().map((fieldset, i) => {
    const field = (name) => `invitees[${i}].${name}`;
    const vars = { n: i + 1 };
    const read = (name) => (fieldset.querySelector(`[data-input="${name}"]`).value || '').trim();
    const checked = fieldset.querySelector('[data-input="sex"]:checked');
    const invitee = {
      surname: read('surname'),
      given_names: read('given_names'),
      sex: checked ? checked.value : '',
      nationality: read('nationality'),
      date_of_birth: null,
      passport_number: read('passport_number').replace(/\s+/g, ''),
      email: read('email'),
      lang: read('lang') || 'en',
    };
    if (!invitee.surname) found.push({ field: field('surname'), key: 'missing.invitees.surname', vars });
    if (!invitee.sex) found.push({ field: field('sex'), key: 'missing.invitees.sex', vars });
    if (!invitee.nationality) found.push({ field: field('nationality'), key: 'missing.invitees.nationality', vars });
    invitee.date_of_birth = readDate(read, 'date_of_birth', field('date_of_birth'), found, { missingKey: 'missing.invitees.date_of_birth', vars });
    if (!invitee.passport_number) found.push({ field: field('passport_number'), key: 'missing.invitees.passport_number', vars });
    if (!invitee.email) found.push({ field: field('email'), key: 'missing.invitees.email', vars });
    return invitee;
  });
  return {
    body: { category, valid_from: validFrom, valid_until: validUntil, purpose, invitees: list },
    found,
  };
}

/** The API's problem as messages, each at its foreigner's row and naming it ("Foreigner 2: ..."). */
function requestMessages(err) {
  return problemMessages(err).map((m) => {
    const at = /^invitees\[(\d+)\]/.exec(m.field || '');
    if (!at) return m;
    const vars = { n: Number(at[1]) + 1 };
    if (err.slug === 'not-eligible') return { ...m, key: 'host.not_eligible', vars };
    return { ...m, vars };
  });
}

function renderSent() {
  const box = document.getElementById('request-result');
  box.replaceChildren();
  if (sent === null) return;
  box.append(el('div', { className: 'banner banner--success', attrs: { role: 'alert', tabindex: '-1', 'aria-labelledby': 'request-sent-title', 'data-requests-sent': String(sent) } }, [
    el('h3', { className: 'banner__title', key: 'host.request.sent_title', attrs: { id: 'request-sent-title' } }),
    el('div', { className: 'banner__content' }, [el('p', { key: 'host.request.sent_body', vars: { count: sent } })]),
  ]));
}

function wireRequests() {
  const form = document.getElementById('request-form');
  requestErrors = new FormErrors(form, document.getElementById('summary-host'));
  resetRows();
  document.getElementById('add-invitee').addEventListener('click', addRow);
  let busy = false;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (busy) return;
    sent = null;
    renderSent();
    const { body, found } = readRequest(form);
    if (found.length) {
      requestErrors.show(found);
      return;
    }
    busy = true;
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const made = await post('/hosts/current/invitation-requests', body, { auth: true });
      requestErrors.clear();
      form.reset();
      resetRows();
      sent = made.requests.length;
      renderSent();
      document.querySelector('[data-requests-sent]').focus();
      await loadLists().catch(() => {});
      renderArrivals();
      renderRequests();
      renderInvitees();
    } catch (err) {
      if (!(err instanceof ApiProblem)) throw err;
      if (err.slug === 'unauthenticated') return; // on the way to sign in
      requestErrors.show(requestMessages(err));
    } finally {
      busy = false;
      button.disabled = false;
    }
  });
}

// ---------- the requests and the invitees ----------

async function loadLists() {
  const [r, i, a] = await Promise.all([
    get('/hosts/current/invitation-requests', { auth: true }),
    get('/hosts/current/invitees', { auth: true }),
    get('/hosts/current/arrivals', { auth: true }),
  ]);
  requests = Array.isArray(r && r.requests) ? r.requests : [];
  invitees = Array.isArray(i && i.invitees) ? i.invitees : [];
  arrivals = Array.isArray(a && a.arrivals) ? a.arrivals : [];
}

/** The foreigner as a row's header: the name, then the passport. */
function foreignerCell(invitee) {
  return el('th', { attrs: { scope: 'row' } }, [
    el('span', { text: fullName(invitee) }),
    el('br'),
    el('span', { className: 'small', key: 'host.passport_line', vars: { number: invitee.passport_number, country: countryName(invitee.nationality) } }),
  ]);
}

/**
 * A table that stacks on a narrow screen (main.css, .table--stack): each
 * cell then shows its column's name (data-label); the explicit roles keep
 * it a table for assistive technology once CSS makes its parts blocks.
 * `rows`: `[attrs, cells]`, the first cell the row's header.
 */
function table(captionKey, columns, rows, attrs) {
  const labels = columns.map((key) => t(key));
  const body = rows.map(([rowAttrs, cells]) => {
    cells.forEach((cell, i) => {
      cell.setAttribute('data-label', labels[i]);
      cell.setAttribute('role', i === 0 ? 'rowheader' : 'cell');
    });
    return el('tr', { attrs: { ...rowAttrs, role: 'row' } }, cells);
  });
  return el('table', { className: 'table table--stack', attrs: { ...attrs, role: 'table' } }, [
    el('caption', { className: 'visually-hidden', key: captionKey }),
    el('thead', { attrs: { role: 'rowgroup' } }, [el('tr', { attrs: { role: 'row' } }, columns.map((key) => el('th', { key, attrs: { scope: 'col', role: 'columnheader' } })))]),
    el('tbody', { attrs: { role: 'rowgroup' } }, body),
  ]);
}

function renderRequests() {
  const box = document.getElementById('requests');
  box.replaceChildren();
  if (!requests) return;
  if (!requests.length) {
    box.append(el('p', { key: 'host.requests.none', attrs: { 'data-requests': '0' } }));
    return;
  }
  const rows = requests.map((r) => {
    let result;
    if (r.status === 'approved') result = el('strong', { text: r.invitation_number || '', attrs: { 'data-invitation-number': r.invitation_number || '' } });
    else if (r.status === 'refused') result = el('span', { text: r.reason || '', attrs: { 'data-reason': '' } });
    else result = el('span', { key: 'host.requests.waiting' });
    return [{ 'data-request': r.id, 'data-status': r.status, 'data-passport': r.invitee.passport_number }, [
      foreignerCell(r.invitee),
      el('td', { text: t('common.date_range', { from: formatDate(r.valid_from), to: formatDate(r.valid_until) }) }),
      el('td', { text: formatDate(String(r.created_at || '').slice(0, 10)) }),
      el('td', {}, [el('strong', { className: `tag tag--request-${r.status}`, key: `host.request_status.${r.status}` })]),
      el('td', {}, [result]),
    ]];
  });
  box.append(table('host.requests.caption', ['host.col.foreigner', 'host.col.stay', 'host.col.sent', 'host.col.status', 'host.col.result'], rows, { 'data-requests': String(requests.length) }));
}

function crossing(at) {
  if (!at) return el('span', { key: 'host.not_yet' });
  const time = formatDateTime(at.at);
  return el('span', { text: at.checkpoint ? t('host.crossing', { time, checkpoint: at.checkpoint }) : time });
}

function renderInvitees() {
  const box = document.getElementById('invitees');
  box.replaceChildren();
  if (!invitees) return;
  if (!invitees.length) {
    box.append(el('p', { key: 'host.invitees.none', attrs: { 'data-invitees': '0' } }));
    return;
  }
  const rows = invitees.map((x) => [{ 'data-invitee-progress': x.request_id, 'data-stage': x.stage, 'data-passport': x.invitee.passport_number }, [
    foreignerCell(x.invitee),
    el('td', { text: x.invitation_number }),
    el('td', { text: t('common.date_range', { from: formatDate(x.valid_from), to: formatDate(x.valid_until) }) }),
    el('td', {}, [el('strong', { className: `tag tag--stage-${x.stage}`, key: `host.stage.${x.stage}` })]),
    el('td', {}, [crossing(x.entered)]),
    el('td', {}, [crossing(x.left)]),
  ]]);
  box.append(table('host.invitees.caption', ['host.col.foreigner', 'host.col.invitation', 'host.col.stay', 'host.col.stage', 'host.col.entered', 'host.col.left'], rows, { 'data-invitees': String(invitees.length) }));
}

// ---------- arrivals and their notices ----------

// What the last notice sent came to, shown above the list until the next:
// { kind: 'filed', arrival } or { kind: 'problem', key, name }.
let arrivalResult = null;
// One form per notice not filed yet, kept across redraws (a language
// change, the lists read again) with what the host typed and its errors.
const noticeForms = new Map(); // request_id -> { node, errors, refresh(arrival) }

async function loadArrivals() {
  const a = await get('/hosts/current/arrivals', { auth: true });
  arrivals = Array.isArray(a && a.arrivals) ? a.arrivals : [];
}

/** The invitation's last day (the stay's latest end), from the host's own lists. */
function lastDayOf(requestId) {
  const invited = (invitees || []).find((x) => x.request_id === requestId);
  if (invited) return invited.valid_until;
  const requested = (requests || []).find((r) => r.id === requestId);
  return requested ? requested.valid_until : null;
}

/** Days past the due day, in Kazakhstan: at least one for an overdue notice. */
function daysOverdue(arrival) {
  return Math.max(1, daysBetween(arrival.due_on, kazakhstanToday()));
}

function arrivalTag(arrival) {
  return el('strong', { className: `tag tag--arrival-${arrival.status}`, key: `host.arrival_status.${arrival.status}`, attrs: { 'data-arrival-status': arrival.status } });
}

/** What the host filed: the address, the dates, when, and a "late" mark when it was. */
function noticeCell(arrival) {
  const n = arrival.notice;
  if (!n) {
    // To the notice's form below the table; the foreigner named for a screen reader's list of links.
    return el('a', { attrs: { href: `#arrival-${arrival.request_id}-title`, 'data-file-link': arrival.request_id } }, [
      el('span', { key: 'host.notice.file_link' }),
      el('span', { className: 'visually-hidden', text: ` ${fullName(arrival.invitee)}` }),
    ]);
  }
  const parts = [
    el('span', { text: n.address, attrs: { 'data-notice-address': '' } }),
    el('br'),
    el('span', { text: t('common.date_range', { from: formatDate(n.stay_from), to: formatDate(n.stay_until) }), attrs: { 'data-notice-stay': '' } }),
    el('br'),
    el('span', { className: 'small', key: 'host.notice.filed_at', vars: { time: formatDateTime(n.filed_at) }, attrs: { 'data-notice-filed-at': '' } }),
  ];
  if (n.late) parts.push(el('br'), el('strong', { className: 'tag tag--arrival-late', key: 'host.notice.late', attrs: { 'data-notice-late': '' } }));
  return el('div', { attrs: { 'data-notice': '' } }, parts);
}

function renderArrivalResult() {
  const box = document.getElementById('arrivals-result');
  box.replaceChildren();
  if (!arrivalResult) return;
  if (arrivalResult.kind === 'filed') {
    const a = arrivalResult.arrival;
    const vars = { name: fullName(a.invitee) };
    box.append(el('div', { className: 'banner banner--success', attrs: { role: 'alert', tabindex: '-1', 'aria-labelledby': 'arrival-result-title', 'data-arrival-result': 'filed', 'data-request': a.request_id } }, [
      el('h3', { className: 'banner__title', key: 'host.notice.filed_title', attrs: { id: 'arrival-result-title' } }),
      el('div', { className: 'banner__content' }, [
        el('p', { key: 'host.notice.filed_body', vars }),
        a.notice && a.notice.late ? el('p', { key: 'host.notice.filed_late_body' }) : null,
      ]),
    ]));
  } else {
    box.append(el('div', { className: 'banner', attrs: { role: 'alert', tabindex: '-1', 'aria-labelledby': 'arrival-result-title', 'data-arrival-result': 'problem' } }, [
      el('h3', { className: 'banner__title', key: 'host.notice.not_filed_title', vars: { name: arrivalResult.name }, attrs: { id: 'arrival-result-title' } }),
      el('div', { className: 'banner__content' }, [
        el('p', { key: arrivalResult.key, attrs: { 'data-arrival-problem': '' } }),
        el('p', { key: 'host.notice.list_again' }),
      ]),
    ]));
  }
}

function showArrivalResult(result) {
  arrivalResult = result;
  renderArrivalResult();
  const banner = document.querySelector('[data-arrival-result]');
  if (banner) banner.focus();
}

function noticeDateGroup(base, field, legendKey, iso) {
  const id = `${base}-${field}`;
  const [year, month, day] = String(iso || '').split('-');
  const part = (p, width, max, value) => {
    const input = el('input', { className: width, attrs: { type: 'text', id: `${id}-${p}`, 'data-notice-input': `${field}-${p}`, inputmode: 'numeric', maxlength: max, autocomplete: 'off' } });
    if (value) input.value = p === 'year' ? value : String(Number(value));
    return el('div', { className: 'date-input__item' }, [
      live('label', { className: 'label', key: `date.${p}`, attrs: { for: input.id } }),
      input,
    ]);
  };
  const hint = el('p', { className: 'hint', attrs: { id: `${id}-hint`, 'data-hint': field } });
  return el('div', { className: 'form-group', attrs: { 'data-field': field } }, [
    el('fieldset', { attrs: { role: 'group', 'aria-describedby': hint.id } }, [
      live('legend', { key: legendKey }),
      hint,
      el('div', { className: 'date-input' }, [
        part('day', 'input--width-2', '2', day),
        part('month', 'input--width-2', '2', month),
        part('year', 'input--width-4', '4', year),
      ]),
    ]),
  ]);
}

/** The notice's form for one arrival; built once, its dated texts refreshed with the language. */
function noticeForm(first) {
  const id = first.request_id;
  const base = `arrival-${id}`;
  const address = el('textarea', { attrs: { id: `${base}-address`, rows: '3', maxlength: '300', autocomplete: 'off', 'aria-describedby': `${base}-address-hint`, 'data-notice-input': 'address' } });
  const lastDay = lastDayOf(id);
  const from = noticeDateGroup(base, 'stay_from', 'host.notice.stay_from', first.entered_on);
  const until = noticeDateGroup(base, 'stay_until', 'host.notice.stay_until', lastDay);
  const context = el('p', { attrs: { 'data-arrival-context': '' } });
  const overdue = el('div', { className: 'warning', attrs: { 'data-overdue-warning': '' } }, [
    el('span', { className: 'warning__icon', text: '!', attrs: { 'aria-hidden': 'true' } }),
    el('p', { attrs: { 'data-overdue-text': '' } }),
  ]);
  const submit = live('button', { className: 'button', key: 'host.notice.submit', attrs: { type: 'submit' } });
  // Unnamed, so not a landmark: two foreigners may share a name, and landmarks may not.
  const form = el('form', { attrs: { novalidate: true, 'data-notice-form': id } }, [
    el('div', { className: 'form-group', attrs: { 'data-field': 'address' } }, [
      live('label', { className: 'label', key: 'host.notice.address', attrs: { for: address.id } }),
      live('p', { className: 'hint', key: 'host.notice.address_hint', attrs: { id: `${base}-address-hint` } }),
      address,
    ]),
    from,
    until,
    submit,
  ]);
  const node = el('div', { className: 'arrival-form', attrs: { 'data-arrival-form': id } }, [
    el('h3', { text: fullName(first.invitee), attrs: { id: `${base}-title`, tabindex: '-1' } }),
    context,
    overdue,
    form,
  ]);
  // Next to its fields, no summary: the form sits in a list, far from the page's top.
  const errors = new FormErrors(form, null);
  let current = first;

  const refresh = (arrival) => {
    current = arrival;
    const last = lastDayOf(id);
    node.querySelector('h3').textContent = t('host.notice.heading', { name: fullName(arrival.invitee) });
    context.textContent = t('host.notice.context', {
      passport: arrival.invitee.passport_number,
      invitation: arrival.invitation_number,
      entered: formatDate(arrival.entered_on),
      checkpoint: arrival.checkpoint,
      due: formatDate(arrival.due_on),
    });
    overdue.hidden = arrival.status !== 'overdue';
    overdue.querySelector('[data-overdue-text]').textContent = t('host.notice.overdue', { date: formatDate(arrival.due_on) });
    from.querySelector('[data-hint]').textContent = t('host.notice.stay_from_hint', { date: formatDate(arrival.entered_on) });
    until.querySelector('[data-hint]').textContent = last ? t('host.notice.stay_until_hint', { date: formatDate(last) }) : t('host.notice.stay_until_hint_plain');
  };

  let busy = false;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (busy) return;
    // One form's messages at a time: their ids are the fields' names.
    for (const [other, entry] of noticeForms) if (other !== id) entry.errors.clear();
    const read = (name) => (form.querySelector(`[data-notice-input="${name}"]`).value || '').trim();
    const found = [];
    // Lines typed in the box become one line, as the address is kept.
    const address = read('address').split(/\n+/).map((line) => line.trim()).filter(Boolean).join(', ').replace(/\s+/g, ' ');
    const body = { address, stay_from: null, stay_until: null };
    if (!body.address) found.push({ field: 'address', key: 'missing.address' });
    for (const field of ['stay_from', 'stay_until']) {
      const parts = ['day', 'month', 'year'].map((p) => read(`${field}-${p}`));
      if (parts.every((p) => !p)) found.push({ field, key: `missing.${field}` });
      else if (!(body[field] = dateFromParts(...parts))) found.push({ field, key: 'host.not_a_date' });
    }
    if (found.length) {
      errors.show(found);
      return;
    }
    busy = true;
    submit.disabled = true;
    const name = fullName(current.invitee);
    try {
      const filed = await post(`/hosts/current/arrivals/${encodeURIComponent(id)}/notice`, body, { auth: true });
      errors.clear();
      arrivals = arrivals.map((a) => (a.request_id === id ? filed : a));
      renderArrivals();
      showArrivalResult({ kind: 'filed', arrival: filed });
    } catch (err) {
      if (!(err instanceof ApiProblem)) throw err;
      if (err.slug === 'unauthenticated') return; // on the way to sign in
      const messages = problemMessages(err);
      if (err.slug === 'validation' && messages.every((m) => errors.groupFor(m.field))) {
        errors.show(messages);
        return;
      }
      // Filed already (another tab, another person of the same host), or
      // gone: said above the list, which is read again as it now is.
      errors.clear();
      await loadArrivals().catch(() => {});
      renderArrivals();
      showArrivalResult({ kind: 'problem', key: problemKey(err), name });
    } finally {
      busy = false;
      submit.disabled = false;
    }
  });
  return { node, errors, refresh };
}

function renderArrivalForms(open) {
  const box = document.getElementById('arrival-forms');
  for (const [id, entry] of noticeForms) {
    if (!open.some((a) => a.request_id === id)) {
      entry.errors.clear();
      noticeForms.delete(id);
    }
  }
  const nodes = open.map((a) => {
    if (!noticeForms.has(a.request_id)) noticeForms.set(a.request_id, noticeForm(a));
    const entry = noticeForms.get(a.request_id);
    entry.refresh(a);
    return entry.node;
  });
  box.replaceChildren(...nodes);
}

function renderArrivals() {
  renderArrivalResult();
  const box = document.getElementById('arrivals');
  box.replaceChildren();
  if (!arrivals) return;
  if (!arrivals.length) {
    box.append(el('p', { key: 'host.arrivals.none', attrs: { 'data-arrivals': '0' } }));
    renderArrivalForms([]);
    return;
  }
  const rows = arrivals.map((a) => {
    const due = [el('span', { text: formatDate(a.due_on), attrs: { 'data-due-on': a.due_on } })];
    if (a.status === 'overdue') due.push(el('br'), el('strong', { key: 'host.arrivals.days_overdue', vars: { n: daysOverdue(a) }, attrs: { 'data-days-overdue': '' } }));
    return [{ 'data-arrival': a.request_id, 'data-status': a.status, 'data-passport': a.invitee.passport_number, class: a.status === 'overdue' ? 'row--overdue' : null }, [
      foreignerCell(a.invitee),
      el('td', { text: a.invitation_number }),
      el('td', { text: t('host.crossing', { time: formatDate(a.entered_on), checkpoint: a.checkpoint }), attrs: { 'data-entered-on': a.entered_on } }),
      el('td', {}, due),
      el('td', {}, [arrivalTag(a)]),
      el('td', {}, [noticeCell(a)]),
    ]];
  });
  box.append(table('host.arrivals.caption', ['host.col.foreigner', 'host.col.invitation', 'host.col.arrived', 'host.col.due', 'host.col.status', 'host.col.notice'], rows, { 'data-arrivals': String(arrivals.length) }));
  renderArrivalForms(arrivals.filter((a) => !a.notice));
}

// ---------- start ----------

start(async () => {
  wireRegistration();
  wireRequests();
  onLanguageChange(() => {
    renderStatus();
    renderSent();
    renderArrivals();
    renderRequests();
    renderInvitees();
    for (const select of document.querySelectorAll('#invitee-rows [data-input="nationality"]')) fillCountrySelect(select);
  });
  if (!getSession()) {
    showViews(['signed-out-view']);
    return;
  }
  await loadHost();
  showHost();
  // Back on the tab: an officer may have decided meanwhile.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState !== 'visible' || !getSession()) return;
    const before = JSON.stringify([host, requests, invitees, arrivals]);
    loadHost().then(() => {
      if (JSON.stringify([host, requests, invitees, arrivals]) !== before) showHost();
    }).catch(() => {});
  });
});
