// "Forgot your password?" in a real browser, in each language: from sign
// in to the forgot page, the same words whether or not an account has the
// address, the per-address limit, the emailed link read from the gateway's
// outbox, the new password page (the token leaves the address bar, the
// length rule, success), every old session ended, the old password refused
// and the new one accepted, the link spent, and a link without its token.
// axe-core runs on each page at 1280 and 360 px.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  LANGS, MESSAGES, startGateway, launchBrowser, uniqueEmail, ready, inspect, watchConsole, decodeHeader, callApi,
} from './harness.js';

let gateway;
const api = (method, path, options) => callApi(gateway.baseUrl, method, path, options);
let browser;

before(async () => {
  gateway = await startGateway();
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (gateway) await gateway.stop();
});

const OLD_PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'a brand new password 2';
// The email's subject, in the language the page sent (functions/render-visa/src/mail.rs).
const SUBJECT = { en: /Reset your password/, ru: /Сброс пароля/, kk: /Құпиясөзді қалпына келтіру/ };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function signInStatus(email, password) {
  return (await api('POST', '/sessions', { body: { email, password } })).status;
}

/** The newest outbox message addressed to `address` (an .eml file, UTF-8, 8bit), waiting up to 10 s. */
async function emailTo(address) {
  const outbox = join(gateway.dataDir, 'outbox');
  const deadline = Date.now() + 10_000;
  for (;;) {
    const names = existsSync(outbox) ? readdirSync(outbox).filter((n) => /^message-.+\.eml$/.test(n)).sort().reverse() : [];
    for (const name of names) {
      const text = readFileSync(join(outbox, name), 'utf8');
      const to = /^To: (.*)$/m.exec(text);
      if (to && to[1].trim().toLowerCase() === address.toLowerCase()) return text;
    }
    if (Date.now() > deadline) assert.fail(`no email to ${address} in ${outbox} within 10 s`);
    await sleep(100);
  }
}

function sentTo(address) {
  const outbox = join(gateway.dataDir, 'outbox');
  if (!existsSync(outbox)) return [];
  return readdirSync(outbox).filter((n) => /^message-.+\.eml$/.test(n))
    .filter((n) => readFileSync(join(outbox, n), 'utf8').toLowerCase().includes(address.toLowerCase()));
}

async function errorNextTo(page, field) {
  const locator = page.locator(`[data-field="${field}"] [data-error-message]`);
  await locator.waitFor({ timeout: 15_000 });
  return locator.textContent();
}

async function summaryText(page) {
  const summary = page.locator('[data-error-summary]');
  await summary.waitFor({ timeout: 15_000 });
  return summary.textContent();
}

const summaryHasFocus = (page) => page.evaluate(() => document.activeElement.hasAttribute('data-error-summary'));

for (const lang of LANGS) {
  test(`a forgotten password is reset in ${lang}`, { timeout: 300_000 }, async (t) => {
    if (!gateway.dataDir) {
      t.skip('the gateway\'s data dir is not known (set VISA_DATA_DIR with VISA_BASE_URL)');
      return;
    }
    const m = MESSAGES[lang];
    const shot = (name) => `${lang}-${name}`;
    const email = uniqueEmail(`reset-${lang}`);
    const unknown = uniqueEmail(`nobody-${lang}`);

    // The account, and a session of it opened before the reset.
    assert.equal((await api('POST', '/accounts', { body: { email, password: OLD_PASSWORD } })).status, 201);
    const signedIn = await api('POST', '/sessions', { body: { email, password: OLD_PASSWORD } });
    assert.equal(signedIn.status, 201);
    const oldToken = signedIn.body.token;
    assert.equal((await api('GET', '/applications', { token: oldToken })).status, 200);

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const consoleErrors = watchConsole(page);
    let link;

    try {
      await t.test('sign in links to "Forgot your password?", which takes the address along', async () => {
        await page.goto(`${gateway.baseUrl}/sign-in`);
        await ready(page);
        await page.click(`.language-switcher button[data-lang="${lang}"]`);
        await page.waitForFunction((l) => document.documentElement.lang === l, lang);
        const forgot = page.locator('a[href="/forgot-password"]');
        assert.equal((await forgot.textContent()).trim(), m['sign_in.forgot_link']);
        await page.fill('#email', email);
        await forgot.click();
        await page.waitForURL(/\/forgot-password$/);
        await ready(page);
        assert.equal(await page.getAttribute('html', 'lang'), lang);
        assert.equal((await page.textContent('h1')).trim(), m['forgot_password.heading']);
        assert.equal(await page.inputValue('#email'), email);
        await inspect(page, shot('forgot-password'));
      });

      await t.test('an empty or malformed address is refused on the page', async () => {
        await page.fill('#email', '');
        await page.click('#forgot-form button[type="submit"]');
        assert.ok((await summaryText(page)).includes(m['missing.email']));
        assert.equal(await summaryHasFocus(page), true);
        await page.fill('#email', 'not an address');
        await page.click('#forgot-form button[type="submit"]');
        assert.ok((await errorNextTo(page, 'email')).includes(m['validation.email']));
        assert.equal(await page.getAttribute('#email', 'aria-invalid'), 'true');
        await inspect(page, shot('forgot-password-errors'));
      });

      let known;
      await t.test('the address of an account: the neutral message', async () => {
        await page.fill('#email', email);
        await page.click('#forgot-form button[type="submit"]');
        await page.waitForSelector('[data-sent]');
        assert.equal(await page.locator('[data-error-summary]').count(), 0);
        assert.equal(await page.getAttribute('#email', 'aria-invalid'), null);
        assert.ok((await page.textContent('[data-sent]')).includes(m['forgot_password.sent_body']));
        assert.equal(await page.evaluate(() => document.activeElement.hasAttribute('data-sent')), true);
        known = await page.innerText('main');
        await inspect(page, shot('forgot-password-sent'));
      });

      await t.test('an address without an account: the very same words', async () => {
        await page.goto(`${gateway.baseUrl}/forgot-password`);
        await ready(page);
        await page.fill('#email', unknown);
        await page.click('#forgot-form button[type="submit"]');
        await page.waitForSelector('[data-sent]');
        assert.equal(await page.innerText('main'), known);
      });

      await t.test('a sixth request for one address within the hour is refused with a clear message', async () => {
        const busy = uniqueEmail(`busy-${lang}`);
        for (let i = 0; i < 5; i += 1) {
          assert.equal((await api('POST', '/password-resets', { body: { email: busy, lang } })).status, 202);
        }
        await page.goto(`${gateway.baseUrl}/forgot-password`);
        await ready(page);
        await page.fill('#email', busy);
        await page.click('#forgot-form button[type="submit"]');
        assert.ok((await errorNextTo(page, 'email')).includes(m['forgot_password.too_many']));
        assert.ok((await summaryText(page)).includes(m['forgot_password.too_many']));
        assert.equal(await page.locator('[data-sent]').count(), 0);
        await inspect(page, shot('forgot-password-too-many'));
      });

      await t.test('the email holds the link, in the page\'s language', async () => {
        const message = await emailTo(email);
        // Plain UTF-8 or RFC 2047 encoded-words: either way, what a mail client shows.
        assert.match(decodeHeader(/^Subject: (.*)$/m.exec(message)[1]), SUBJECT[lang]);
        const found = /(https?:\/\/\S+\/reset-password#[A-Za-z0-9_-]+)/.exec(message);
        assert.ok(found, `no reset link in:\n${message}`);
        link = new URL(found[1]);
        assert.equal(link.pathname, '/reset-password');
        assert.ok(link.hash.length > 20);
        // Nothing is sent to an address without an account.
        assert.deepEqual(sentTo(unknown), []);
      });

      await t.test('the link opens the page and its token leaves the address bar', async () => {
        // A session of this account in the tab, to see it forgotten after the reset.
        await page.evaluate((token) => sessionStorage.setItem('visa.session', JSON.stringify({ token, expires_at: '2999-01-01T00:00:00Z' })), oldToken);
        await page.goto(`${gateway.baseUrl}${link.pathname}${link.hash}`);
        await ready(page);
        assert.equal(await page.getAttribute('#main', 'data-shown'), 'choose');
        assert.equal(new URL(page.url()).hash, '');
        assert.ok(!page.url().includes(link.hash.slice(1)));
        assert.equal(await page.evaluate(() => window.location.href.includes('#')), false);
        assert.equal((await page.textContent('[data-state="choose"] h1')).trim(), m['reset_password.heading']);
        assert.ok(await page.isVisible('[data-sign-out]'));
        await inspect(page, shot('reset-password'));
      });

      await t.test('a password that is too short is refused and nothing changes', async () => {
        await page.fill('#password', 'short');
        await page.click('#reset-form button[type="submit"]');
        assert.ok((await errorNextTo(page, 'password')).includes(m['validation.password']));
        assert.equal(await summaryHasFocus(page), true);
        assert.ok((await page.title()).startsWith(m['title.error'].split('{title}')[0]));
        await inspect(page, shot('reset-password-errors'));
        assert.equal((await api('GET', '/applications', { token: oldToken })).status, 200);
        assert.equal(await signInStatus(email, OLD_PASSWORD), 201);
      });

      await t.test('a good password is set: the password changed, this tab signed out', async () => {
        await page.fill('#password', NEW_PASSWORD);
        await page.click('#reset-form button[type="submit"]');
        await page.waitForSelector('#main[data-shown="done"]');
        const heading = page.locator('[data-state="done"] h1');
        assert.equal((await heading.textContent()).trim(), m['reset_password.done_heading']);
        assert.equal(await page.evaluate(() => document.activeElement.matches('[data-state="done"] h1')), true);
        assert.ok((await page.title()).startsWith(m['reset_password.done_title']));
        assert.equal(await page.isVisible('#reset-form'), false);
        assert.equal(await page.locator('[data-error-summary]').count(), 0);
        assert.equal(await page.evaluate(() => sessionStorage.getItem('visa.session')), null);
        assert.equal(await page.locator('[data-sign-out]').count(), 0);
        assert.ok(await page.isVisible('.header__nav a[href="/sign-in"]'));
        await inspect(page, shot('reset-password-done'));
      });

      await t.test('every old session has ended; the old password fails and the new one works', async () => {
        assert.equal((await api('GET', '/applications', { token: oldToken })).status, 401);
        await page.click('[data-state="done"] a[href="/sign-in"]');
        await page.waitForURL(/\/sign-in$/);
        await ready(page);
        await page.fill('#email', email);
        await page.fill('#password', OLD_PASSWORD);
        await page.click('#sign-in-form button[type="submit"]');
        assert.ok((await summaryText(page)).includes(m['problem.invalid-credentials']));
        await page.fill('#password', NEW_PASSWORD);
        await page.click('#sign-in-form button[type="submit"]');
        await page.waitForURL(/\/cabinet$/);
        await ready(page);
      });

      await t.test('the link works once', async () => {
        await page.goto(`${gateway.baseUrl}${link.pathname}${link.hash}`);
        await ready(page);
        assert.equal(new URL(page.url()).hash, '');
        await page.fill('#password', 'yet another password 3');
        await page.click('#reset-form button[type="submit"]');
        await page.waitForSelector('#main[data-shown="invalid"]');
        assert.equal((await page.textContent('[data-state="invalid"] h1')).trim(), m['reset_password.invalid_heading']);
        assert.equal(await page.evaluate(() => document.activeElement.matches('[data-state="invalid"] h1')), true);
        const again = page.locator('[data-state="invalid"] a[href="/forgot-password"]');
        assert.equal((await again.textContent()).trim(), m['reset_password.new_link']);
        await inspect(page, shot('reset-password-invalid'));
        assert.equal(await signInStatus(email, NEW_PASSWORD), 201);
        await again.click();
        await page.waitForURL(/\/forgot-password$/);
        await ready(page);
      });

      await t.test('a link without its token says so and leads to a new one', async () => {
        await page.goto(`${gateway.baseUrl}/reset-password`);
        await ready(page);
        assert.equal(await page.getAttribute('#main', 'data-shown'), 'incomplete');
        assert.equal((await page.textContent('[data-state="incomplete"] h1')).trim(), m['reset_password.incomplete_heading']);
        assert.ok(await page.isVisible('[data-state="incomplete"] a[href="/forgot-password"]'));
        assert.equal(await page.isVisible('#reset-form'), false);
        assert.ok((await page.title()).startsWith(m['reset_password.incomplete_title']));
        await inspect(page, shot('reset-password-incomplete'));
      });

      assert.deepEqual(consoleErrors, [], 'no console errors or CSP violations');
    } finally {
      await context.close();
    }
  });
}
