// Personal cabinet: the applicant's applications with their live status
// (GET /api/applications, polled), and what to do next for each.

import { start, onLanguageChange, showPageProblem } from '../page.js';
import { t, el, formatDate, formatDateTime, formatMoney } from '../i18n.js';
import { get, ApiProblem } from '../api.js';
import { problemKey } from '../errors.js';
import { downloadVisa } from '../visa-download.js';

// Fast while a payment or an issue is under way (the webhook and the
// renderer act within seconds), slow otherwise.
const FAST_POLL_MS = 3000;
const SLOW_POLL_MS = 30000;
const IN_FLIGHT = new Set(['awaiting_payment', 'paid']);

let items = null;
let timer = null;
const actionErrors = new Map(); // application id -> problem key

function row(labelKey, value) {
  const dd = el('dd');
  if (value instanceof Node) dd.append(value);
  else dd.textContent = value;
  return el('div', { className: 'summary-list__row' }, [el('dt', { key: labelKey }), dd]);
}

export function statusTag(status) {
  return el('strong', { className: `tag tag--${status}`, key: `status.${status}`, attrs: { 'data-status-tag': status } });
}

function actionsFor(app) {
  const box = el('div', { className: 'card__actions' });
  const check = `/check?application=${encodeURIComponent(app.id)}`;
  switch (app.status) {
    case 'invitation_confirmed':
      box.append(el('p', { key: 'cabinet.next_check' }),
        el('a', { className: 'button', key: 'cabinet.action_check', attrs: { href: check } }));
      break;
    case 'awaiting_payment':
      box.append(el('p', { key: 'cabinet.next_pay' }),
        el('a', { className: 'button', key: 'cabinet.action_pay', attrs: { href: check } }));
      break;
    case 'paid':
      box.append(el('p', { key: 'cabinet.next_wait' }));
      break;
    case 'issued': {
      const button = el('button', { className: 'button', key: 'visa.download', attrs: { type: 'button', 'data-download': app.id } });
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

function card(app) {
  const titleId = `application-${app.id}-title`;
  const p = app.passport || {};
  const dl = el('dl', { className: 'summary-list' }, [
    row('cabinet.status', statusTag(app.status)),
    app.visa && app.visa.number ? row('field.visa_number', app.visa.number) : null,
    row('field.invitation_number', app.invitation_number || ''),
    row('field.name', [p.surname, p.given_names].filter(Boolean).join(' ')),
    row('field.passport.number', p.number || ''),
    app.stay ? row('field.stay', t('common.date_range', { from: formatDate(app.stay.valid_from), to: formatDate(app.stay.valid_until) })) : null,
    app.fee ? row('field.fee', formatMoney(app.fee)) : null,
    app.created_at ? row('cabinet.created', formatDateTime(app.created_at)) : null,
  ]);
  return el('section', { className: 'card', attrs: { 'aria-labelledby': titleId, 'data-application': app.id, 'data-status': app.status } }, [
    el('h2', { className: 'card__title', key: `category.${app.category}_visa`, attrs: { id: titleId } }),
    el('div', { className: 'card__body' }, [dl]),
    actionsFor(app),
  ]);
}

function render() {
  const host = document.getElementById('applications');
  host.removeAttribute('aria-busy');
  const focused = document.activeElement && document.activeElement.getAttribute('data-download');
  host.replaceChildren();
  if (!items || items.length === 0) {
    host.append(el('p', { key: 'cabinet.empty' }));
    return;
  }
  for (const app of items) host.append(card(app));
  // Keep keyboard focus where it was across a refresh.
  if (focused) {
    const again = host.querySelector(`[data-download="${CSS.escape(focused)}"]`);
    if (again) again.focus();
  }
}

function announceChanges(before, after) {
  const old = new Map((before || []).map((a) => [a.id, a.status]));
  const changed = after.filter((a) => old.has(a.id) && old.get(a.id) !== a.status);
  if (!changed.length) return;
  document.getElementById('status-announcer').textContent = changed
    .map((a) => t('cabinet.status_changed', { invitation: a.invitation_number, status: t(`status.${a.status}`) }))
    .join(' ');
}

async function refresh() {
  const data = await get('/applications', { auth: true });
  const next = Array.isArray(data && data.items) ? data.items : [];
  const before = items;
  const changed = JSON.stringify(next) !== JSON.stringify(before);
  items = next;
  if (before) announceChanges(before, next);
  if (changed) render();
}

function schedule() {
  clearTimeout(timer);
  const delay = (items || []).some((a) => IN_FLIGHT.has(a.status)) ? FAST_POLL_MS : SLOW_POLL_MS;
  timer = setTimeout(async () => {
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
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') refresh().catch(() => {}).finally(schedule);
  });
  schedule();
}, { requireAuth: true });
