// Back from the checkout (Stripe's success_url): waits, polling
// GET /api/applications/{id}, until the visa is issued (the webhook marks it
// paid and the renderer issues it within seconds: docs/API.md), then offers the PDF.
// A group's (?group=<id>) lists each member the same way (payment-return-group.js).

import { start, param, onLanguageChange, showPageProblem } from '../page.js';
import { el, formatDate } from '../i18n.js';
import { get, ApiProblem } from '../api.js';
import { problemKey } from '../errors.js';
import { downloadVisa } from '../visa-download.js';

const POLL_MS = 2000;
const SLOW_POLL_MS = 10000;
const SLOW_AFTER_MS = 2 * 60 * 1000; // then say it takes longer than usual

let app = null;
let startedAt = Date.now();
let downloadProblem = null;
let rendered = null; // what is on screen, so a poll that changes nothing announces nothing

function heading(key, vars) {
  return el('h1', { key, vars, attrs: { id: 'status-heading' } });
}

function renderProgress() {
  const host = document.getElementById('progress');
  const slow = Date.now() - startedAt > SLOW_AFTER_MS;
  const state = app ? `${app.status}|${slow}|${document.documentElement.lang}` : 'none';
  if (state === rendered) return;
  rendered = state;
  host.removeAttribute('aria-busy');
  host.replaceChildren();
  const result = document.getElementById('result');
  result.replaceChildren();
  if (!app) return;
  host.setAttribute('data-status', app.status);
  const check = `/check?application=${encodeURIComponent(app.id)}`;
  switch (app.status) {
    case 'invitation_confirmed':
      host.append(heading('payment_return.not_paid_heading'), el('p', { key: 'payment_return.not_paid_body' }),
        el('a', { className: 'button', key: 'cabinet.action_check', attrs: { href: check } }));
      break;
    case 'awaiting_payment':
      host.append(heading('payment_return.confirming_heading'), el('p', { key: 'payment_return.confirming_body' }));
      break;
    case 'paid':
      host.append(heading('payment_return.paid_heading'), el('p', { key: 'payment_return.paid_body' }));
      break;
    case 'issued':
      renderIssued(host, result);
      break;
    default:
      host.append(heading('status.unknown'));
  }
  if (slow && app.status !== 'issued') host.append(el('p', { key: 'payment_return.slow', attrs: { 'data-slow': '' } }));
}

function renderIssued(host, result) {
  const visa = app.visa || {};
  host.append(el('div', { className: 'panel', attrs: { 'data-issued': '' } }, [
    heading('payment_return.issued_heading'),
    el('div', { className: 'panel__body' }, [
      el('span', { key: 'payment_return.visa_number' }),
      el('strong', { text: visa.number || '', attrs: { 'data-visa-number': '' } }),
    ]),
  ]));
  const from = visa.valid_from || (app.stay && app.stay.valid_from);
  const until = visa.valid_until || (app.stay && app.stay.valid_until);
  result.append(el('p', { key: 'payment_return.validity', vars: { from: formatDate(from), to: formatDate(until) } }));
  const button = el('button', { className: 'button', key: 'visa.download', attrs: { type: 'button', 'data-download': app.id } });
  button.addEventListener('click', async () => {
    downloadProblem = null;
    renderDownloadProblem();
    try {
      await downloadVisa(app.id);
    } catch (err) {
      if (!(err instanceof ApiProblem)) throw err;
      downloadProblem = problemKey(err);
      renderDownloadProblem();
    }
  });
  result.append(button, el('div', { attrs: { id: 'download-problem' } }));
  renderDownloadProblem();
}

function renderDownloadProblem() {
  const host = document.getElementById('download-problem');
  if (!host) return;
  host.replaceChildren();
  if (downloadProblem) host.append(el('p', { className: 'error-message', key: downloadProblem, attrs: { role: 'alert' } }));
}

async function poll() {
  try {
    app = await get(`/applications/${encodeURIComponent(app.id)}`, { auth: true });
  } catch (err) {
    if (err instanceof ApiProblem && err.slug === 'unauthenticated') return;
    // A missed poll is retried.
  }
  renderProgress();
  if (app.status === 'issued') return;
  const delay = Date.now() - startedAt > SLOW_AFTER_MS ? SLOW_POLL_MS : POLL_MS;
  setTimeout(poll, delay);
}

start(async () => {
  // A group's checkout comes back with ?group=<id>: each member's visa (payment-return-group.js).
  if (param('group')) {
    // Loaded only for a group: a single application's page stays as small as it was.
    const { paymentReturnGroup } = await import('../payment-return-group.js');
    await paymentReturnGroup(param('group'));
    return;
  }
  const id = param('application');
  if (!id) {
    document.getElementById('progress').replaceChildren();
    showPageProblem(new ApiProblem(404, { type: '/problems/not-found' }));
    return;
  }
  try {
    app = await get(`/applications/${encodeURIComponent(id)}`, { auth: true });
  } catch (err) {
    document.getElementById('progress').replaceChildren();
    throw err;
  }
  startedAt = Date.now();
  renderProgress();
  onLanguageChange(() => { rendered = null; renderProgress(); });
  if (app.status !== 'issued') setTimeout(poll, POLL_MS);
}, { requireAuth: true });
