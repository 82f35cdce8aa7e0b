// The emailed link, /reset-password#<token>: the token rides in the
// fragment, which browsers never send to a server; it is read once and
// taken off the address bar (and so out of history and bookmarks), then
// POST /api/password-resets/confirmation sets the new password. Every
// session of the account ends with it, this tab's too.

import { start, refreshAccountLinks } from '../page.js';
import { updateTitle } from '../i18n.js';
import { post, clearSession, ApiProblem } from '../api.js';
import { FormErrors, problemMessages } from '../errors.js';

// Mirrors the API's rule (docs/API.md: a password under 10 characters is refused).
const MIN_PASSWORD = 10;

// What each state is called in the page title.
const STATES = {
  choose: { title: 'reset_password.title' },
  done: { title: 'reset_password.done_title' },
  invalid: { title: 'reset_password.invalid_title' },
  incomplete: { title: 'reset_password.incomplete_title' },
};

/** The token of the link, or '' when the link came without one. */
function takeToken() {
  let token = window.location.hash.replace(/^#/, '');
  try { token = decodeURIComponent(token); } catch { /* kept as it came */ }
  if (window.location.href.includes('#')) {
    window.history.replaceState(window.history.state, '', window.location.pathname + window.location.search);
  }
  return token.trim();
}

/**
 * Shows one state and names the page after it (a language change keeps the
 * name: translate() reads data-title); `focus` moves focus to its heading,
 * as the content changed under the reader.
 */
function show(state, { focus = false } = {}) {
  for (const section of document.querySelectorAll('[data-state]')) section.hidden = section.getAttribute('data-state') !== state;
  document.getElementById('main').setAttribute('data-shown', state);
  document.documentElement.setAttribute('data-title', STATES[state].title);
  updateTitle();
  if (focus) document.querySelector(`[data-state="${state}"] h1`).focus();
}

// Taken at once, before the page starts, so the token spends as little time as possible in the address bar.
const token = takeToken();

start(async () => {
  if (!token) {
    show('incomplete');
    return;
  }
  show('choose');
  const form = document.getElementById('reset-form');
  const errors = new FormErrors(form, document.getElementById('summary-host'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const password = form.elements.password.value;
    if (!password) {
      errors.show([{ field: 'password', key: 'missing.new_password' }]);
      return;
    }
    if ([...password].length < MIN_PASSWORD) {
      errors.show([{ field: 'password', key: 'validation.password' }]);
      return;
    }
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      await post('/password-resets/confirmation', { token, password });
      form.reset();
      errors.clear();
      // The API has ended every session of the account: forget this tab's.
      clearSession();
      refreshAccountLinks();
      show('done', { focus: true });
    } catch (err) {
      if (!(err instanceof ApiProblem)) throw err;
      if (err.slug === 'reset-link-invalid') {
        form.reset();
        errors.clear();
        show('invalid', { focus: true });
      } else {
        errors.show(problemMessages(err));
      }
    } finally {
      button.disabled = false;
    }
  });
});
