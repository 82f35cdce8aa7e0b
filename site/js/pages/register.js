// Create an account: POST /api/accounts with the site's language (that of
// the email asking to confirm the address), then on to sign in.

import { start, param } from '../page.js';
import { currentLanguage } from '../i18n.js';
import { post, ApiProblem, safeNext } from '../api.js';
import { FormErrors, problemMessages } from '../errors.js';

// Mirrors the API's rule (docs/API.md: a password under 10 characters is refused).
const MIN_PASSWORD = 10;

start(async () => {
  const form = document.getElementById('register-form');
  const errors = new FormErrors(form, document.getElementById('summary-host'));
  const next = param('next');
  if (next) {
    document.querySelector('[data-sign-in-link]').setAttribute('href', `/sign-in?${new URLSearchParams({ next: safeNext(next) })}`);
  }
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const email = form.elements.email.value.trim();
    const password = form.elements.password.value;
    const found = [];
    if (!email) found.push({ field: 'email', key: 'missing.email' });
    else if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) found.push({ field: 'email', key: 'validation.email' });
    if (!password) found.push({ field: 'password', key: 'missing.password' });
    else if ([...password].length < MIN_PASSWORD) found.push({ field: 'password', key: 'validation.password' });
    if (found.length) {
      errors.show(found);
      return;
    }
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      await post('/accounts', { email, password, lang: currentLanguage() });
      const params = new URLSearchParams({ reason: 'registered' });
      if (next) params.set('next', safeNext(next));
      // Prefills sign-in; kept out of the URL so it reaches no log.
      try { sessionStorage.setItem('visa.email', email); } catch { /* storage disabled */ }
      window.location.assign(`/sign-in?${params}`);
    } catch (err) {
      if (!(err instanceof ApiProblem)) throw err;
      errors.show(problemMessages(err));
    } finally {
      button.disabled = false;
    }
  });
});
