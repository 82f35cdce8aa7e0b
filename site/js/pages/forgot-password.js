// "Forgot your password?": POST /api/password-resets with the site's
// language (the email's). The answer is the same whether or not an account
// has the address, and so is what this page says.

import { start, onLanguageChange } from '../page.js';
import { el, currentLanguage } from '../i18n.js';
import { post, ApiProblem } from '../api.js';
import { FormErrors, problemMessages } from '../errors.js';

let sent = false;

function renderSent({ focus = false } = {}) {
  const host = document.getElementById('notice');
  host.replaceChildren();
  if (!sent) return;
  const titleId = 'notice-title';
  const banner = el('div', {
    className: 'banner banner--success',
    attrs: { role: 'alert', tabindex: '-1', 'aria-labelledby': titleId, 'data-sent': '' },
  }, [
    el('h2', { className: 'banner__title', key: 'forgot_password.sent_title', attrs: { id: titleId } }),
    el('div', { className: 'banner__content' }, [
      el('p', { key: 'forgot_password.sent_body' }),
      el('p', { key: 'forgot_password.sent_spam' }),
    ]),
  ]);
  host.append(banner);
  if (focus) banner.focus();
}

start(async () => {
  onLanguageChange(() => renderSent());
  const form = document.getElementById('forgot-form');
  const errors = new FormErrors(form, document.getElementById('summary-host'));
  // Sign-in hands over what was typed there; kept out of the URL so it reaches no log.
  let email = null;
  try { email = sessionStorage.getItem('visa.email'); sessionStorage.removeItem('visa.email'); } catch { /* storage disabled */ }
  if (email) form.elements.email.value = email;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    sent = false;
    renderSent();
    const value = form.elements.email.value.trim();
    if (!value) {
      errors.show([{ field: 'email', key: 'missing.email' }]);
      return;
    }
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) {
      errors.show([{ field: 'email', key: 'validation.email' }]);
      return;
    }
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      await post('/password-resets', { email: value, lang: currentLanguage() });
      errors.clear();
      sent = true;
      renderSent({ focus: true });
    } catch (err) {
      if (!(err instanceof ApiProblem)) throw err;
      // 429: five links an hour per address (the gateway's own limit, or the WAF's).
      if (err.slug === 'too-many-requests') errors.show([{ field: 'email', key: 'forgot_password.too_many' }]);
      else errors.show(problemMessages(err));
    } finally {
      button.disabled = false;
    }
  });
});
