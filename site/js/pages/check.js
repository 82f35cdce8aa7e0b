// Check your answers: the data as the visa will print it, with the MRZ
// preview, and the applicant's confirmation that it matches the passport
// (the seed: a visa that disagrees with the passport is invalid). Confirming
// POSTs /api/applications/{id}/confirmation and goes to the checkout. Once
// an application awaits payment, the page says until when its checkout
// takes payment, or that it expired (confirming again opens a new one).

import { start, param, onLanguageChange, showPageProblem } from '../page.js';
import { t, el, formatDate, formatDateTime, formatMoney, countryName, entryPointName } from '../i18n.js';
import { get, ApiProblem } from '../api.js';
import { FormErrors, problemMessages } from '../errors.js';
import { checkoutExpired, goToCheckout, whenCheckoutsExpire } from '../payment.js';
import { comparisonSection } from '../mrz-compare.js';

let app = null;
let entryPoints = null;
let cancelExpiryTimer = () => {};

function row(labelKey, value, name) {
  const dd = el('dd', { attrs: name ? { 'data-answer': name } : {} });
  if (value instanceof Node) dd.append(value);
  else dd.textContent = value || '';
  return el('div', { className: 'summary-list__row' }, [el('dt', { key: labelKey }), dd]);
}

function section(titleKey, rows) {
  return [el('h2', { key: titleKey }), el('dl', { className: 'summary-list' }, rows)];
}

function sexName(sex) {
  return ['F', 'M'].includes(sex) ? t(`sex.${sex}`) : t('sex.X');
}

// The server makes the MRZ (the same code prints it on the visa).
function mrzLines(application) {
  return Array.isArray(application.mrz) ? application.mrz : ['', ''];
}

function renderAnswers() {
  const host = document.getElementById('answers');
  host.removeAttribute('aria-busy');
  host.replaceChildren();
  if (!app) return;
  const p = app.passport || {};
  const stay = app.stay || {};
  const points = entryPoints
    ? el('ul', {}, entryPoints.map((e) => el('li', { text: entryPointName(e) })))
    : t('rule.airports_default');

  host.append(
    ...section('check.visa_heading', [
      row('field.category', t(`category.${app.category}_visa`), 'category'),
      row('field.entries', t('visa.single_entry'), 'entries'),
      row('field.valid_from', formatDate(stay.valid_from), 'valid_from'),
      row('field.valid_until', formatDate(stay.valid_until), 'valid_until'),
      row('field.entry_points', points, 'entry_points'),
      row('field.fee', formatMoney(app.fee), 'fee'),
    ]),
    ...section('check.passport_heading', [
      row('field.passport.surname', p.surname, 'surname'),
      row('field.passport.given_names', p.given_names, 'given_names'),
      row('field.passport.sex', sexName(p.sex), 'sex'),
      row('field.passport.date_of_birth', formatDate(p.date_of_birth), 'date_of_birth'),
      row('field.passport.nationality', countryName(p.nationality), 'nationality'),
      row('field.passport.number', p.number, 'passport_number'),
      row('field.passport.issuing_state', countryName(p.issuing_state), 'issuing_state'),
      row('field.passport.expiry_date', formatDate(p.expiry_date), 'expiry_date'),
    ]),
    ...section('check.invitation_heading', [
      row('field.invitation_number', app.invitation_number, 'invitation_number'),
      row('field.inviter', app.inviter ? app.inviter.name : '', 'inviter'),
      row('field.inviter_bin', app.inviter ? app.inviter.bin : '', 'inviter_bin'),
    ]),
  );

  const [line1, line2] = mrzLines(app);
  const captionId = 'mrz-caption';
  const lines = el('pre', { className: 'mrz__lines', attrs: { 'data-mrz': '' } });
  lines.append(el('span', { text: line1, attrs: { 'data-mrz-line': '1' } }), '\n', el('span', { text: line2, attrs: { 'data-mrz-line': '2' } }));
  host.append(
    el('h2', { key: 'check.mrz_heading' }),
    el('figure', { className: 'mrz' }, [
      el('figcaption', { key: 'check.mrz_caption', attrs: { id: captionId } }),
      // Focusable so that keyboard users can scroll it at 200% zoom or on a narrow screen.
      el('div', { className: 'mrz__box', attrs: { tabindex: '0', role: 'region', 'aria-labelledby': captionId } }, [lines]),
    ]),
  );
  // The passport as entered against the zone, detail by detail.
  host.append(...comparisonSection(app));

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
  try {
    const req = await get(`/requirements?nationality=${encodeURIComponent(app.passport.nationality)}&category=${encodeURIComponent(app.category)}`);
    if (Array.isArray(req.entry_points)) entryPoints = req.entry_points;
  } catch { /* the rule's default wording names the two airports */ }
  renderAnswers();
  renderNotice();

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
