// The check page for a group (/check?group=<id>): each member's answers
// and MRZ as their visa will print them, the total, one declaration for
// all and one "Confirm and pay" (POST /api/groups/{id}/confirmation, then
// the one checkout). A member whose invitation the migration service
// revoked is dropped by the API before the checkout opens (409
// group-changed, nothing charged): the page reads the group again, names
// each person dropped and the new total in an alert that takes focus,
// and asks for the confirmation again.

import { param, onLanguageChange } from './page.js';
import { t, el, translate, updateTitle, formatDateTime, formatMoney } from './i18n.js';
import { get, ApiProblem } from './api.js';
import { FormErrors, problemMessages } from './errors.js';
import { checkoutExpired, whenCheckoutsExpire } from './payment.js';
import { answerNodes, entryPointsFor } from './check-answers.js';
import { getGroup, goToGroupCheckout, membersOf, droppedOf, personName, returnHref } from './groups.js';

let group = null;
const applications = new Map(); // application id -> GET /api/applications/{id}
const entryPoints = new Map(); // "nationality|category" -> the rules' entry points (null: the default wording)
let changed = false; // members were dropped when the applicant last confirmed: say so as an alert
let cancelExpiryTimer = () => {};

/** Says the page is about a group: its caption, heading, intro, title and declaration. */
function relabel() {
  const keys = {
    'check-caption': 'check_group.caption',
    'check-heading': 'check_group.heading',
    'check-intro': 'check_group.intro',
    'details-match-passport-label': 'field.details_match_passport_group',
  };
  for (const [id, key] of Object.entries(keys)) {
    const node = document.getElementById(id);
    node.setAttribute('data-i18n', key);
    translate(node);
  }
  document.documentElement.setAttribute('data-title', 'check_group.title');
  updateTitle();
}

/** The group and each member's application (read once; a member's answers do not change). */
async function load(id) {
  group = await getGroup(id);
  await Promise.all(membersOf(group).map(async (m) => {
    if (applications.has(m.application_id)) return;
    const app = await get(`/applications/${encodeURIComponent(m.application_id)}`, { auth: true });
    applications.set(app.id, app);
    const key = `${app.passport && app.passport.nationality}|${app.category}`;
    if (!entryPoints.has(key)) entryPoints.set(key, await entryPointsFor(app));
  }));
}

function memberSection(member, index, count) {
  const app = applications.get(member.application_id);
  const titleId = `member-${index}-title`;
  const children = [el('h2', { key: 'check_group.member_heading', vars: { n: index + 1, count, name: personName(member) }, attrs: { id: titleId } })];
  if (app) {
    const key = `${app.passport && app.passport.nationality}|${app.category}`;
    children.push(...answerNodes(app, entryPoints.get(key) || null, { level: 3, idPrefix: `member-${index}-`, ownerId: titleId }));
  }
  return el('section', { className: 'member', attrs: { 'aria-labelledby': titleId, 'data-member': member.application_id } }, children);
}

/** Who is paid for, each fee, and the total. */
function totalSection(members) {
  const row = (label, value, attrs = {}) => el('div', { className: 'summary-list__row' }, [
    el('dt', { text: label }),
    el('dd', { text: value, attrs }),
  ]);
  return [
    el('h2', { key: 'check_group.total_heading', attrs: { id: 'total-heading' } }),
    el('dl', { className: 'summary-list', attrs: { 'data-fees': '' } }, [
      ...members.map((m) => row(personName(m), formatMoney(m.fee), { 'data-fee-of': m.application_id })),
      row(t('check_group.total'), formatMoney(group.total), { 'data-total': '' }),
    ]),
  ];
}

function renderAnswers() {
  const host = document.getElementById('answers');
  host.removeAttribute('aria-busy');
  host.replaceChildren();
  // Undone: nobody is paid for here any more (the cabinet shows each alone).
  if (!group || group.status === 'dissolved') return;
  const members = membersOf(group);
  members.forEach((m, i) => host.append(memberSection(m, i, members.length)));
  if (members.length) host.append(...totalSection(members));
  renderPayment();
}

/** The button's words, and the checkout's deadline while it takes payment. */
function renderPayment() {
  const fee = formatMoney(group.total);
  document.getElementById('pay-button').textContent = checkoutExpired(group)
    ? t('cabinet.action_pay_again', { fee })
    : t('check.submit', { fee });
  const host = document.getElementById('pay-by');
  host.replaceChildren();
  const expiresAt = group.status === 'awaiting_payment' && group.payment && group.payment.expires_at;
  if (expiresAt && !checkoutExpired(group)) {
    host.append(el('p', { key: 'cabinet.pay_by', vars: { time: formatDateTime(expiresAt) }, attrs: { 'data-pay-by': expiresAt } }));
  }
}

function banner(name, titleKey, body, { alert = false } = {}) {
  const titleId = `notice-${name}-title`;
  const attrs = alert
    ? { role: 'alert', tabindex: '-1', 'aria-labelledby': titleId, 'data-notice': name }
    : { role: 'region', 'aria-labelledby': titleId, 'data-notice': name };
  return el('div', { className: 'banner', attrs }, [
    el('h2', { className: 'banner__title', key: titleKey, attrs: { id: titleId } }),
    el('div', { className: 'banner__content' }, body),
  ]);
}

/** The members the API dropped (invitation revoked), each by name, and what the payment is now. */
function droppedBanner() {
  const dropped = droppedOf(group);
  const members = membersOf(group);
  const body = dropped.map((d) => el('p', {
    key: 'check_group.dropped_person',
    vars: { name: personName(d), invitation: d.invitation_number },
    attrs: { 'data-dropped': d.application_id },
  }));
  if (group.status === 'dissolved' || !members.length) {
    body.push(el('p', { key: 'check_group.dropped_none_left' }));
  } else {
    body.push(el('p', { key: 'check_group.new_total', vars: { total: formatMoney(group.total) }, attrs: { 'data-new-total': '' } }));
    if (changed) body.push(el('p', { key: 'check_group.confirm_again' }));
  }
  return banner('dropped', 'check_group.dropped_title', body, { alert: changed });
}

function renderNotice() {
  const host = document.getElementById('notice');
  host.replaceChildren();
  cancelExpiryTimer();
  if (!group) return;
  if (droppedOf(group).length) host.append(droppedBanner());
  if (group.status === 'dissolved') {
    // Undone (from the cabinet, or every member dropped): nothing to pay here.
    if (!droppedOf(group).length || membersOf(group).length) {
      host.append(banner('dissolved', 'check_group.dissolved_title', [el('p', { key: 'check_group.dissolved_body' })]));
    }
    host.append(el('p', {}, [el('a', { key: 'payment_return.cabinet_link', attrs: { href: '/cabinet' } })]));
    return;
  }
  if (checkoutExpired(group)) {
    // Back from a checkout that had expired, or here after it did: no money was taken.
    host.append(banner('expired', 'check.expired_title', [
      el('p', { key: 'cabinet.payment_expired', vars: { time: formatDateTime(group.payment.expires_at) } }),
      el('p', { key: 'check.expired_body' }),
    ]));
    return;
  }
  cancelExpiryTimer = whenCheckoutsExpire([group], () => { renderNotice(); renderPayment(); });
  if (param('cancelled') === '1') {
    host.append(banner('cancelled', 'check.cancelled_title', [el('p', { key: 'check_group.cancelled_body' })]));
  }
}

function render() {
  renderNotice();
  renderAnswers();
  document.getElementById('confirm-form').hidden = !group || group.status === 'dissolved' || !membersOf(group).length;
}

/** Paid (here, in another tab, or late): the payment-return page follows each member's visa. */
function paidAlready() {
  return group && group.status === 'paid';
}

export async function checkGroup(id) {
  relabel();
  onLanguageChange(() => { relabel(); render(); });
  try {
    await load(id);
  } catch (err) {
    document.getElementById('answers').replaceChildren();
    throw err;
  }
  if (paidAlready()) {
    window.location.replace(returnHref(group.id));
    return;
  }
  render();

  const form = document.getElementById('confirm-form');
  const errors = new FormErrors(form, document.getElementById('summary-host'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!form.elements.details_match_passport.checked) {
      errors.show([{ field: 'details_match_passport', key: 'missing.details_match_passport_group' }]);
      return;
    }
    errors.clear();
    const button = document.getElementById('pay-button');
    button.disabled = true;
    try {
      // The same checkout while it is open, a new one once it has expired.
      await goToGroupCheckout(group.id);
    } catch (err) {
      if (!(err instanceof ApiProblem)) throw err;
      button.disabled = false;
      if (err.slug === 'unauthenticated') return;
      if (err.slug === 'group-changed' || err.slug === 'invalid-state') {
        // Members dropped (nothing was charged), or paid or undone meanwhile: read it again.
        try { await load(group.id); } catch { /* the message below says what to do */ }
        if (paidAlready()) {
          window.location.replace(returnHref(group.id));
          return;
        }
        if (err.slug === 'group-changed' || group.status === 'dissolved') {
          // The declaration was about other people: asked again.
          form.elements.details_match_passport.checked = false;
          changed = err.slug === 'group-changed';
          render();
          const notice = document.querySelector('#notice [data-notice="dropped"], #notice [data-notice="dissolved"]');
          if (notice) {
            notice.setAttribute('tabindex', '-1');
            notice.focus();
          }
          return;
        }
      }
      const messages = problemMessages(err);
      // Anything not about the checkbox still belongs in the summary, linked to it.
      errors.show(messages.map((m) => ({ ...m, field: m.field || 'details_match_passport' })));
    }
  });
}
