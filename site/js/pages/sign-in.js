// Sign in: POST /api/sessions; the token is kept in sessionStorage.

import { start, param, onLanguageChange } from '../page.js';
import { el } from '../i18n.js';
import { post, saveSession, ApiProblem, safeNext } from '../api.js';
import { FormErrors, problemMessages } from '../errors.js';

const NOTICES = {
  registered: { kind: 'success', title: 'sign_in.registered_title', body: 'sign_in.registered_body' },
  expired: { kind: 'info', title: 'sign_in.notice_title', body: 'sign_in.expired_body' },
  'signed-out': { kind: 'info', title: 'sign_in.notice_title', body: 'sign_in.signed_out_body' },
};

function renderNotice() {
  const host = document.getElementById('notice');
  host.replaceChildren();
  const notice = NOTICES[param('reason')];
  if (!notice) return;
  const titleId = 'notice-title';
  host.append(el('div', {
    className: `banner${notice.kind === 'success' ? ' banner--success' : ''}`,
    attrs: { role: notice.kind === 'success' ? 'alert' : 'region', 'aria-labelledby': titleId },
  }, [
    el('h2', { className: 'banner__title', key: notice.title, attrs: { id: titleId } }),
    el('div', { className: 'banner__content' }, [el('p', { key: notice.body })]),
  ]));
}

start(async () => {
  renderNotice();
  onLanguageChange(renderNotice);
  const form = document.getElementById('sign-in-form');
  const errors = new FormErrors(form, document.getElementById('summary-host'));
  let email = null;
  try { email = sessionStorage.getItem('visa.email'); sessionStorage.removeItem('visa.email'); } catch { /* storage disabled */ }
  if (email) {
    form.elements.email.value = email;
  }
  // Takes the address typed here on to "Forgot your password?" (not in the URL, so it reaches no log).
  document.querySelector('[data-forgot-link]').addEventListener('click', () => {
    const typed = form.elements.email.value.trim();
    try { if (typed) sessionStorage.setItem('visa.email', typed); } catch { /* storage disabled */ }
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const values = { email: form.elements.email.value.trim(), password: form.elements.password.value };
    const missing = [];
    if (!values.email) missing.push({ field: 'email', key: 'missing.email' });
    if (!values.password) missing.push({ field: 'password', key: 'missing.password' });
    if (missing.length) {
      errors.show(missing);
      return;
    }
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const session = await post('/sessions', values);
      saveSession(session);
      window.location.assign(safeNext(param('next'), '/cabinet'));
    } catch (err) {
      if (!(err instanceof ApiProblem)) throw err;
      errors.show(problemMessages(err));
      button.disabled = false;
    }
  });
});
