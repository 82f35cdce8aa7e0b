// Check your answers: the data as the visa will print it, with the MRZ
// preview, and the applicant's confirmation that it matches the passport
// (the seed: a visa that disagrees with the passport is invalid). Confirming
// POSTs /api/applications/{id}/confirmation and goes to the checkout. Once
// an application awaits payment, the page says until when its checkout
// takes payment, or that it expired (confirming again opens a new one).
// With ?group=<id>, the same for everyone a group pays for (check-group.js).

import { start, param, onLanguageChange, showPageProblem } from '../page.js';
import { t, el, formatDateTime, formatMoney } from '../i18n.js';
import { get, ApiProblem } from '../api.js';
import { FormErrors, problemMessages } from '../errors.js';
import { checkoutExpired, goToCheckout, whenCheckoutsExpire } from '../payment.js';
import { answerNodes, entryPointsFor } from '../check-answers.js';

let app = null;
let entryPoints = null;
let cancelExpiryTimer = () => {};

function renderAnswers() {
  const host = document.getElementById('answers');
  host.removeAttribute('aria-busy');
  host.replaceChildren();
  if (!app) return;
  host.append(...answerNodes(app, entryPoints));
  renderPayment();
}

/** The button's words, and the checkout's deadline while it takes payment. */
function renderPayment() {
  const fee = formatMoney(app.fee);
  document.getElementById('pay-button').textContent = checkoutExpired(app)
    ? t('cabinet.action_pay_again', { fee })
    : t('check.submit', { fee });
  const host = document.getElementById('pay-by');
  host.replaceChildren();
  const expiresAt = app.status === 'awaiting_payment' && app.payment && app.payment.expires_at;
  if (expiresAt && !checkoutExpired(app)) {
    host.append(el('p', { key: 'cabinet.pay_by', vars: { time: formatDateTime(expiresAt) }, attrs: { 'data-pay-by': expiresAt } }));
  }
}

function renderNotice() {
  const host = document.getElementById('notice');
  host.replaceChildren();
  cancelExpiryTimer();
  if (app && app.invitation_revoked_at) {
    host.append(el('div', { className: 'banner', attrs: { role: 'region', 'aria-labelledby': 'notice-title', 'data-notice': 'revoked' } }, [
      el('h2', { className: 'banner__title', key: 'check.revoked_title', attrs: { id: 'notice-title' } }),
      el('div', { className: 'banner__content' }, [
        el('p', { key: 'cabinet.invitation_revoked', vars: { at: formatDateTime(app.invitation_revoked_at) } }),
      ]),
    ]));
    return;
  }
  if (app && checkoutExpired(app)) {
    // Back from a checkout that had expired, or here after it did: no money was taken.
    host.append(el('div', { className: 'banner', attrs: { role: 'region', 'aria-labelledby': 'notice-title', 'data-notice': 'expired' } }, [
      el('h2', { className: 'banner__title', key: 'check.expired_title', attrs: { id: 'notice-title' } }),
      el('div', { className: 'banner__content' }, [
        el('p', { key: 'cabinet.payment_expired', vars: { time: formatDateTime(app.payment.expires_at) } }),
        el('p', { key: 'check.expired_body' }),
      ]),
    ]));
    return;
  }
  if (app) cancelExpiryTimer = whenCheckoutsExpire([app], () => { renderNotice(); renderPayment(); });
  if (param('cancelled') !== '1') return;
  host.append(el('div', { className: 'banner', attrs: { role: 'region', 'aria-labelledby': 'notice-title', 'data-notice': 'cancelled' } }, [
    el('h2', { className: 'banner__title', key: 'check.cancelled_title', attrs: { id: 'notice-title' } }),
    el('div', { className: 'banner__content' }, [el('p', { key: 'check.cancelled_body' })]),
  ]));
}

start(async () => {
  // /check?group=<id>: everyone a group pays for, and one payment (check-group.js).
  if (param('group')) {
    // Loaded only for a group: a single application's page stays as small as it was.
    const { checkGroup } = await import('../check-group.js');
    await checkGroup(param('group'));
    return;
  }
  const id = param('application');
  renderNotice();
  onLanguageChange(() => { renderNotice(); renderAnswers(); });
  if (!id) {
    showPageProblem(new ApiProblem(404, { type: '/problems/not-found' }));
    document.getElementById('answers').replaceChildren();
    return;
  }
  try {
    app = await get(`/applications/${encodeURIComponent(id)}`, { auth: true });
  } catch (err) {
    document.getElementById('answers').replaceChildren();
    throw err;
  }
  if (app.status === 'paid' || app.status === 'issued') {
    window.location.replace(`/payment-return?application=${encodeURIComponent(app.id)}`);
    return;
  }
  // Paid for with others: only the group's page confirms it (the API refuses it alone).
  if (app.group_id) {
    window.location.replace(`/check?group=${encodeURIComponent(app.group_id)}`);
    return;
  }
  // Without them, the rule's default wording names the two airports.
  entryPoints = await entryPointsFor(app);
  renderAnswers();
  renderNotice();
  // Revoked by the migration service: nothing can be paid (the notice says so).
  if (app.invitation_revoked_at) return;

  const form = document.getElementById('confirm-form');
  form.hidden = false;
  const errors = new FormErrors(form, document.getElementById('summary-host'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!form.elements.details_match_passport.checked) {
      errors.show([{ field: 'details_match_passport', key: 'missing.details_match_passport' }]);
      return;
    }
    errors.clear();
    const button = document.getElementById('pay-button');
    button.disabled = true;
    try {
      // The same checkout while it is open, a new one once it has expired.
      await goToCheckout(app.id);
    } catch (err) {
      if (!(err instanceof ApiProblem)) throw err;
      button.disabled = false;
      if (err.slug === 'unauthenticated') return;
      if (err.slug === 'invalid-state') {
        // Paid meanwhile (another tab, a late webhook): nothing left to confirm.
        const now = await get(`/applications/${encodeURIComponent(app.id)}`, { auth: true }).catch(() => null);
        if (now && (now.status === 'paid' || now.status === 'issued')) {
          window.location.replace(`/payment-return?application=${encodeURIComponent(app.id)}`);
          return;
        }
      }
      const messages = problemMessages(err);
      // Anything not about the checkbox still belongs in the summary, linked to it.
      errors.show(messages.map((m) => ({ ...m, field: m.field || 'details_match_passport' })));
    }
  });
}, { requireAuth: true });
