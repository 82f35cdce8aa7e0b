// Personal cabinet: the applicant's applications with their live status
// (GET /api/applications, polled), and what to do next for each. An
// application awaiting payment links to its checkout while that takes
// payment ("Pay by ..."); once it has expired the cabinet says so and pays
// again through a new confirmation, which opens a new checkout. While the
// account's email address is not confirmed (GET /api/accounts/current), a
// notice says so, and that the e-visa is not emailed until it is, with a
// button that emails a new link (POST /api/email-verifications). At the
// end, "Delete my account" (DELETE /api/accounts/current, the password
// asked again): once done, the page shows what was erased and the e-visas
// the migration service keeps, each with the way to get it without an
// account (/retrieve).
//
// Families and groups: applications one group pays for (their group_id,
// GET /api/groups/{id}) are shown together under the group's heading,
// with its status and its one action (check and pay for all, the
// checkout, undo the group); two or more that can be paid for together
// are offered "Pay for several people together" (group-form.js). An
// application whose invitation the migration service revoked says so and
// offers no payment.

import { start, onLanguageChange, showPageProblem, refreshAccountLinks } from '../page.js';
import { t, el, translate, currentLanguage, formatDate, formatDateTime, formatMoney, formatTime, updateTitle } from '../i18n.js';
import { get, post, del, clearSession, ApiProblem } from '../api.js';
import { FormErrors, problemKey } from '../errors.js';
import { downloadVisa } from '../visa-download.js';
import { checkoutUrl, checkoutExpired, goToCheckout, whenCheckoutsExpire } from '../payment.js';
import { statusTag } from '../status-tag.js';
import { getGroup, undoGroup, goToGroupCheckout, checkHref, membersOf, droppedOf, personName } from '../groups.js';
import { renderGroupForm, wireGroupForm, groupable } from '../group-form.js';

// Fast while a payment or an issue is under way (the webhook and the
// renderer act within seconds), slow otherwise.
const FAST_POLL_MS = 3000;
const SLOW_POLL_MS = 30000;
const IN_FLIGHT = new Set(['awaiting_payment', 'paid']);

let items = null;
let groups = new Map(); // group id -> GET /api/groups/{id}, for the groups the applications name
const groupErrors = new Map(); // group id -> problem key
const groupBusy = new Set(); // group ids whose confirmation or undoing is under way
let timer = null;
let cancelExpiryTimer = () => {};
const actionErrors = new Map(); // application id -> problem key
const paying = new Set(); // application ids whose confirmation is under way
let account = null; // GET /api/accounts/current, once known
let resendOutcome = null; // what "Send a new link" last came to: {key, vars, retryAt, error}
let resending = false;
let deleting = false;
let deletionOutcome = null; // what "Delete my account" last came to, short of success: {key, until}
let deleted = null; // the 200 answer of DELETE /api/accounts/current, once the account is gone

function row(labelKey, value) {
  const dd = el('dd');
  if (value instanceof Node) dd.append(value);
  else dd.textContent = value;
  return el('div', { className: 'summary-list__row' }, [el('dt', { key: labelKey }), dd]);
}

/**
 * Paying: the link to the open checkout with its deadline, or, once it has
 * expired, what happened and a button that opens a new one. Either way a
 * click confirms again first, so a link that has just died (or a clock
 * that runs slow) still ends on a checkout that takes payment.
 */
function payActions(app, check) {
  const url = checkoutUrl(app);
  if (!url) return [el('a', { className: 'button', key: 'cabinet.action_pay', attrs: { href: check } })];
  const focus = `pay:${app.id}`;
  if (checkoutExpired(app)) {
    const button = el('button', {
      className: 'button',
      key: 'cabinet.action_pay_again',
      vars: { fee: formatMoney(app.fee) },
      attrs: { type: 'button', 'data-pay-again': app.id, 'data-focus': focus },
    });
    button.addEventListener('click', () => pay(app));
    return [
      el('p', {
        className: 'inset',
        key: 'cabinet.payment_expired',
        vars: { time: formatDateTime(app.payment.expires_at) },
        attrs: { 'data-checkout-expired': app.payment.expires_at },
      }),
      button,
    ];
  }
  const link = el('a', { className: 'button', key: 'cabinet.action_pay', attrs: { href: url, 'data-pay': app.id, 'data-focus': focus } });
  link.addEventListener('click', (ev) => {
    // A new tab or window follows the link itself.
    if (ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) return;
    ev.preventDefault();
    pay(app);
  });
  const out = [];
  if (app.payment.expires_at) {
    out.push(el('p', {
      key: 'cabinet.pay_by',
      vars: { time: formatDateTime(app.payment.expires_at) },
      attrs: { 'data-pay-by': app.payment.expires_at },
    }));
  }
  out.push(link);
  return out;
}

/** Focuses a card's action (or its title, made focusable for this) by its data-focus key. */
function focusAction(key) {
  const target = document.querySelector(`#applications [data-focus="${CSS.escape(key)}"]`);
  if (!target) return;
  if (target.matches('h2, h3')) target.setAttribute('tabindex', '-1');
  target.focus();
}

async function pay(app) {
  // A second click while the first is under way does nothing (GOV.UK's double-click guard).
  if (paying.has(app.id)) return;
  paying.add(app.id);
  actionErrors.delete(app.id);
  render();
  try {
    await goToCheckout(app.id);
    return; // on the way to the checkout
  } catch (err) {
    paying.delete(app.id);
    if (!(err instanceof ApiProblem)) throw err;
    if (err.slug === 'unauthenticated') return; // on the way to sign in
    if (err.slug === 'invalid-state') {
      // Paid meanwhile (another tab, a late payment): show where it is now.
      try { await refresh(); } catch { /* the message below says what to do */ }
      const now = (items || []).find((a) => a.id === app.id);
      if (now && now.status !== 'awaiting_payment') {
        render();
        focusAction(`title:${app.id}`);
        return;
      }
    }
    actionErrors.set(app.id, problemKey(err));
    render();
    focusAction(`pay:${app.id}`);
  }
}

/** The group an application is paid with, if it is still in one (not undone). */
function groupOf(app) {
  const group = app.group_id ? groups.get(app.group_id) : null;
  if (!group || group.status === 'dissolved') return null;
  return membersOf(group).some((m) => m.application_id === app.id) ? group : null;
}

function actionsFor(app) {
  const box = el('div', { className: 'card__actions' });
  const check = `/check?application=${encodeURIComponent(app.id)}`;
  if (app.invitation_revoked_at && ['invitation_confirmed', 'awaiting_payment'].includes(app.status)) {
    // Revoked before any payment: nothing to pay, and the way to ask why.
    box.append(el('p', { className: 'inset', key: 'cabinet.invitation_revoked', vars: { at: formatDateTime(app.invitation_revoked_at) }, attrs: { 'data-revoked': app.id } }));
    return box;
  }
  if (groupOf(app) && ['invitation_confirmed', 'awaiting_payment'].includes(app.status)) {
    // Paid for with the others: the group's heading above has the action.
    box.append(el('p', { key: 'cabinet.member_pays_with_group' }));
    return box;
  }
  switch (app.status) {
    case 'invitation_confirmed':
      box.append(el('p', { key: 'cabinet.next_check' }),
        el('a', { className: 'button', key: 'cabinet.action_check', attrs: { href: check } }));
      break;
    case 'awaiting_payment':
      box.append(el('p', { key: 'cabinet.next_pay' }), ...payActions(app, check));
      break;
    case 'paid':
      box.append(el('p', { key: 'cabinet.next_wait' }));
      break;
    case 'issued': {
      // The migration service's changes come first: a cancelled visa is
      // not to be printed, a shortened one ends earlier than it printed.
      const visa = app.visa || {};
      if (visa.cancelled_at) {
        box.append(el('p', { className: 'inset', key: 'cabinet.visa_cancelled', vars: { at: formatDateTime(visa.cancelled_at) }, attrs: { 'data-visa-change': 'cancelled' } }));
        break;
      }
      if (visa.shortened_from) {
        box.append(el('p', { className: 'inset', key: 'cabinet.visa_shortened', vars: { until: formatDate(visa.valid_until), printed: formatDate(visa.shortened_from) }, attrs: { 'data-visa-change': 'shortened' } }));
      }
      const button = el('button', { className: 'button', key: 'visa.download', attrs: { type: 'button', 'data-download': app.id, 'data-focus': `download:${app.id}` } });
      button.addEventListener('click', async () => {
        actionErrors.delete(app.id);
        try {
          await downloadVisa(app.id);
        } catch (err) {
          if (!(err instanceof ApiProblem)) throw err;
          actionErrors.set(app.id, problemKey(err));
          render();
        }
      });
      box.append(el('p', { key: 'cabinet.next_print' }), button);
      break;
    }
    default:
      break;
  }
  if (actionErrors.has(app.id)) {
    box.append(el('p', { className: 'error-message', key: actionErrors.get(app.id), attrs: { role: 'alert' } }));
  }
  return box;
}

function card(app, level = 2) {
  const titleId = `application-${app.id}-title`;
  // Two applications of the same type share a title: the invitation number tells their regions apart.
  const invitationId = `application-${app.id}-invitation`;
  const p = app.passport || {};
  const dl = el('dl', { className: 'summary-list' }, [
    row('cabinet.status', statusTag(app.visa && app.visa.cancelled_at ? 'cancelled' : app.status)),
    app.visa && app.visa.number ? row('field.visa_number', app.visa.number) : null,
    row('field.invitation_number', el('span', { text: app.invitation_number || '', attrs: { id: invitationId } })),
    row('field.name', [p.surname, p.given_names].filter(Boolean).join(' ')),
    row('field.passport.number', p.number || ''),
    app.stay ? row('field.stay', t('common.date_range', { from: formatDate(app.stay.valid_from), to: formatDate(app.stay.valid_until) })) : null,
    app.fee ? row('field.fee', formatMoney(app.fee)) : null,
    app.created_at ? row('cabinet.created', formatDateTime(app.created_at)) : null,
  ]);
  const label = app.invitation_number ? `${titleId} ${invitationId}` : titleId;
  return el('section', { className: 'card', attrs: { 'aria-labelledby': label, 'data-application': app.id, 'data-status': app.status } }, [
    el(`h${level}`, { className: 'card__title', key: `category.${app.category}_visa`, attrs: { id: titleId, 'data-focus': `title:${app.id}` } }),
    el('div', { className: 'card__body' }, [dl]),
    actionsFor(app),
  ]);
}

function render() {
  const host = document.getElementById('applications');
  host.removeAttribute('aria-busy');
  const focused = document.activeElement && document.activeElement.getAttribute('data-focus');
  host.replaceChildren();
  cancelExpiryTimer();
  if (!items || items.length === 0) {
    host.append(el('p', { key: 'cabinet.empty' }));
    return;
  }
  // Each group where its first member would be, its members under it.
  const shown = new Set();
  for (const app of items) {
    const group = groupOf(app);
    if (!group) host.append(card(app));
    else if (!shown.has(group.id)) {
      shown.add(group.id);
      host.append(groupSection(group));
    }
  }
  renderGroupForm(items.filter((a) => groupable(a, Boolean(groupOf(a)))));
  // Keep keyboard focus where it was across a refresh (from a Pay link to the button that replaces it).
  if (focused) focusAction(focused);
  cancelExpiryTimer = whenCheckoutsExpire([...items, ...[...shown].map((id) => groups.get(id))], checkoutsExpired);
}

// ---------- Groups: several applications paid for at once ----------

function groupActions(group) {
  const box = el('div', { className: 'card__actions' });
  const focus = `group:${group.id}`;
  const check = checkHref(group.id);
  const total = formatMoney(group.total);
  if (group.status === 'open') {
    const undo = el('button', { className: 'button button--secondary', key: 'cabinet.group_undo', attrs: { type: 'button', 'data-undo-group': group.id, 'data-focus': `undo:${group.id}` } });
    undo.addEventListener('click', () => undoTheGroup(group));
    box.append(
      el('p', { key: 'cabinet.group_next_check' }),
      el('div', { className: 'button-group' }, [
        el('a', { className: 'button', key: 'cabinet.group_action_check', attrs: { href: check, 'data-group-check': group.id, 'data-focus': focus } }),
        undo,
      ]),
    );
  } else if (group.status === 'awaiting_payment') {
    const url = checkoutUrl(group);
    if (!url || checkoutExpired(group)) {
      if (checkoutExpired(group)) {
        box.append(el('p', { className: 'inset', key: 'cabinet.payment_expired', vars: { time: formatDateTime(group.payment.expires_at) }, attrs: { 'data-checkout-expired': group.payment.expires_at } }));
      }
      // Confirmed again on the check page, which opens a new checkout.
      box.append(el('a', { className: 'button', key: 'cabinet.group_action_check', attrs: { href: check, 'data-group-check': group.id, 'data-focus': focus } }));
    } else {
      if (group.payment.expires_at) {
        box.append(el('p', { key: 'cabinet.pay_by', vars: { time: formatDateTime(group.payment.expires_at) }, attrs: { 'data-pay-by': group.payment.expires_at } }));
      }
      const link = el('a', { className: 'button', key: 'cabinet.group_action_pay', vars: { total }, attrs: { href: url, 'data-group-pay': group.id, 'data-focus': focus } });
      link.addEventListener('click', (ev) => {
        // A new tab or window follows the link itself.
        if (ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) return;
        ev.preventDefault();
        payGroup(group);
      });
      box.append(link);
    }
  } else if (group.status === 'paid') {
    box.append(el('p', { key: 'cabinet.group_paid' }));
  }
  if (groupErrors.has(group.id)) {
    box.append(el('p', { className: 'error-message', key: groupErrors.get(group.id), attrs: { role: 'alert' } }));
  }
  return box;
}

function groupSection(group) {
  const titleId = `group-${group.id}-title`;
  const members = membersOf(group);
  const apps = members.map((m) => (items || []).find((a) => a.id === m.application_id)).filter(Boolean);
  const dropped = droppedOf(group);
  return el('section', { className: 'group', attrs: { 'aria-labelledby': titleId, 'data-group': group.id, 'data-group-status': group.status } }, [
    el('div', { className: 'group__head' }, [
      el('h2', { className: 'group__title', key: members.length === 1 ? 'cabinet.group_heading_one' : 'cabinet.group_heading', vars: { count: members.length, total: formatMoney(group.total) }, attrs: { id: titleId, 'data-focus': `group-title:${group.id}` } }),
      el('p', {}, [el('strong', { className: `tag tag--group-${group.status}`, key: `group_status.${group.status}`, attrs: { 'data-group-status-tag': group.status } })]),
      ...dropped.map((d) => el('p', { className: 'inset', key: 'cabinet.group_dropped', vars: { name: personName(d) }, attrs: { 'data-dropped': d.application_id } })),
      groupActions(group),
    ]),
    ...apps.map((app) => card(app, 3)),
  ]);
}

async function payGroup(group) {
  if (groupBusy.has(group.id)) return;
  groupBusy.add(group.id);
  groupErrors.delete(group.id);
  try {
    await goToGroupCheckout(group.id);
    return; // on the way to the checkout
  } catch (err) {
    if (!(err instanceof ApiProblem)) throw err;
    if (err.slug === 'unauthenticated') return;
    if (err.slug === 'group-changed') {
      // Members were dropped (nothing charged): the check page names them and asks again.
      window.location.assign(checkHref(group.id));
      return;
    }
    groupErrors.set(group.id, problemKey(err));
    try { await refresh(); } catch { /* the message says what to do */ }
    render();
    focusAction(`group:${group.id}`);
  } finally {
    groupBusy.delete(group.id);
  }
}

/** "Undo the group": the members are each paid for alone, or grouped again. */
async function undoTheGroup(group) {
  if (groupBusy.has(group.id)) return;
  groupBusy.add(group.id);
  groupErrors.delete(group.id);
  try {
    await undoGroup(group.id);
    await refresh();
    render();
    document.getElementById('status-announcer').textContent = t('cabinet.group_undone');
    // Focus goes where the members are offered again (or, with nothing to choose, to the first of them).
    const form = document.getElementById('group-new');
    if (!form.hidden) document.getElementById('group-new-title').focus();
    else if (membersOf(group)[0]) focusAction(`title:${membersOf(group)[0].application_id}`);
  } catch (err) {
    if (!(err instanceof ApiProblem)) throw err;
    if (err.slug === 'unauthenticated') return;
    groupErrors.set(group.id, problemKey(err));
    try { await refresh(); } catch { /* the message says what to do */ }
    render();
    focusAction(`group-title:${group.id}`);
  } finally {
    groupBusy.delete(group.id);
  }
}

/** A checkout on screen has just expired: no more link to it, and say so. */
function checkoutsExpired() {
  const linked = new Set([...document.querySelectorAll('#applications [data-pay]')].map((a) => a.getAttribute('data-pay')));
  render();
  const expired = (items || []).filter((a) => linked.has(a.id) && checkoutExpired(a));
  if (!expired.length) return;
  document.getElementById('status-announcer').textContent = expired
    .map((a) => t('cabinet.payment_expired', { time: formatDateTime(a.payment.expires_at) }))
    .join(' ');
}

function announceChanges(before, after) {
  const old = new Map((before || []).map((a) => [a.id, a.status]));
  const changed = after.filter((a) => old.has(a.id) && old.get(a.id) !== a.status);
  if (!changed.length) return;
  document.getElementById('status-announcer').textContent = changed
    .map((a) => t('cabinet.status_changed', { invitation: a.invitation_number, status: t(`status.${a.status}`) }))
    .join(' ');
}

// ---------- The account's email address ----------

/** Shows the notice while the address is known to be unconfirmed, hides it otherwise. */
function renderAccount() {
  const notice = document.getElementById('email-unverified');
  const unverified = Boolean(account) && account.email_verified === false;
  notice.hidden = !unverified;
  if (!unverified) return;
  const body = document.getElementById('email-unverified-body');
  // translate() fills the placeholder again after a language change.
  body.setAttribute('data-i18n-vars', JSON.stringify({ email: account.email }));
  translate(body);
}

/** The outcome of "Send a new link" in its live region, in the current language. */
function renderResendOutcome() {
  const status = document.getElementById('resend-status');
  const outcome = resendOutcome;
  status.classList.toggle('error-message', Boolean(outcome && outcome.error));
  if (!outcome) {
    status.textContent = '';
    return;
  }
  const vars = { ...outcome.vars };
  if (outcome.retryAt) vars.time = formatTime(outcome.retryAt);
  status.textContent = t(outcome.key, vars);
}

async function loadAccount() {
  try {
    account = await get('/accounts/current', { auth: true });
  } catch (err) {
    if (!(err instanceof ApiProblem)) throw err;
    // Unknown for now (on the way to sign in, or the call failed): no notice
    // rather than a wrong one; the applications are what this page is for.
    return;
  }
  renderAccount();
}

async function resendVerification() {
  // A second click while the first is under way does nothing; the button
  // keeps focus (aria-disabled, not disabled, which would drop it).
  if (resending || !account) return;
  resending = true;
  const button = document.getElementById('resend-verification');
  button.setAttribute('aria-disabled', 'true');
  // Emptied first, so the same words said again are announced again.
  resendOutcome = null;
  renderResendOutcome();
  try {
    await post('/email-verifications', { lang: currentLanguage() }, { auth: true });
    resendOutcome = { key: 'cabinet.email_resend_sent', vars: { email: account.email } };
  } catch (err) {
    if (!(err instanceof ApiProblem)) throw err;
    if (err.slug === 'unauthenticated') return; // on the way to sign in
    if (err.slug === 'email-already-verified') {
      // Confirmed meanwhile (the link opened in another tab): nothing left to ask.
      account = { ...account, email_verified: true };
      renderAccount();
      document.getElementById('status-announcer').textContent = t('cabinet.email_already_verified');
      document.getElementById('main').focus();
      return;
    }
    if (err.slug === 'too-many-requests') {
      resendOutcome = err.retryAt
        ? { key: 'cabinet.email_resend_too_many', retryAt: err.retryAt, error: true }
        : { key: 'cabinet.email_resend_too_many_later', error: true };
    } else {
      resendOutcome = { key: problemKey(err), error: true };
    }
  } finally {
    resending = false;
    button.removeAttribute('aria-disabled');
  }
  renderResendOutcome();
}

// ---------- Deleting the account ----------

/** What deleting came to, short of success, in its live region and the current language. */
function renderDeletionOutcome() {
  const status = document.getElementById('delete-account-status');
  const outcome = deletionOutcome;
  status.classList.toggle('error-message', Boolean(outcome));
  if (!outcome) {
    status.textContent = '';
    return;
  }
  status.textContent = outcome.until ? t(outcome.key, { time: formatTime(outcome.until) }) : t(outcome.key);
}

/** One kept application (paid or issued): its visa number, and how to get the e-visa without an account. */
function keptCard(kept) {
  // What the cabinet knew of it before the account went (the answer gives ids only).
  const app = (items || []).find((a) => a.id === kept.application_id) || {};
  const titleId = `kept-${kept.application_id}-title`;
  const numberId = `kept-${kept.application_id}-number`;
  const status = kept.status || app.status || 'unknown';
  const visaNumber = kept.visa_number || (app.visa && app.visa.number) || null;
  const p = app.passport || {};
  const dl = el('dl', { className: 'summary-list' }, [
    row('cabinet.status', statusTag(status)),
    visaNumber ? row('field.visa_number', el('strong', { text: visaNumber, attrs: { id: numberId, 'data-kept-visa-number': '' } })) : null,
    app.invitation_number ? row('field.invitation_number', app.invitation_number) : null,
    p.surname ? row('field.name', [p.surname, p.given_names].filter(Boolean).join(' ')) : null,
  ]);
  const actions = el('div', { className: 'card__actions' });
  if (status === 'issued') {
    actions.append(
      el('p', { key: 'delete_account.kept_issued' }),
      el('p', {}, [el('a', { key: 'delete_account.kept_retrieve_link', attrs: { href: '/retrieve', 'data-kept-retrieve': '' } })]),
    );
  } else {
    actions.append(el('p', { key: 'delete_account.kept_paid' }));
  }
  // Named by its title and visa number: two kept e-visas of the same type stay distinct regions.
  const label = visaNumber ? `${titleId} ${numberId}` : titleId;
  return el('section', { className: 'card', attrs: { 'aria-labelledby': label, 'data-kept': kept.application_id, 'data-status': status } }, [
    el('h3', { className: 'card__title', key: app.category ? `category.${app.category}_visa` : 'delete_account.kept_visa', attrs: { id: titleId } }),
    el('div', { className: 'card__body' }, [dl]),
    actions,
  ]);
}

/** The page once the account is gone: what was erased, and what the migration service keeps. */
function renderDeleted() {
  if (!deleted) return;
  const erased = Array.isArray(deleted.deleted && deleted.deleted.applications) ? deleted.deleted.applications.length : 0;
  const count = document.getElementById('deleted-applications');
  count.setAttribute('data-count', String(erased));
  count.textContent = erased ? t('delete_account.erased_count', { count: erased }) : t('delete_account.erased_none');
  const kept = Array.isArray(deleted.kept) ? deleted.kept : [];
  document.getElementById('kept-applications').hidden = kept.length === 0;
  document.getElementById('kept-list').replaceChildren(...kept.map(keptCard));
}

function showDeleted() {
  clearTimeout(timer);
  cancelExpiryTimer();
  document.getElementById('cabinet-view').hidden = true;
  document.getElementById('account-deleted').hidden = false;
  document.getElementById('main').setAttribute('data-shown', 'deleted');
  // The page is named after what it now shows (translate() keeps this on a language change).
  document.documentElement.setAttribute('data-title', 'delete_account.done_title');
  updateTitle();
  renderDeleted();
  document.getElementById('account-deleted-heading').focus();
}

function wireDeletion() {
  const form = document.getElementById('delete-account-form');
  const input = document.getElementById('delete-password');
  const button = document.getElementById('delete-account');
  // No summary: the form sits at the end of the page, so the message stays next to its field.
  const errors = new FormErrors(form, null);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    // A second click while the first is under way does nothing; the button
    // keeps focus (aria-disabled, not disabled, which would drop it).
    if (deleting) return;
    deletionOutcome = null;
    renderDeletionOutcome();
    const password = input.value;
    if (!password) {
      errors.show([{ field: 'password', key: 'missing.password' }]);
      return;
    }
    deleting = true;
    button.setAttribute('aria-disabled', 'true');
    // No polling meanwhile: a poll answered after the deletion (401) would send the tab to sign in.
    clearTimeout(timer);
    try {
      const answer = await del('/accounts/current', { body: { password }, auth: true });
      // The API has ended every session of the account: forget this tab's, as signing out does.
      clearSession();
      refreshAccountLinks();
      form.reset();
      errors.clear();
      deleted = answer || {};
      showDeleted();
    } catch (err) {
      if (!(err instanceof ApiProblem)) throw err;
      if (err.slug === 'unauthenticated') return; // on the way to sign in
      if (err.slug === 'invalid-credentials') {
        errors.show([{ field: 'password', key: 'delete_account.wrong_password' }]);
      } else if (err.slug === 'validation') {
        errors.show([{ field: 'password', key: 'missing.password' }]);
      } else {
        errors.clear();
        const until = err.slug === 'payment-open' && err.problem.until && !Number.isNaN(Date.parse(err.problem.until)) ? err.problem.until : null;
        deletionOutcome = until ? { key: 'delete_account.payment_open', until } : { key: problemKey(err) };
        renderDeletionOutcome();
      }
    } finally {
      deleting = false;
      button.removeAttribute('aria-disabled');
      schedule();
    }
  });
  onLanguageChange(() => { renderDeletionOutcome(); renderDeleted(); });
}

// ---------- The applications ----------

/** The groups these applications name (one missing stays out: its members show alone). */
async function loadGroups(apps) {
  const ids = [...new Set(apps.map((a) => a.group_id).filter(Boolean))];
  const found = await Promise.all(ids.map((id) => getGroup(id).catch((err) => {
    if (err instanceof ApiProblem && err.slug === 'unauthenticated') throw err;
    return groups.get(id) || null;
  })));
  return new Map(found.filter(Boolean).map((g) => [g.id, g]));
}

async function refresh() {
  const data = await get('/applications', { auth: true });
  const next = Array.isArray(data && data.items) ? data.items : [];
  const nextGroups = await loadGroups(next);
  const before = items;
  const changed = JSON.stringify([next, [...nextGroups]]) !== JSON.stringify([before, [...groups]]);
  items = next;
  groups = nextGroups;
  if (before) announceChanges(before, next);
  if (changed) render();
}

function schedule() {
  clearTimeout(timer);
  if (deleted || deleting) return;
  const delay = [...(items || []), ...groups.values()].some((a) => IN_FLIGHT.has(a.status)) ? FAST_POLL_MS : SLOW_POLL_MS;
  timer = setTimeout(async () => {
    if (deleted || deleting) return;
    if (document.visibilityState === 'visible') {
      try {
        await refresh();
      } catch (err) {
        if (err instanceof ApiProblem && err.slug === 'unauthenticated') return;
        // A missed poll is retried on the next tick.
      }
    }
    schedule();
  }, delay);
}

start(async () => {
  try {
    await refresh();
  } catch (err) {
    if (err instanceof ApiProblem && err.slug !== 'unauthenticated') {
      items = [];
      render();
      showPageProblem(err);
    } else {
      throw err;
    }
  }
  render();
  onLanguageChange(render);
  document.getElementById('resend-verification').addEventListener('click', resendVerification);
  wireGroupForm({ refresh: async () => { await refresh(); render(); } });
  wireDeletion();
  await loadAccount();
  onLanguageChange(renderResendOutcome);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState !== 'visible' || deleted || deleting) return;
    refresh().catch(() => {}).finally(schedule);
    // The link may have been opened in another tab meanwhile.
    if (account && !account.email_verified) loadAccount().catch(() => {});
  });
  schedule();
}, { requireAuth: true });
