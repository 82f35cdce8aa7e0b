// The emailed link, /confirm-email#<token>: the token rides in the
// fragment, which browsers never send to a server; it is read once and
// taken off the address bar (and so out of history and bookmarks), then
// POST /api/email-verifications/confirmation confirms the address. Once
// it is confirmed, an e-visa issued meanwhile is emailed too. A link works
// once, for 48 hours; for a new one the applicant signs in and asks from
// the cabinet.

import { start } from '../page.js';
import { updateTitle, translate } from '../i18n.js';
import { post, ApiProblem } from '../api.js';
import { problemKey } from '../errors.js';

// What each state is called in the page title.
const STATES = {
  confirming: { title: 'confirm_email.title' },
  done: { title: 'confirm_email.done_title' },
  invalid: { title: 'confirm_email.invalid_title' },
  failed: { title: 'confirm_email.failed_title' },
};

// Answers that mean this link will never work: the API's own (unknown,
// used or expired), and a token it could not even read.
const INVALID = new Set(['verification-link-invalid', 'validation']);

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
let confirming = false;

/** Sends the token; `focus` as for show() (a retry moves focus, the first try on load does not need to until the answer). */
async function confirm({ focus = false } = {}) {
  // A second click while the first is under way does nothing.
  if (confirming) return;
  confirming = true;
  show('confirming', { focus });
  try {
    await post('/email-verifications/confirmation', { token });
    show('done', { focus: true });
  } catch (err) {
    if (!(err instanceof ApiProblem)) throw err;
    if (INVALID.has(err.slug)) {
      show('invalid', { focus: true });
    } else {
      // Nothing answered, or the service failed: the token is still in hand, so the link need not be opened again.
      const reason = document.getElementById('failed-reason');
      reason.setAttribute('data-i18n', problemKey(err));
      translate(reason);
      show('failed', { focus: true });
    }
  } finally {
    confirming = false;
  }
}

start(async () => {
  if (!token) {
    show('invalid');
    return;
  }
  document.getElementById('confirm-retry').addEventListener('click', () => confirm({ focus: true }));
  await confirm();
});
