// Confirming the email address in a real browser, in each language: an
// account made through the site (which sends its language along), the
// cabinet's notice that the address is not confirmed yet (and that the
// e-visa is not emailed until it is), "Send a new link" emailing a second
// link, the newest link read from the gateway's outbox and opened (its
// token gone from the address bar), the success page and the cabinet
// without its notice, the spent link, a garbage link and a link without
// its token. Once in English: an earlier link still working after a new
// one was sent, the button meeting an address confirmed meanwhile (409),
// the per-account limit (429, with when to try again), and the
// confirmation page when the service cannot be reached (Try again).
// axe-core runs on each page at 1280 and 360 px.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  LANGS, MESSAGES, startGateway, launchBrowser, uniqueEmail, ready, inspect, watchConsole, decodeHeader, callApi, chooseLanguage, assertProblem, assertFilled, PROBLEM_JSON, messagesTo,
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

const PASSWORD = 'correct horse battery staple';
// The email's subject, in the language the site sent (functions/render-visa/src/mail.rs).
const SUBJECT = {
  en: /^Confirm your email address for your Kazakhstan e-visa$/,
  ru: /Подтвердите адрес электронной почты/,
  kk: /электрондық пошта мекенжайын растаңыз/,
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** An account made through the API, signed in: its session token. */
async function accountThroughApi(email, lang = 'en') {
  assert.equal((await api('POST', '/accounts', { body: { email, password: PASSWORD, lang } })).status, 201);
  const session = await api('POST', '/sessions', { body: { email, password: PASSWORD } });
  assert.equal(session.status, 201);
  return session.body.token;
}

/** Waits up to 10 s for the `count`th message to `address`; returns the newest. */
async function waitForMessages(address, count) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const messages = messagesTo(gateway, address);
    if (messages.length >= count) return messages[messages.length - 1];
    if (Date.now() > deadline) assert.fail(`${messages.length} email(s) to ${address} within 10 s, not ${count}`);
    await sleep(100);
  }
}

// Plain UTF-8 or RFC 2047 encoded-words: either way, what a mail client shows.
const subjectOf = (message) => decodeHeader(/^Subject: (.*)$/m.exec(message)[1].trim());

/** The confirmation link of a message. */
function linkIn(message) {
  const found = /(https?:\/\/[^\s<>"]+\/confirm-email#[^\s<>"]+)/.exec(message);
  assert.ok(found, `no confirmation link in:\n${message}`);
  const link = new URL(found[1]);
  assert.equal(link.pathname, '/confirm-email');
  assert.ok(link.hash.length > 20, `a short token: ${link.hash}`);
  return link;
}

/** The link's token, as the page sends it. */
const tokenOf = (link) => decodeURIComponent(link.hash.slice(1));

/**
 * Opens a path of the local gateway from a blank page: going from
 * /confirm-email to /confirm-email#<token> would otherwise only move to the
 * fragment, without loading the page again.
 */
async function openPath(page, path) {
  await page.goto('about:blank');
  await page.goto(`${gateway.baseUrl}${path}`);
}

/** Opens an emailed link on the local gateway (the email's origin may be the configured site's). */
const open = (page, link) => openPath(page, `${link.pathname}${link.hash}`);

/** Puts a session into the tab (the page must be on the site) and opens the cabinet. */
async function cabinetWithSession(page, token) {
  await page.goto(`${gateway.baseUrl}/sign-in`);
  await ready(page);
  await page.evaluate((t) => sessionStorage.setItem('visa.session', JSON.stringify({ token: t, expires_at: '2999-01-01T00:00:00Z' })), token);
  await page.goto(`${gateway.baseUrl}/cabinet`);
  await ready(page);
}

const focused = (page, selector) => page.evaluate((s) => document.activeElement && document.activeElement.matches(s), selector);
const statusText = async (page) => (await page.textContent('#resend-status')).trim();

async function expectState(page, state) {
  await page.waitForSelector(`#main[data-shown="${state}"]`, { timeout: 15_000 });
  for (const other of ['confirming', 'done', 'invalid', 'failed']) {
    assert.equal(await page.isVisible(`[data-state="${other}"]`), other === state, `${other} visible`);
  }
}

async function expectInvalid(page, m, { focus }) {
  await expectState(page, 'invalid');
  assert.equal((await page.textContent('[data-state="invalid"] h1')).trim(), m['confirm_email.invalid_heading']);
  const text = await page.innerText('[data-state="invalid"]');
  assert.ok(text.includes(m['confirm_email.invalid_body']));
  assert.ok(text.includes(m['confirm_email.invalid_next']));
  assert.equal((await page.textContent('[data-state="invalid"] a[href="/cabinet"]')).trim(), m['confirm_email.invalid_link']);
  assert.ok((await page.title()).startsWith(m['confirm_email.invalid_title']));
  assert.equal(await focused(page, '[data-state="invalid"] h1'), focus);
  assert.equal(await page.evaluate(() => window.location.href.includes('#')), false);
}

for (const lang of LANGS) {
  test(`an email address is confirmed from its emailed link in ${lang}`, { timeout: 300_000 }, async (t) => {
    if (!gateway.dataDir) {
      t.skip('the gateway\'s data dir is not known (set VISA_DATA_DIR with VISA_BASE_URL)');
      return;
    }
    const m = MESSAGES[lang];
    const shot = (name) => `${lang}-${name}`;
    const email = uniqueEmail(`confirm-${lang}`);

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const consoleErrors = watchConsole(page);
    const sessionToken = () => page.evaluate(() => JSON.parse(sessionStorage.getItem('visa.session')).token);
    let first;
    let link;

    try {
      await t.test('an account made through the site, then signed in', async () => {
        await page.goto(`${gateway.baseUrl}/register`);
        await ready(page);
        await chooseLanguage(page, lang);
        await page.fill('#email', email);
        await page.fill('#password', PASSWORD);
        await page.click('#register-form button[type="submit"]');
        await page.waitForURL(/\/sign-in\?reason=registered/);
        await ready(page);
        assert.equal(await page.getAttribute('html', 'lang'), lang);
        assert.ok((await page.textContent('#notice')).includes(m['sign_in.registered_body']));
        assert.equal(await page.inputValue('#email'), email);
        await page.fill('#password', PASSWORD);
        await page.click('#sign-in-form button[type="submit"]');
        await page.waitForURL(/\/cabinet$/);
        await ready(page);
      });

      await t.test('the cabinet says the address is not confirmed and the e-visa is not emailed until it is', async () => {
        const notice = page.locator('#email-unverified');
        assert.ok(await notice.isVisible());
        assert.equal(await notice.getAttribute('role'), 'region');
        assert.equal((await page.textContent('#email-unverified-title')).trim(), m['cabinet.email_unverified_title']);
        const text = await notice.innerText();
        assert.ok(text.includes(m['cabinet.email_unverified_body'].replace('{email}', email)), text);
        assert.ok(text.includes(m['cabinet.email_unverified_visa']));
        assert.ok(text.includes(m['cabinet.email_unverified_hint']));
        assert.equal((await page.textContent('#resend-verification')).trim(), m['cabinet.email_resend']);
        assert.equal(await statusText(page), '');
        assert.equal(await page.getAttribute('#resend-status', 'aria-live'), 'polite');
        await inspect(page, shot('cabinet-email-unverified'));

        const current = await api('GET', '/accounts/current', { token: await sessionToken() });
        assert.equal(current.status, 200);
        assert.equal(current.body.email, email);
        assert.equal(current.body.email_verified, false);
        assert.equal(typeof current.body.account_id, 'string');
        assert.ok(!Number.isNaN(Date.parse(current.body.created_at)), `created_at ${current.body.created_at}`);
      });

      await t.test('registering emailed one link, in the site\'s language', async () => {
        const message = await waitForMessages(email, 1);
        assert.equal(messagesTo(gateway, email).length, 1);
        assert.match(subjectOf(message), SUBJECT[lang]);
        first = linkIn(message);
      });

      await t.test('"Send a new link" emails a second link and says so', async () => {
        await page.click('#resend-verification');
        await page.waitForFunction(() => document.getElementById('resend-status').textContent.trim() !== '');
        assert.equal(await statusText(page), m['cabinet.email_resend_sent'].replace('{email}', email));
        assert.equal(await page.evaluate(() => document.getElementById('resend-status').classList.contains('error-message')), false);
        // Focus stays on the button.
        assert.equal(await focused(page, '#resend-verification'), true);
        const message = await waitForMessages(email, 2);
        assert.equal(messagesTo(gateway, email).length, 2);
        assert.match(subjectOf(message), SUBJECT[lang]);
        link = linkIn(message);
        assert.notEqual(tokenOf(link), tokenOf(first));
        await inspect(page, shot('cabinet-email-link-sent'));
      });

      await t.test('the newest link confirms the address, and its token leaves the address bar', async () => {
        await open(page, link);
        await ready(page);
        await expectState(page, 'done');
        assert.equal(await page.getAttribute('html', 'lang'), lang);
        assert.equal(new URL(page.url()).hash, '');
        assert.ok(!page.url().includes(tokenOf(link)));
        assert.equal(await page.evaluate(() => window.location.href.includes('#')), false);
        assert.equal((await page.textContent('[data-state="done"] h1')).trim(), m['confirm_email.done_heading']);
        assert.equal(await focused(page, '[data-state="done"] h1'), true);
        assert.ok((await page.title()).startsWith(m['confirm_email.done_title']));
        assert.ok((await page.innerText('[data-state="done"]')).includes(m['confirm_email.done_body']));
        await inspect(page, shot('confirm-email-done'));
      });

      await t.test('the cabinet no longer shows the notice', async () => {
        const cabinet = page.locator('[data-state="done"] a[href="/cabinet"]');
        assert.equal((await cabinet.textContent()).trim(), m['confirm_email.cabinet_link']);
        await cabinet.click();
        await page.waitForURL(/\/cabinet$/);
        await ready(page);
        assert.equal(await page.isVisible('#email-unverified'), false);
        const current = await api('GET', '/accounts/current', { token: await sessionToken() });
        assert.equal(current.status, 200);
        assert.equal(current.body.email_verified, true);
        // Asking for a link now: 409.
        assertProblem(await api('POST', '/email-verifications', { body: { lang }, token: await sessionToken() }), 409, 'email-already-verified');
        assert.equal(messagesTo(gateway, email).length, 2);
      });

      await t.test('the link works once', async () => {
        await open(page, link);
        await ready(page);
        await expectInvalid(page, m, { focus: true });
        // The guidance names the cabinet's button as it reads.
        assert.ok(m['confirm_email.invalid_next'].includes(m['cabinet.email_resend']));
        await inspect(page, shot('confirm-email-invalid'));
        assertProblem(await api('POST', '/email-verifications/confirmation', { body: { token: tokenOf(link) } }), 400, 'verification-link-invalid');
        // Its guidance leads to the cabinet (this tab is signed in).
        await page.click('[data-state="invalid"] a[href="/cabinet"]');
        await page.waitForURL(/\/cabinet$/);
        await ready(page);
      });

      await t.test('a garbage link, and a link without its token, do not work either', async () => {
        await openPath(page, `/confirm-email#not-a-real-token-${lang}`);
        await ready(page);
        await expectInvalid(page, m, { focus: true });
        assertProblem(await api('POST', '/email-verifications/confirmation', { body: { token: `not-a-real-token-${lang}` } }), 400, 'verification-link-invalid');
        for (const path of ['/confirm-email', '/confirm-email#']) {
          await openPath(page, path);
          await ready(page);
          await expectInvalid(page, m, { focus: false });
        }
        await inspect(page, shot('confirm-email-no-token'));
      });

      assert.deepEqual(consoleErrors, [], 'no console errors or CSP violations');
    } finally {
      await context.close();
    }
  });
}

test('once in English: an earlier link, an address confirmed meanwhile, the limit, no network', { timeout: 300_000 }, async (t) => {
  if (!gateway.dataDir) {
    t.skip('the gateway\'s data dir is not known (set VISA_DATA_DIR with VISA_BASE_URL)');
    return;
  }
  const m = MESSAGES.en;
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const consoleErrors = watchConsole(page);

  try {
    await t.test('the current account needs a session', async () => {
      const res = await api('GET', '/accounts/current');
      assert.equal(res.status, 401);
      assert.match(res.headers.get('content-type') || '', PROBLEM_JSON);
    });

    await t.test('an earlier link still works after a new one; the button then finds the address confirmed (409)', async () => {
      const email = uniqueEmail('confirmed-meanwhile');
      const token = await accountThroughApi(email);
      const earlier = linkIn(await waitForMessages(email, 1));
      await cabinetWithSession(page, token);
      assert.ok(await page.isVisible('#email-unverified'));
      const sent = await api('POST', '/email-verifications', { body: { lang: 'en' }, token });
      assert.equal(sent.status, 202);
      assert.equal(typeof sent.body.detail, 'string');
      const later = linkIn(await waitForMessages(email, 2));
      assert.notEqual(tokenOf(later), tokenOf(earlier));
      // The earlier link, opened elsewhere.
      const confirmed = await api('POST', '/email-verifications/confirmation', { body: { token: tokenOf(earlier) } });
      assert.equal(confirmed.status, 204);
      // This tab still shows the notice; its button meets the confirmed address.
      await page.click('#resend-verification');
      await page.waitForSelector('#email-unverified', { state: 'hidden' });
      assert.equal((await page.textContent('#status-announcer')).trim(), m['cabinet.email_already_verified']);
      assert.equal(await focused(page, '#main'), true);
      assert.equal(messagesTo(gateway, email).length, 2);
      await inspect(page, 'en-cabinet-email-already-confirmed');
    });

    const busy = uniqueEmail('too-many-links');
    let busyToken;
    await t.test('four new links within the hour are sent, besides the one of registering (five in all)', async () => {
      busyToken = await accountThroughApi(busy);
      await waitForMessages(busy, 1);
      const answers = [];
      for (let i = 0; i < 4; i += 1) {
        const res = await api('POST', '/email-verifications', { body: { lang: 'en' }, token: busyToken });
        answers.push(res.status === 202 ? 202 : `${res.status} ${res.body && res.body.detail}`);
      }
      assert.deepEqual(answers, [202, 202, 202, 202]);
      await waitForMessages(busy, 5);
    });

    await t.test('once the limit is reached (429), the cabinet says when to try again, from Retry-After', async () => {
      // Asked until refused, whatever the step above found the limit to be.
      let refused = null;
      for (let i = 0; i < 2 && !refused; i += 1) {
        const res = await api('POST', '/email-verifications', { body: { lang: 'en' }, token: busyToken });
        if (res.status === 429) refused = res;
        else assert.equal(res.status, 202);
      }
      assert.ok(refused, 'never refused');
      assertProblem(refused, 429, 'too-many-requests');
      const retryAfter = refused.headers.get('retry-after');
      assert.match(retryAfter || '', /^\d+$/, `Retry-After: ${retryAfter}`);
      assert.ok(Number(retryAfter) > 0 && Number(retryAfter) <= 3600, `Retry-After: ${retryAfter}`);
      const sent = messagesTo(gateway, busy).length;
      await cabinetWithSession(page, busyToken);
      await page.click('#resend-verification');
      await page.waitForFunction(() => document.getElementById('resend-status').textContent.trim() !== '');
      const time = assertFilled(await statusText(page), m['cabinet.email_resend_too_many'], 'time');
      assert.match(time, /\d{1,2}:\d{2}/);
      assert.equal(await page.evaluate(() => document.getElementById('resend-status').classList.contains('error-message')), true);
      assert.equal(await focused(page, '#resend-verification'), true);
      assert.ok(await page.isVisible('#email-unverified'));
      await inspect(page, 'en-cabinet-email-too-many-links');
      // A refused request sends nothing.
      await sleep(500);
      assert.equal(messagesTo(gateway, busy).length, sent);
    });

    await t.test('no network on the confirmation page: what happened, and Try again', async () => {
      const link = linkIn(messagesTo(gateway, busy).pop());
      await page.route('**/api/email-verifications/confirmation', (route) => route.abort('failed'));
      await open(page, link);
      await ready(page);
      await expectState(page, 'failed');
      assert.equal(await page.evaluate(() => window.location.href.includes('#')), false);
      assert.equal((await page.textContent('[data-state="failed"] h1')).trim(), m['confirm_email.failed_heading']);
      assert.equal((await page.textContent('#failed-reason')).trim(), m['problem.network']);
      assert.equal(await focused(page, '[data-state="failed"] h1'), true);
      assert.ok((await page.title()).startsWith(m['confirm_email.failed_title']));
      await inspect(page, 'en-confirm-email-failed');
      await page.unroute('**/api/email-verifications/confirmation');
      await page.click('#confirm-retry');
      await expectState(page, 'done');
      assert.equal(await focused(page, '[data-state="done"] h1'), true);
      const signIn = await api('POST', '/sessions', { body: { email: busy, password: PASSWORD } });
      assert.equal((await api('GET', '/accounts/current', { token: signIn.body.token })).body.email_verified, true);
    });

    assert.deepEqual(consoleErrors.filter((e) => !/ERR_FAILED/.test(e)), [], 'no console errors or CSP violations');
  } finally {
    await context.close();
  }
});
