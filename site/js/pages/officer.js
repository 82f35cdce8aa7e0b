// The migration service's console (/officer): staff sign in with their
// password and then their authenticator's code; officers find
// applications, change visas (each change with a reason, confirmed on a
// second screen), issue and revoke invitations, approve or refuse inviting
// parties and their invitation requests, and follow the arrival notices
// hosts have not filed; auditors read the same and the audit trail. The
// staff token lives in sessionStorage, as the applicant's does, and is
// sent only to /api/officer/*.

import { start, onLanguageChange } from '../page.js';
import { el, t, translate, formatDate, formatDateTime, countryName } from '../i18n.js';
import { ApiProblem, slugOf, retryAtOf } from '../api.js';
import { FormErrors, problemMessages, problemKey } from '../errors.js';
import { kazakhstanToday, daysBetween } from '../dates.js';

const STAFF_KEY = 'visa.staff';

// ---------- the staff session ----------

function staff() {
  let s = null;
  try { s = JSON.parse(sessionStorage.getItem(STAFF_KEY) || 'null'); } catch { s = null; }
  if (!s || typeof s.token !== 'string' || !(s.expires_at > Date.now())) return null;
  return s;
}

function keep(signedIn) {
  const s = {
    token: signedIn.token,
    expires_at: Date.now() + signedIn.expires_in * 1000,
    member: signedIn.member,
  };
  sessionStorage.setItem(STAFF_KEY, JSON.stringify(s));
  return s;
}

function forget() {
  try { sessionStorage.removeItem(STAFF_KEY); } catch { /* storage disabled */ }
}

const isOfficer = () => {
  const s = staff();
  return Boolean(s && s.member.groups.includes('officer'));
};

/** One call to /api/officer/*: JSON (or CSV text) back, an ApiProblem on failure. */
async function call(method, path, body) {
  const headers = { Accept: 'application/json, application/problem+json, text/csv' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const signIn = path.startsWith('/officer/sessions');
  const s = staff();
  if (!signIn) {
    if (!s) {
      showSignIn('expired');
      throw new ApiProblem(401, { type: '/problems/unauthenticated' });
    }
    headers.Authorization = `Bearer ${s.token}`;
  }
  let res;
  try {
    res = await fetch(`/api${path}`, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', credentials: 'same-origin',
    });
  } catch {
    throw new ApiProblem(0, null);
  }
  const type = res.headers.get('Content-Type') || '';
  let data = null;
  if (res.status !== 204) {
    if (/json/.test(type)) {
      try { data = await res.json(); } catch { data = null; }
    } else if (/text\/csv/.test(type)) {
      data = await res.text();
    }
  }
  if (res.ok) return data;
  if (res.status === 401 && !signIn) {
    // The gateway's authorizer (or the function) no longer takes the token.
    forget();
    showSignIn('expired');
  }
  const problem = data && slugOf(data.type) ? data : { type: res.status === 401 ? '/problems/unauthenticated' : null };
  throw new ApiProblem(res.status, problem, { retryAt: retryAtOf(res.headers.get('Retry-After')) });
}

// ---------- notices ----------

function notice(kind, titleKey, bodyKey, vars = {}) {
  const host = document.getElementById('notice');
  host.replaceChildren();
  if (!titleKey) return;
  host.append(el('div', {
    className: `banner${kind === 'success' ? ' banner--success' : ''}`,
    attrs: { role: kind === 'success' ? 'alert' : 'region', 'aria-labelledby': 'notice-title', 'data-notice': kind },
  }, [
    el('h2', { className: 'banner__title', key: titleKey, vars, attrs: { id: 'notice-title' } }),
    bodyKey ? el('div', { className: 'banner__content' }, [el('p', { key: bodyKey, vars })]) : null,
  ]));
}

/** What a refused change says: the console's words for the slugs a change
 * meets, else the site's. */
const REFUSALS = ['invalid-state', 'forbidden', 'invitation-already-used', 'not-found'];
function refusalKey(err) {
  return REFUSALS.includes(err.slug) ? `officer.refused.${err.slug}` : problemKey(err);
}

// ---------- sign-in ----------

let pending = null; // { email, session } between the two steps

function showSignIn(reason) {
  document.getElementById('workplace').hidden = true;
  document.getElementById('sign-in-view').hidden = false;
  document.getElementById('password-form').hidden = false;
  document.getElementById('code-form').hidden = true;
  pending = null;
  if (reason === 'expired') notice('info', 'officer.notice.expired_title', 'officer.notice.expired_body');
  else if (reason === 'signed-out') notice('info', 'officer.notice.signed_out_title', null);
}

function wireSignIn() {
  const summary = document.getElementById('summary-host');
  const passwordForm = document.getElementById('password-form');
  const codeForm = document.getElementById('code-form');
  const passwordErrors = new FormErrors(passwordForm, summary);
  const codeErrors = new FormErrors(codeForm, summary);

  passwordForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const email = passwordForm.elements.email.value.trim();
    const password = passwordForm.elements.password.value;
    const missing = [];
    if (!email) missing.push({ field: 'email', key: 'missing.email' });
    if (!password) missing.push({ field: 'password', key: 'missing.password' });
    if (missing.length) { passwordErrors.show(missing); return; }
    const button = passwordForm.querySelector('button');
    button.disabled = true;
    try {
      const challenge = await call('POST', '/officer/sessions', { email, password });
      passwordErrors.clear();
      notice();
      pending = { email, session: challenge.session };
      passwordForm.elements.password.value = '';
      passwordForm.hidden = true;
      codeForm.hidden = false;
      codeForm.elements.code.value = '';
      codeForm.elements.code.focus();
    } catch (err) {
      if (!(err instanceof ApiProblem)) throw err;
      passwordErrors.show(problemMessages(err));
    } finally {
      button.disabled = false;
    }
  });

  codeForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const code = codeForm.elements.code.value.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(code)) {
      codeErrors.show([{ field: 'code', key: 'missing.code' }]);
      return;
    }
    const button = codeForm.querySelector('button');
    button.disabled = true;
    try {
      const signedIn = await call('POST', '/officer/sessions/totp', { ...pending, code });
      codeErrors.clear();
      keep(signedIn);
      pending = null;
      showWorkplace();
    } catch (err) {
      if (!(err instanceof ApiProblem)) throw err;
      if (err.slug === 'wrong-code' || err.slug === 'sign-in-expired') {
        // The sign-in's session answers once: start again from the password.
        showSignIn();
        passwordErrors.show([{ field: 'email', key: `problem.${err.slug}` }]);
        passwordForm.elements.email.value = pending ? pending.email : passwordForm.elements.email.value;
        passwordForm.elements.password.focus();
      } else {
        codeErrors.show(problemMessages(err));
      }
    } finally {
      button.disabled = false;
    }
  });

  document.getElementById('staff-sign-out').addEventListener('click', () => {
    forget();
    showSignIn('signed-out');
  });
}

// ---------- the workplace ----------

function showWorkplace() {
  const s = staff();
  if (!s) { showSignIn(); return; }
  document.getElementById('sign-in-view').hidden = true;
  document.getElementById('workplace').hidden = false;
  renderWho();
  route();
}

function renderWho() {
  const s = staff();
  if (!s) return;
  const role = ['officer', 'border', 'auditor'].find((g) => s.member.groups.includes(g)) || 'auditor';
  const who = document.getElementById('signed-in-as');
  who.textContent = t('officer.signed_in_as', { name: s.member.name, email: s.member.email, role: t(`officer.role.${role}`) });
  who.setAttribute('data-role', role);
  document.getElementById('invitation-form').hidden = role !== 'officer';
  document.getElementById('new-invitation-title').hidden = role !== 'officer';
  // Border control's tab, for border control only.
  const border = s.member.groups.includes('border');
  document.querySelector('[data-tab="border"]').closest('li').hidden = !border;
}

/** Shows one view of the workplace, as the address's fragment says. */
function route() {
  if (!staff()) return;
  notice();
  const hash = window.location.hash.replace(/^#/, '');
  const [view, id] = hash.split('/');
  const current = ['applications', 'reviews', 'border', 'invitations', 'hosts', 'requests', 'arrivals', 'audit'].includes(view) ? view : (view === 'application' && id ? 'record' : 'applications');
  for (const section of document.querySelectorAll('[data-view]')) {
    section.hidden = section.getAttribute('data-view') !== current;
  }
  for (const link of document.querySelectorAll('[data-tab]')) {
    const tab = link.getAttribute('data-tab');
    if (tab === current || (current === 'record' && tab === 'applications')) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (current === 'record') loadRecord(decodeURIComponent(id));
  if (current === 'reviews') loadReviews();
  if (current === 'hosts') loadHosts();
  if (current === 'requests') loadRequests();
  if (current === 'arrivals') loadArrivals();
}

// ---------- finding applications ----------

let lastResults = null;

function wireSearch() {
  const form = document.getElementById('search-form');
  const errors = new FormErrors(form, document.getElementById('summary-host'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const q = form.elements.q.value.trim();
    if (!q && !form.elements.status.value) { errors.show([{ field: 'q', key: 'missing.q' }]); return; }
    const params = new URLSearchParams();
    if (q) params.set('q', q);
    if (form.elements.status.value) params.set('status', form.elements.status.value);
    try {
      const found = await call('GET', `/officer/applications?${params}`);
      errors.clear();
      lastResults = found.applications;
      renderResults();
    } catch (err) {
      if (!(err instanceof ApiProblem)) throw err;
      errors.show(problemMessages(err));
    }
  });
}

function statusTag(status) {
  return el('strong', { className: `tag tag--${status}`, key: `status.${status}`, attrs: { 'data-status': status } });
}

function renderResults() {
  renderList(document.getElementById('search-results'), lastResults, 'officer.search.none', 'officer.search.caption');
}

/** Applications as a table, each a link to its record. */
function renderList(host, list, noneKey, captionKey) {
  host.replaceChildren();
  if (!list) return;
  if (!list.length) {
    host.append(el('p', { key: noneKey, attrs: { 'data-results': '0' } }));
    return;
  }
  const head = el('tr', {}, ['officer.col.name', 'field.passport.number', 'field.passport.nationality', 'officer.col.status', 'officer.col.visa', 'officer.col.applied']
    .map((key) => el('th', { key, attrs: { scope: 'col' } })));
  const rows = list.map((a) => el('tr', { attrs: { 'data-application': a.id } }, [
    el('td', {}, [el('a', { text: `${a.surname} ${a.given_names}`, attrs: { href: `#application/${encodeURIComponent(a.id)}` } })]),
    el('td', { text: a.passport_number }),
    el('td', { text: countryName(a.nationality, a.nationality) }),
    el('td', {}, [statusTag(a.under_review ? 'under_review' : a.status)]),
    el('td', { text: a.visa_number || '—' }),
    el('td', { text: formatDate(a.created_at.slice(0, 10)) }),
  ]));
  host.append(el('table', { className: 'table', attrs: { 'data-results': String(list.length) } }, [
    el('caption', { className: 'visually-hidden', key: captionKey, vars: { n: list.length } }),
    el('thead', {}, [head]),
    el('tbody', {}, rows),
  ]));
}

// ---------- border control: entries and exits ----------

let crossing = null; // { visa, holder, status, passport }

/** Border control's public check of a visa against a passport number. */
function verification(number, passport) {
  const query = new URLSearchParams({ passport_number: passport });
  return fetch(`/api/visas/${encodeURIComponent(number)}/verification?${query}`, { cache: 'no-store' });
}

function wireBorder() {
  const form = document.getElementById('border-form');
  const errors = new FormErrors(form, document.getElementById('summary-host'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const number = form.elements.visa_number.value.trim().toUpperCase();
    const passport = form.elements.passport_number.value.trim().toUpperCase();
    const missing = [];
    if (!number) missing.push({ field: 'visa_number', key: 'missing.visa_number' });
    if (!passport) missing.push({ field: 'passport_number', key: 'missing.passport.number' });
    if (missing.length) { errors.show(missing); return; }
    // Border control's own check first: the holder's data, to compare
    // with the passport in hand.
    const res = await verification(number, passport);
    if (res.status === 404) {
      crossing = null;
      errors.show([{ field: 'visa_number', key: 'verify.no_match_title' }]);
      renderCrossing();
      return;
    }
    const data = await res.json();
    errors.clear();
    crossing = { number, passport, data };
    renderCrossing();
  });
}

function renderCrossing() {
  const host = document.getElementById('border-result');
  host.replaceChildren();
  if (!crossing) return;
  const { data } = crossing;
  const holder = data.holder || {};
  host.append(el('dl', { className: 'summary-list', attrs: { 'data-crossing': crossing.number } }, [
    row('officer.col.status', statusTag(data.status), { 'data-standing': data.status }),
    row('officer.col.name', `${holder.surname || ''} ${holder.given_names || ''}`.trim()),
    row('field.passport.nationality', countryName(holder.nationality, holder.nationality)),
    row('field.passport.date_of_birth', formatDate(holder.date_of_birth)),
    row('officer.col.validity', t('officer.record.validity', { from: formatDate(data.visa.valid_from), until: formatDate(data.visa.valid_until) })),
  ]));
  const buttons = ['entry', 'exit'].map((kind) => {
    const b = el('button', { className: `button${kind === 'exit' ? ' button--secondary' : ''}`, key: `officer.border.record_${kind}`, attrs: { type: 'button', 'data-record': kind } });
    b.addEventListener('click', () => recordCrossing(kind, b));
    return b;
  });
  host.append(el('div', { className: 'button-group' }, buttons));
}

async function recordCrossing(kind, button) {
  button.disabled = true;
  const checkpoint = document.getElementById('border-checkpoint').value;
  try {
    await call('POST', `/officer/visas/${encodeURIComponent(crossing.number)}/${kind}`, { checkpoint });
    notice('success', `officer.border.recorded_${kind}`, null, { number: crossing.number, checkpoint });
  } catch (err) {
    if (!(err instanceof ApiProblem)) throw err;
    notice('info', 'officer.border.refused_title', problemKey(err));
  }
  // What border control's check says now.
  const res = await verification(crossing.number, crossing.passport);
  if (res.ok) crossing.data = await res.json();
  renderCrossing();
}

// ---------- the disputed payments to decide ----------

let queue = null;

async function loadReviews() {
  const host = document.getElementById('review-queue');
  host.replaceChildren(el('p', { className: 'loading', key: 'common.loading' }));
  try {
    queue = (await call('GET', '/officer/reviews')).applications;
  } catch (err) {
    if (!(err instanceof ApiProblem)) throw err;
    queue = null;
    host.replaceChildren(el('p', { key: problemKey(err) }));
    return;
  }
  renderQueue();
}

function renderQueue() {
  renderList(document.getElementById('review-queue'), queue, 'officer.reviews.none', 'officer.reviews.caption');
}

// ---------- one application ----------

let record = null;
let action = null; // { kind: 'cancel'|'restore'|'shorten', step: 'reason'|'check', reason, until }

async function loadRecord(id) {
  const host = document.getElementById('record');
  host.replaceChildren(el('p', { className: 'loading', key: 'common.loading' }));
  document.getElementById('visa-actions').replaceChildren();
  try {
    record = await call('GET', `/officer/applications/${encodeURIComponent(id)}`);
    action = null;
    renderRecord();
  } catch (err) {
    if (!(err instanceof ApiProblem)) throw err;
    record = null;
    host.replaceChildren(el('p', { key: err.slug === 'not-found' ? 'officer.record.not_found' : 'problem.unknown' }));
  }
}

function row(key, value, attrs = {}) {
  return el('div', { className: 'summary-list__row', attrs }, [
    el('dt', { key }),
    el('dd', {}, [typeof value === 'string' ? document.createTextNode(value) : value]),
  ]);
}

function renderRecord() {
  const host = document.getElementById('record');
  host.replaceChildren();
  if (!record) return;
  const a = record.application;
  const p = a.passport;
  const visa = a.visa;
  const rows = [
    row('officer.col.name', `${p.surname} ${p.given_names}`),
    row('field.passport.number', p.number),
    row('field.passport.nationality', countryName(p.nationality, p.nationality)),
    row('field.passport.date_of_birth', formatDate(p.date_of_birth)),
    row('field.passport.sex', t(`sex.${p.sex}`)),
    row('field.category', t(`category.${a.category}`)),
    row('field.invitation_number', a.invitation_number),
    row('officer.col.status', statusTag(record.standing), { 'data-standing': record.standing }),
  ];
  if (visa) {
    rows.push(row('officer.col.visa', visa.number, { 'data-visa-number': visa.number }));
    rows.push(row('officer.col.validity', t('officer.record.validity', { from: formatDate(visa.valid_from), until: formatDate(visa.valid_until) }), { 'data-valid-until': visa.valid_until }));
  }
  host.append(el('dl', { className: 'summary-list' }, rows));
  host.append(el('h3', { key: 'officer.record.timeline' }));
  host.append(el('ol', { className: 'timeline', attrs: { 'data-timeline': '' } }, record.timeline.map((step) => el('li', { attrs: { 'data-event': step.event } }, [
    el('strong', { key: `officer.event.${step.event}` }), document.createTextNode(` ${formatDateTime(step.at)}`),
  ]))));
  renderActions();
}

const ACTIONS = {
  cancel: { path: 'cancellation', button: 'button--warning' },
  restore: { path: 'restoration', button: '' },
  shorten: { path: 'shortening', button: 'button--warning' },
  // A disputed payment's decision (POST .../review-decision).
  keep: { decision: 'keep', button: '' },
  dispute_cancel: { decision: 'cancel', button: 'button--warning' },
};

/** Where an action is sent, and with what. */
function actionRequest(kind, visa) {
  const body = { reason: action.reason };
  if (ACTIONS[kind].decision) {
    body.decision = ACTIONS[kind].decision;
    return [`/officer/applications/${encodeURIComponent(record.application.id)}/review-decision`, body];
  }
  if (kind === 'shorten') body.valid_until = action.until;
  return [`/officer/visas/${encodeURIComponent(visa.number)}/${ACTIONS[kind].path}`, body];
}

function renderActions() {
  const host = document.getElementById('visa-actions');
  host.replaceChildren();
  const visa = record && record.application.visa;
  if (!visa || !isOfficer()) return;
  const cancelled = record.standing === 'cancelled';
  if (!action) {
    const reviewing = record.application.under_review;
    let kinds = cancelled ? ['restore'] : ['cancel', 'shorten'];
    if (reviewing) kinds = ['keep', 'dispute_cancel'];
    host.append(el('h3', { key: reviewing ? 'officer.reviews.decide_heading' : 'officer.visa.heading' }));
    if (reviewing) host.append(el('p', { key: 'officer.reviews.decide_intro' }));
    host.append(el('div', { className: 'button-group' }, kinds.map((kind) => {
      const b = el('button', { className: `button button--secondary`, key: `officer.visa.${kind}`, attrs: { type: 'button', 'data-action': kind } });
      b.addEventListener('click', () => { action = { kind, step: 'reason', reason: '', until: '' }; renderActions(); });
      return b;
    })));
    return;
  }
  if (action.step === 'reason') {
    const form = el('form', { attrs: { novalidate: true, id: 'action-form' } });
    const title = el('h3', { key: `officer.visa.${action.kind}_heading`, vars: { number: visa.number }, attrs: { id: 'action-title' } });
    form.setAttribute('aria-labelledby', 'action-title');
    if (action.kind === 'shorten') {
      form.append(el('div', { className: 'form-group', attrs: { 'data-field': 'valid_until' } }, [
        el('label', { className: 'label', key: 'officer.visa.new_last_day', attrs: { for: 'action-until' } }),
        el('input', { attrs: { type: 'date', id: 'action-until', name: 'until', min: visa.valid_from, max: visa.valid_until, value: action.until } }),
      ]));
    }
    const reason = el('textarea', { attrs: { id: 'action-reason', name: 'reason', rows: '3', maxlength: '500', 'aria-describedby': 'action-reason-hint' } });
    reason.value = action.reason;
    form.append(el('div', { className: 'form-group', attrs: { 'data-field': 'reason' } }, [
      el('label', { className: 'label', key: 'officer.reason', attrs: { for: 'action-reason' } }),
      el('p', { className: 'hint', key: 'officer.reason_hint', attrs: { id: 'action-reason-hint' } }),
      reason,
    ]));
    const back = el('button', { className: 'button button--secondary', key: 'officer.back', attrs: { type: 'button' } });
    back.addEventListener('click', () => { action = null; renderActions(); });
    form.append(el('div', { className: 'button-group' }, [el('button', { className: 'button', key: 'common.continue', attrs: { type: 'submit' } }), back]));
    const errors = new FormErrors(form, document.getElementById('summary-host'));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const missing = [];
      action.reason = form.elements.reason.value.trim();
      if (action.kind === 'shorten') action.until = form.elements.until.value;
      if (action.kind === 'shorten' && !action.until) missing.push({ field: 'valid_until', key: 'missing.new_last_day' });
      if (!action.reason) missing.push({ field: 'reason', key: 'missing.reason' });
      if (missing.length) { errors.show(missing); return; }
      errors.clear();
      action.step = 'check';
      renderActions();
    });
    host.append(title, form);
    (form.elements.until || form.elements.reason).focus();
    return;
  }
  // The second screen: what will happen, to whom, and why; then confirm.
  const p = record.application.passport;
  const check = el('div', { attrs: { 'data-check': action.kind } }, [
    el('h3', { key: 'officer.check.heading', attrs: { id: 'check-title', tabindex: '-1' } }),
    el('dl', { className: 'summary-list' }, [
      row('officer.check.action', t(`officer.visa.${action.kind}`)),
      row('officer.col.visa', visa.number),
      row('officer.col.name', `${p.surname} ${p.given_names}`),
      action.kind === 'shorten' ? row('officer.visa.new_last_day', formatDate(action.until)) : null,
      row('officer.reason', action.reason),
    ].filter(Boolean)),
    el('p', { className: 'inset', key: `officer.check.${action.kind}_effect` }),
  ]);
  const confirm = el('button', { className: `button ${ACTIONS[action.kind].button}`, key: `officer.check.confirm_${action.kind}`, attrs: { type: 'button', 'data-confirm': action.kind } });
  const change = el('button', { className: 'button button--secondary', key: 'officer.check.change', attrs: { type: 'button' } });
  change.addEventListener('click', () => { action.step = 'reason'; renderActions(); });
  confirm.addEventListener('click', async () => {
    confirm.disabled = true;
    const kind = action.kind;
    const [path, body] = actionRequest(kind, visa);
    try {
      await call('POST', path, body);
      notice('success', `officer.done.${kind}`, 'officer.done.emailed', { number: visa.number });
      await loadRecord(record.application.id);
    } catch (err) {
      if (!(err instanceof ApiProblem)) throw err;
      action = null;
      notice('info', 'officer.refused_title', refusalKey(err));
      await loadRecord(record.application.id);
    }
  });
  check.append(el('div', { className: 'button-group' }, [confirm, change]));
  host.append(check);
  check.querySelector('#check-title').focus();
}

// ---------- invitations ----------

let foundInvitation = null;
let invitationList = null;
let revoking = null; // { step, reason }

/** The invitations a search found: one line each, opened with a button. */
function renderInvitationList() {
  const host = document.getElementById('invitation-list');
  host.replaceChildren();
  if (!invitationList) return;
  if (!invitationList.length) {
    host.append(el('p', { key: 'officer.invitations.none', attrs: { 'data-results': '0' } }));
    return;
  }
  const head = el('tr', {}, ['field.invitation_number', 'officer.col.name', 'officer.invitations.inviter_name', 'officer.col.status']
    .map((key) => el('th', { key, attrs: { scope: 'col' } })));
  const rows = invitationList.map((inv) => {
    const open = el('button', { className: 'link-button', text: inv.number, attrs: { type: 'button', 'data-open-invitation': inv.number } });
    open.addEventListener('click', () => { foundInvitation = inv; revoking = null; renderInvitation(); });
    return el('tr', { attrs: { 'data-invitation-row': inv.number } }, [
      el('td', {}, [open]),
      el('td', { text: `${inv.invitee.surname} ${inv.invitee.given_names}` }),
      el('td', { text: `${inv.inviter.name} (${inv.inviter.bin})` }),
      el('td', { key: `officer.invitation_status.${inv.status}` }),
    ]);
  });
  host.append(el('table', { className: 'table', attrs: { 'data-results': String(invitationList.length) } }, [
    el('caption', { className: 'visually-hidden', key: 'officer.invitations.caption', vars: { n: invitationList.length } }),
    el('thead', {}, [head]),
    el('tbody', {}, rows),
  ]));
}

function wireInvitations() {
  const summary = document.getElementById('summary-host');
  const lookup = document.getElementById('invitation-lookup-form');
  const lookupErrors = new FormErrors(lookup, summary);
  lookup.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const q = lookup.elements.q.value.trim();
    if (!q) { lookupErrors.show([{ field: 'q', key: 'missing.invitation_q' }]); return; }
    try {
      const found = await call('GET', `/officer/invitations?${new URLSearchParams({ q })}`);
      lookupErrors.clear();
      invitationList = found.invitations;
      foundInvitation = invitationList.length === 1 ? invitationList[0] : null;
      revoking = null;
      renderInvitationList();
      renderInvitation();
    } catch (err) {
      if (!(err instanceof ApiProblem)) throw err;
      lookupErrors.show(problemMessages(err));
    }
  });

  const form = document.getElementById('invitation-form');
  const errors = new FormErrors(form, summary);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = form.elements;
    const body = {
      category: f.category.value,
      inviter: { name: f.inviter_name.value.trim(), bin: f.inviter_bin.value.trim() },
      invitee: {
        surname: f.surname.value.trim(),
        given_names: f.given_names.value.trim(),
        nationality: f.nationality.value.trim().toUpperCase(),
        date_of_birth: f.date_of_birth.value,
        passport_number: f.passport_number.value.trim().toUpperCase(),
      },
      valid_from: f.valid_from.value,
      valid_until: f.valid_until.value,
    };
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      foundInvitation = await call('POST', '/officer/invitations', body);
      revoking = null;
      errors.clear();
      form.reset();
      notice('success', 'officer.done.invitation_created', null, { number: foundInvitation.number });
      renderInvitation();
    } catch (err) {
      if (!(err instanceof ApiProblem)) throw err;
      errors.show(problemMessages(err));
    } finally {
      button.disabled = false;
    }
  });
}

function renderInvitation() {
  const host = document.getElementById('invitation-found');
  host.replaceChildren();
  const inv = foundInvitation;
  if (!inv) return;
  host.append(el('dl', { className: 'summary-list', attrs: { 'data-invitation': inv.number } }, [
    row('field.invitation_number', inv.number),
    row('officer.col.status', el('strong', { className: `tag tag--invitation-${inv.status}`, key: `officer.invitation_status.${inv.status}`, attrs: { 'data-status': inv.status } })),
    row('field.category', t(`category.${inv.category}`)),
    row('officer.invitations.inviter_name', `${inv.inviter.name} (${inv.inviter.bin})`),
    row('officer.col.name', `${inv.invitee.surname} ${inv.invitee.given_names}`),
    row('field.passport.number', inv.invitee.passport_number),
    row('officer.col.validity', t('officer.record.validity', { from: formatDate(inv.valid_from), until: formatDate(inv.valid_until) })),
  ]));
  // A used invitation can still be revoked while its application has opened
  // no checkout; the server says when it is too late (409).
  if (!['approved', 'used'].includes(inv.status) || !isOfficer()) return;
  if (!revoking) {
    const b = el('button', { className: 'button button--secondary', key: 'officer.invitations.revoke', attrs: { type: 'button', 'data-action': 'revoke' } });
    b.addEventListener('click', () => { revoking = { step: 'reason', reason: '' }; renderInvitation(); });
    host.append(b);
    return;
  }
  if (revoking.step === 'reason') {
    const form = el('form', { attrs: { novalidate: true, id: 'revoke-form' } });
    const reason = el('textarea', { attrs: { id: 'revoke-reason', name: 'reason', rows: '3', maxlength: '500' } });
    reason.value = revoking.reason;
    form.append(el('div', { className: 'form-group', attrs: { 'data-field': 'reason' } }, [
      el('label', { className: 'label', key: 'officer.reason', attrs: { for: 'revoke-reason' } }), reason,
    ]), el('button', { className: 'button', key: 'common.continue', attrs: { type: 'submit' } }));
    const errors = new FormErrors(form, document.getElementById('summary-host'));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      revoking.reason = form.elements.reason.value.trim();
      if (!revoking.reason) { errors.show([{ field: 'reason', key: 'missing.reason' }]); return; }
      errors.clear();
      revoking.step = 'check';
      renderInvitation();
    });
    host.append(form);
    reason.focus();
    return;
  }
  const confirm = el('button', { className: 'button button--warning', key: 'officer.check.confirm_revoke', attrs: { type: 'button', 'data-confirm': 'revoke' } });
  confirm.addEventListener('click', async () => {
    confirm.disabled = true;
    try {
      await call('POST', `/officer/invitations/${inv.number}/revocation`, { reason: revoking.reason });
      notice('success', 'officer.done.revoke', null, { number: inv.number });
      foundInvitation = await call('GET', `/officer/invitations/${inv.number}`);
    } catch (err) {
      if (!(err instanceof ApiProblem)) throw err;
      notice('info', 'officer.refused_title', refusalKey(err));
    }
    revoking = null;
    renderInvitation();
  });
  host.append(el('div', { attrs: { 'data-check': 'revoke' } }, [
    el('h3', { key: 'officer.check.heading', attrs: { id: 'revoke-check-title', tabindex: '-1' } }),
    el('dl', { className: 'summary-list' }, [row('officer.check.action', t('officer.invitations.revoke')), row('officer.reason', revoking.reason)]),
    el('p', { className: 'inset', key: 'officer.check.revoke_effect' }),
    confirm,
  ]));
  host.querySelector('#revoke-check-title').focus();
}

// ---------- inviting parties and their invitation requests ----------

let hosts = null; // the inviting parties tab's list, in the status it asked for
let hostRequests = null; // the invitation requests tab's list
// What an officer has chosen and typed in a decision form, not sent yet:
// kept across a redraw (a language change, a decision on another card).
const drafts = new Map(); // 'host:<id>' | 'request:<id>' -> { decision, reason }

function decisionRows(decision) {
  if (!decision) return [];
  return [
    row('officer.decision.by', decision.by),
    row('officer.decision.at', formatDateTime(decision.at)),
    decision.reason ? row('officer.reason', decision.reason, { 'data-decision-reason': '' }) : null,
  ].filter(Boolean);
}

/**
 * Approve or refuse, with a reason (needed to refuse; the inviting party
 * reads it). `send(body, errors)` makes the call; the form is an officer's
 * only: an auditor is never shown one.
 */
function decisionForm(draftKey, send, { hintKey = 'officer.decision.reason_hint' } = {}) {
  const draft = drafts.get(draftKey) || { decision: '', reason: '' };
  const base = draftKey.replace(':', '-');
  const radios = ['approve', 'refuse'].map((decision) => {
    const id = `${base}-${decision}`;
    return el('div', { className: 'choice' }, [
      el('input', { attrs: { type: 'radio', id, name: `${base}-decision`, value: decision, 'data-decision': decision, checked: draft.decision === decision } }),
      el('label', { key: `officer.decision.${decision}`, attrs: { for: id } }),
    ]);
  });
  const reason = el('textarea', { attrs: { id: `${base}-reason`, rows: '2', maxlength: '500', 'aria-describedby': `${base}-reason-hint`, 'data-reason-input': '' } });
  reason.value = draft.reason;
  // Unnamed, so not a landmark: its card names whom it decides.
  const form = el('form', { attrs: { novalidate: true, 'data-decide': draftKey } }, [
    el('div', { className: 'form-group', attrs: { 'data-field': 'decision' } }, [
      el('fieldset', {}, [
        el('legend', { key: 'officer.decision.legend' }),
        el('div', { className: 'radios radios--inline' }, radios),
      ]),
    ]),
    el('div', { className: 'form-group', attrs: { 'data-field': 'reason' } }, [
      el('label', { className: 'label', key: 'officer.reason', attrs: { for: reason.id } }),
      el('p', { className: 'hint', key: hintKey, attrs: { id: `${base}-reason-hint` } }),
      reason,
    ]),
    el('button', { className: 'button', key: 'officer.decision.submit', attrs: { type: 'submit' } }),
  ]);
  const chosen = () => {
    const checked = form.querySelector('[data-decision]:checked');
    return checked ? checked.value : '';
  };
  const keepDraft = () => drafts.set(draftKey, { decision: chosen(), reason: reason.value });
  form.addEventListener('input', keepDraft);
  form.addEventListener('change', keepDraft);
  // Next to its field (no summary): the form sits in a list, far from the page's top.
  const errors = new FormErrors(form, null);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const button = form.querySelector('button[type="submit"]');
    if (button.disabled) return;
    const decision = chosen();
    const text = reason.value.trim();
    const missing = [];
    if (!decision) missing.push({ field: 'decision', key: 'missing.decision' });
    if (decision === 'refuse' && !text) missing.push({ field: 'reason', key: 'missing.refusal_reason' });
    if (missing.length) { errors.show(missing); return; }
    button.disabled = true;
    try {
      await send(text ? { decision, reason: text } : { decision }, errors);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

/** A decision's answer: the notice, or the reason's field error; then the list again, as it now is. */
async function decide(path, body, errors, done, reload, headingId) {
  try {
    const decided = await call('POST', path, body);
    done(decided);
  } catch (err) {
    if (!(err instanceof ApiProblem)) throw err;
    if (err.slug === 'validation') { errors.show(problemMessages(err)); return; }
    // Decided already (another officer, another tab), gone, or not an officer's to decide.
    notice('info', 'officer.refused_title', refusalKey(err));
  }
  await reload();
  document.getElementById(headingId).focus();
}

async function loadQueue(path, hostId, take) {
  const box = document.getElementById(hostId);
  box.replaceChildren(el('p', { className: 'loading', key: 'common.loading' }));
  try {
    take(await call('GET', path));
  } catch (err) {
    if (!(err instanceof ApiProblem)) throw err;
    take(null);
    box.replaceChildren(el('p', { key: problemKey(err) }));
    return false;
  }
  return true;
}

async function loadHosts() {
  const status = document.getElementById('hosts-status').value;
  if (await loadQueue(`/officer/hosts?${new URLSearchParams({ status })}`, 'host-queue', (found) => { hosts = found && found.hosts; })) renderHosts();
}

function hostCard(h) {
  const titleId = `host-${h.id}-title`;
  // An article, not a section: two cards may share a name, and landmarks may not.
  const card = el('article', { className: 'card', attrs: { 'aria-labelledby': titleId, 'data-host': h.id, 'data-host-number': h.number, 'data-status': h.status } }, [
    el('h3', { className: 'card__title', text: h.name, attrs: { id: titleId } }),
    el('div', { className: 'card__body' }, [el('dl', { className: 'summary-list' }, [
      row('officer.col.status', el('strong', { className: `tag tag--${h.status}`, key: `host.status.${h.status}`, attrs: { 'data-status': h.status } })),
      row('host.field.kind', t(`host.kind_short.${h.kind}`)),
      row('host.field.number', h.number),
      row('host.field.contact', `${h.contact.name}, ${h.contact.phone}`),
      row('host.field.registered', formatDateTime(h.created_at)),
      ...decisionRows(h.decision),
    ])]),
  ]);
  if (h.status === 'pending_approval' && isOfficer()) {
    const send = (body, errors) => decide(`/officer/hosts/${encodeURIComponent(h.id)}/decision`, body, errors, () => {
      drafts.delete(`host:${h.id}`);
      notice('success', `officer.hosts.done_${body.decision}`, 'officer.decision.recorded', { name: h.name });
    }, loadHosts, 'hosts-title');
    card.append(el('div', { className: 'card__actions' }, [decisionForm(`host:${h.id}`, send)]));
  }
  return card;
}

/** A queue's cards and the line that counts them (empty until it has loaded). */
function renderCards(boxId, countId, items, card, countLine) {
  const box = document.getElementById(boxId);
  const count = document.getElementById(countId);
  box.replaceChildren();
  count.textContent = '';
  if (!items) return;
  count.textContent = countLine(items.length);
  box.append(...items.map(card));
}

function renderHosts() {
  renderCards('host-queue', 'hosts-count', hosts, hostCard,
    (n) => (n ? t('officer.queue.count', { n }) : t('officer.hosts.none')));
}

async function loadRequests() {
  const status = document.getElementById('requests-status').value;
  if (await loadQueue(`/officer/invitation-requests?${new URLSearchParams({ status })}`, 'request-queue', (found) => { hostRequests = found && found.requests; })) renderRequests();
}

function requestCard(r) {
  const titleId = `request-${r.id}-title`;
  const who = r.invitee;
  const name = `${who.surname} ${who.given_names || ''}`.trim();
  const card = el('article', { className: 'card', attrs: { 'aria-labelledby': titleId, 'data-request': r.id, 'data-passport': who.passport_number, 'data-status': r.status } }, [
    el('h3', { className: 'card__title', text: name, attrs: { id: titleId } }),
    el('div', { className: 'card__body' }, [el('dl', { className: 'summary-list' }, [
      row('officer.col.status', el('strong', { className: `tag tag--request-${r.status}`, key: `host.request_status.${r.status}`, attrs: { 'data-status': r.status } })),
      r.host ? row('field.inviter', t(`officer.requests.host.${r.host.kind}`, { name: r.host.name, number: r.host.number }), { 'data-inviter': r.host.number }) : null,
      row('field.passport.number', who.passport_number),
      row('field.passport.nationality', countryName(who.nationality, who.nationality)),
      row('field.passport.date_of_birth', formatDate(who.date_of_birth)),
      row('field.passport.sex', t(`sex.${who.sex}`)),
      row('field.email', who.email),
      row('field.category', t(`category.${r.category}`)),
      row('officer.col.validity', t('officer.record.validity', { from: formatDate(r.valid_from), until: formatDate(r.valid_until) })),
      row('host.request.purpose', r.purpose),
      row('officer.requests.requested', formatDateTime(r.created_at)),
      r.invitation_number ? row('field.invitation_number', r.invitation_number, { 'data-invitation-number': r.invitation_number }) : null,
      ...decisionRows(r.decision),
    ].filter(Boolean))]),
  ]);
  if (r.status === 'pending' && isOfficer()) {
    // The API keeps a request's reason only with a refusal (an approval's would be dropped): none is sent with one.
    const send = (body, errors) => decide(`/officer/invitation-requests/${encodeURIComponent(r.id)}/decision`, body, errors, (decided) => {
      drafts.delete(`request:${r.id}`);
      if (body.decision === 'approve') {
        // The invitation the approval made: its number is what the foreigner applies with.
        notice('success', 'officer.requests.done_approve', 'officer.requests.done_approve_body', { name, number: decided.invitation_number });
        document.querySelector('[data-notice="success"]').setAttribute('data-invitation-number', decided.invitation_number);
      } else {
        notice('success', 'officer.requests.done_refuse', 'officer.decision.recorded', { name });
      }
    }, loadRequests, 'requests-title');
    card.append(el('div', { className: 'card__actions' }, [decisionForm(`request:${r.id}`, send)]));
  }
  return card;
}

function renderRequests() {
  renderCards('request-queue', 'requests-count', hostRequests, requestCard,
    (n) => (n ? t('officer.queue.count', { n }) : t('officer.requests.none')));
}

function wireQueues() {
  for (const [id, load] of [['hosts-filter', loadHosts], ['requests-filter', loadRequests], ['arrivals-filter', loadArrivals]]) {
    document.getElementById(id).addEventListener('submit', (ev) => {
      ev.preventDefault();
      load();
    });
  }
}

// ---------- arrival notices not filed ----------

let arrivals = null; // the arrival notices tab's list, in the status it asked for
let arrivalsStatus = 'overdue';

async function loadArrivals() {
  const status = document.getElementById('arrivals-status').value;
  if (await loadQueue(`/officer/arrivals?${new URLSearchParams({ status })}`, 'arrival-queue', (found) => {
    arrivals = found && found.arrivals;
    arrivalsStatus = status;
  })) renderArrivals();
}

/** The contact person, their phone a link to call it. */
function contactValue(contact) {
  const phone = String(contact.phone || '');
  return el('span', {}, [
    document.createTextNode(`${contact.name}, `),
    el('a', { text: phone, attrs: { href: `tel:${phone.replace(/[^+\d]/g, '')}`, 'data-contact-phone': phone } }),
  ]);
}

function arrivalCard(a) {
  const titleId = `arrival-${a.request_id}-title`;
  const who = a.invitee;
  const name = `${who.surname} ${who.given_names || ''}`.trim();
  const overdue = a.status === 'overdue';
  const h = a.host;
  // An article, not a section: two cards may share a name, and landmarks may not.
  return el('article', { className: `card${overdue ? ' card--overdue' : ''}`, attrs: { 'aria-labelledby': titleId, 'data-arrival': a.request_id, 'data-passport': who.passport_number, 'data-visa-number': a.visa_number, 'data-status': a.status } }, [
    el('h3', { className: 'card__title', text: name, attrs: { id: titleId } }),
    el('div', { className: 'card__body' }, [el('dl', { className: 'summary-list' }, [
      row('officer.col.status', el('strong', { className: `tag tag--arrival-${a.status}`, key: `host.arrival_status.${a.status}`, attrs: { 'data-arrival-status': a.status } })),
      h ? row('field.inviter', t(`officer.requests.host.${h.kind}`, { name: h.name, number: h.number }), { 'data-inviter': h.number })
        : row('field.inviter', t('officer.arrivals.host_gone'), { 'data-inviter': '' }),
      h ? row('host.field.contact', contactValue(h.contact), { 'data-contact': '' }) : null,
      row('field.passport.number', who.passport_number),
      row('field.passport.nationality', countryName(who.nationality, who.nationality)),
      row('field.visa_number', a.visa_number, { 'data-visa': '' }),
      row('field.invitation_number', a.invitation_number),
      row('host.col.arrived', t('host.crossing', { time: formatDate(a.entered_on), checkpoint: a.checkpoint }), { 'data-entered-on': a.entered_on }),
      row('host.col.due', formatDate(a.due_on), { 'data-due-on': a.due_on }),
      overdue ? row('officer.arrivals.days_overdue', el('strong', { text: String(Math.max(1, daysBetween(a.due_on, kazakhstanToday()))) }), { 'data-days-overdue': '' }) : null,
      row('officer.arrivals.reminded', a.reminded_at ? formatDateTime(a.reminded_at) : t('officer.arrivals.not_reminded'), { 'data-reminded': a.reminded_at || '' }),
    ].filter(Boolean))]),
  ]);
}

function renderArrivals() {
  renderCards('arrival-queue', 'arrivals-count', arrivals, arrivalCard,
    (n) => (n ? t('officer.arrivals.count', { n }) : t(`officer.arrivals.none_${arrivalsStatus}`)));
  if (arrivals) document.getElementById('arrivals-count').setAttribute('data-arrivals', String(arrivals.length));
}

// ---------- the audit trail ----------

let trail = null;

/** RFC 4180 rows of the export (quoted cells may hold commas and quotes). */
export function parseCsv(text) {
  const rows = [];
  let cells = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i += 1; } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { cells.push(cell); cell = ''; } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i += 1;
      cells.push(cell); rows.push(cells); cells = []; cell = '';
    } else cell += c;
  }
  if (cell || cells.length) { cells.push(cell); rows.push(cells); }
  return rows;
}

function wireAudit() {
  const form = document.getElementById('audit-form');
  const errors = new FormErrors(form, document.getElementById('summary-host'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const params = new URLSearchParams();
    if (form.elements.from.value) params.set('from', form.elements.from.value);
    if (form.elements.to.value) params.set('to', form.elements.to.value);
    try {
      const csv = await call('GET', `/officer/audit-events?${params}`);
      errors.clear();
      trail = { csv, rows: parseCsv(csv).slice(1), name: `audit-${params.get('from') || 'last-30-days'}.csv` };
      renderAudit();
    } catch (err) {
      if (!(err instanceof ApiProblem)) throw err;
      errors.show(problemMessages(err));
    }
  });
}

function renderAudit() {
  const host = document.getElementById('audit-result');
  host.replaceChildren();
  if (!trail) return;
  if (!trail.rows.length) {
    host.append(el('p', { key: 'officer.audit.none' }));
    return;
  }
  const columns = ['officer.audit.at', 'officer.audit.actor', 'officer.audit.action', 'officer.audit.record', 'officer.reason', 'officer.audit.from_address'];
  host.append(el('table', { className: 'table', attrs: { 'data-events': String(trail.rows.length) } }, [
    el('caption', { className: 'visually-hidden', key: 'officer.audit.heading' }),
    el('thead', {}, [el('tr', {}, columns.map((key) => el('th', { key, attrs: { scope: 'col' } })))]),
    el('tbody', {}, trail.rows.map(([, at, actor, act, rec, reason, from]) => el('tr', { attrs: { 'data-action': act } }, [
      el('td', { text: formatDateTime(at) }), el('td', { text: actor }), el('td', { text: act }),
      el('td', { text: rec }), el('td', { text: reason }), el('td', { text: from }),
    ]))),
  ]));
  const url = URL.createObjectURL(new Blob([trail.csv], { type: 'text/csv' }));
  host.append(el('p', {}, [el('a', { key: 'officer.audit.download', attrs: { href: url, download: trail.name, 'data-download-csv': '' } })]));
}

// ---------- start ----------

start(async () => {
  wireSignIn();
  wireSearch();
  wireInvitations();
  wireAudit();
  wireBorder();
  wireQueues();
  window.addEventListener('hashchange', route);
  onLanguageChange(() => {
    renderWho();
    renderResults();
    renderRecord();
    renderInvitationList();
    renderInvitation();
    renderAudit();
    renderQueue();
    renderCrossing();
    renderHosts();
    renderRequests();
    renderArrivals();
    translate(document.getElementById('main'));
  });
  if (staff()) showWorkplace();
  else showSignIn();
}, { staff: true });
