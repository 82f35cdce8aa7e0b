// Back from a group's checkout (its success_url, /payment-return?group=<id>):
// polls GET /api/groups/{id} until the webhook has marked it paid and the
// renderer has issued each member's visa (each on its own, within
// seconds), listing each member with its status, its visa number and PDF
// once issued, and the way to the cabinet.

import { onLanguageChange } from './page.js';
import { el } from './i18n.js';
import { ApiProblem } from './api.js';
import { problemKey } from './errors.js';
import { downloadVisa } from './visa-download.js';
import { getGroup, membersOf, personName, checkHref } from './groups.js';
import { statusTag } from './status-tag.js';

const POLL_MS = 2000;
const SLOW_POLL_MS = 10000;
const SLOW_AFTER_MS = 2 * 60 * 1000; // then say it takes longer than usual

let group = null;
let startedAt = Date.now();
let rendered = null; // what is on screen, so a poll that changes nothing announces nothing
const downloadProblems = new Map(); // application id -> problem key

const allIssued = () => membersOf(group).length > 0 && membersOf(group).every((m) => m.status === 'issued');

function heading(key, vars) {
  return el('h1', { key, vars, attrs: { id: 'status-heading' } });
}

/** The heading and what it means, in the live region: said once per change. */
function renderProgress(host) {
  host.setAttribute('data-status', allIssued() ? 'issued' : group.status);
  switch (group.status) {
    case 'open':
      host.append(heading('payment_return.not_paid_heading'), el('p', { key: 'payment_return.group_not_paid_body' }),
        el('a', { className: 'button', key: 'cabinet.group_action_check', attrs: { href: checkHref(group.id) } }));
      break;
    case 'awaiting_payment':
      host.append(heading('payment_return.confirming_heading'), el('p', { key: 'payment_return.confirming_body' }));
      break;
    case 'paid':
      if (allIssued()) {
        host.append(el('div', { className: 'panel', attrs: { 'data-issued': '' } }, [
          heading('payment_return.group_issued_heading'),
        ]), el('p', { key: 'payment_return.group_issued_body' }));
      } else {
        host.append(heading('payment_return.group_paid_heading'), el('p', { key: 'payment_return.group_paid_body' }));
      }
      break;
    case 'dissolved':
      host.append(heading('check_group.dissolved_title'), el('p', { key: 'check_group.dissolved_body' }));
      break;
    default:
      host.append(heading('status.unknown'));
  }
  if (Date.now() - startedAt > SLOW_AFTER_MS && !allIssued()) host.append(el('p', { key: 'payment_return.slow', attrs: { 'data-slow': '' } }));
}

function memberCard(member, index) {
  const titleId = `member-${index}-title`;
  const name = personName(member);
  const rows = [
    el('div', { className: 'summary-list__row' }, [el('dt', { key: 'cabinet.status' }), el('dd', {}, [statusTag(member.status)])]),
  ];
  if (member.visa_number) {
    rows.push(el('div', { className: 'summary-list__row' }, [
      el('dt', { key: 'field.visa_number' }),
      el('dd', {}, [el('strong', { text: member.visa_number, attrs: { 'data-visa-number': '' } })]),
    ]));
  }
  const actions = el('div', { className: 'card__actions' });
  if (member.status === 'issued') {
    const button = el('button', { className: 'button', key: 'payment_return.download_member', vars: { name }, attrs: { type: 'button', 'data-download': member.application_id } });
    button.addEventListener('click', async () => {
      downloadProblems.delete(member.application_id);
      render(true);
      try {
        await downloadVisa(member.application_id);
      } catch (err) {
        if (!(err instanceof ApiProblem)) throw err;
        downloadProblems.set(member.application_id, problemKey(err));
        render(true);
      }
    });
    actions.append(button);
  }
  actions.append(el('p', {}, [el('a', { key: 'payment_return.member_cabinet_link', vars: { name }, attrs: { href: '/cabinet' } })]));
  if (downloadProblems.has(member.application_id)) {
    actions.append(el('p', { className: 'error-message', key: downloadProblems.get(member.application_id), attrs: { role: 'alert' } }));
  }
  return el('section', { className: 'card', attrs: { 'aria-labelledby': titleId, 'data-member': member.application_id, 'data-status': member.status } }, [
    el('h2', { className: 'card__title', text: name, attrs: { id: titleId } }),
    el('div', { className: 'card__body' }, [el('dl', { className: 'summary-list' }, rows)]),
    actions,
  ]);
}

/** Redraws what changed; `force` after a language change or a download's outcome. */
function render(force = false) {
  const slow = Date.now() - startedAt > SLOW_AFTER_MS;
  const state = JSON.stringify([group.status, membersOf(group).map((m) => [m.status, m.visa_number]), slow, document.documentElement.lang]);
  if (state === rendered && !force) return;
  const focused = document.activeElement && document.activeElement.getAttribute('data-download');
  const host = document.getElementById('progress');
  host.removeAttribute('aria-busy');
  if (state !== rendered) {
    host.replaceChildren();
    renderProgress(host);
  }
  rendered = state;
  const result = document.getElementById('result');
  result.replaceChildren();
  if (group.status === 'paid') {
    result.append(el('div', { attrs: { 'data-members': '' } }, membersOf(group).map(memberCard)));
  }
  // Keep keyboard focus on the Download button across a redraw.
  if (focused) {
    const again = result.querySelector(`[data-download="${CSS.escape(focused)}"]`);
    if (again) again.focus();
  }
}

async function poll() {
  try {
    group = await getGroup(group.id);
  } catch (err) {
    if (err instanceof ApiProblem && err.slug === 'unauthenticated') return;
    // A missed poll is retried.
  }
  render();
  if (allIssued() || group.status === 'dissolved' || group.status === 'open') return;
  setTimeout(poll, Date.now() - startedAt > SLOW_AFTER_MS ? SLOW_POLL_MS : POLL_MS);
}

export async function paymentReturnGroup(id) {
  try {
    group = await getGroup(id);
  } catch (err) {
    document.getElementById('progress').replaceChildren();
    throw err;
  }
  startedAt = Date.now();
  render();
  onLanguageChange(() => render(true));
  if (!allIssued()) setTimeout(poll, POLL_MS);
}
