// What every page shares: the skip link, header with the account links,
// the language switcher, the footer, and the start-up sequence.

import { LANGUAGES, currentLanguage, preferredLanguage, setLanguage, translate } from './i18n.js';
import { del, getSession, clearSession, goToSignIn } from './api.js';
import { problemKey } from './errors.js';

function node(html) {
  // Static markup only (no data from outside ever goes through here).
  const tpl = document.createElement('template');
  tpl.innerHTML = html.trim();
  return tpl.content;
}

// The migration service's console has its own sign-in: no applicant links.
let staffChrome = false;

/** The header's account links: the cabinet and sign out, or sign in and register. */
function accountLinks() {
  if (staffChrome) return '';
  return getSession()
    ? `<li><a href="/cabinet" data-i18n="nav.cabinet"></a></li>
       <li><button type="button" class="link-button" data-sign-out data-i18n="nav.sign_out"></button></li>`
    : `<li><a href="/sign-in" data-i18n="nav.sign_in"></a></li>
       <li><a href="/register" data-i18n="nav.register"></a></li>`;
}

function wireSignOut(root) {
  const signOut = root.querySelector('[data-sign-out]');
  if (signOut) {
    signOut.addEventListener('click', async () => {
      try { await del('/sessions/current', { auth: true }); } catch { /* signed out either way */ }
      clearSession();
      window.location.assign('/sign-in?reason=signed-out');
    });
  }
}

/** Redraws the header's account links, e.g. once a page has ended the session. */
export function refreshAccountLinks() {
  const list = document.querySelector('.header__nav ul');
  if (!list) return;
  list.replaceChildren(node(accountLinks()));
  translate(list);
  wireSignOut(list);
}

function renderChrome() {
  const body = document.body;
  const main = document.getElementById('main');

  const top = node(`
    <a class="skip-link" href="#main" data-i18n="skip_link"></a>
    <header class="header">
      <div class="width-container header__inner">
        <a class="header__service" href="/"><img class="header__emblem" src="/favicon.svg" alt=""><span data-i18n="service.name"></span></a>
        <nav class="header__nav" data-i18n-attr="aria-label:nav.label">
          <ul>${accountLinks()}</ul>
        </nav>
      </div>
    </header>
    <div class="language-bar">
      <div class="width-container">
        <nav class="language-switcher" data-i18n-attr="aria-label:language.label">
          <ul></ul>
        </nav>
      </div>
    </div>`);
  const list = top.querySelector('.language-switcher ul');
  for (const { code, name } of LANGUAGES) {
    const li = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.lang = code;
    button.textContent = name;
    button.setAttribute('data-lang', code);
    button.addEventListener('click', async () => {
      if (code === currentLanguage()) return;
      await setLanguage(code);
      markCurrentLanguage();
    });
    li.append(button);
    list.append(li);
  }
  body.insertBefore(top, main);

  const footer = node(`
    <footer class="footer">
      <div class="width-container">
        <h2 class="visually-hidden" data-i18n="footer.title"></h2>
        <ul>
          <li><a href="/" data-i18n="footer.about"></a></li>
          <li><a href="/retrieve" data-i18n="footer.retrieve"></a></li>
          <li><a href="/verify" data-i18n="footer.verify"></a></li>
          <li><a href="/host" data-i18n="footer.hosts"></a></li>
        </ul>
        <p data-i18n="footer.owner"></p>
      </div>
    </footer>`);
  body.append(footer);

  wireSignOut(document);
}

function markCurrentLanguage() {
  for (const b of document.querySelectorAll('.language-switcher button')) {
    if (b.getAttribute('data-lang') === currentLanguage()) b.setAttribute('aria-current', 'true');
    else b.removeAttribute('aria-current');
  }
}

/**
 * Starts a page: chrome, language, then the page's own `init`, after which
 * `<html data-ready>` tells tests (and nobody else) the first render is done.
 */
export async function start(init, { requireAuth = false, staff = false } = {}) {
  staffChrome = staff;
  if (requireAuth && !getSession()) {
    goToSignIn('signed-out');
    return;
  }
  renderChrome();
  try {
    await setLanguage(preferredLanguage(), { remember: false });
  } catch {
    document.documentElement.setAttribute('data-i18n-ready', '');
  }
  markCurrentLanguage();
  try {
    await init();
  } catch (err) {
    if (err && err.slug === 'unauthenticated') return; // on its way to sign-in
    showPageProblem(err);
  } finally {
    document.documentElement.setAttribute('data-ready', '');
  }
}

/** A problem that stops the page (not about a form field), shown at the top of main. */
export function showPageProblem(err) {
  const main = document.getElementById('main');
  const old = main.querySelector('[data-page-problem]');
  if (old) old.remove();
  const box = document.createElement('div');
  box.className = 'error-summary';
  box.setAttribute('role', 'alert');
  box.setAttribute('tabindex', '-1');
  box.setAttribute('data-page-problem', '');
  const h = document.createElement('h2');
  h.setAttribute('data-i18n', 'error.summary_title');
  const p = document.createElement('p');
  p.setAttribute('data-i18n', err && err.slug ? problemKey(err) : 'problem.internal');
  box.append(h, p);
  translate(box);
  main.prepend(box);
  box.focus();
}

/** The query parameter `name` of this page's URL. */
export function param(name) {
  return new URLSearchParams(window.location.search).get(name);
}

/** Re-runs `fn` whenever the language changes (for content built in JS). */
export function onLanguageChange(fn) {
  document.addEventListener('languagechange', () => fn());
}

