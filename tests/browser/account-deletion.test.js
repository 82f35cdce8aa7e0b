// Deleting the account from the cabinet in a real browser, in each
// language: an applicant made through the API (account, an officer's
// invitation, an application left unpaid), signed in through the site; the
// cabinet's "Delete my account" at its end, collapsed, then what it erases
// and what it keeps; no password (asked for at the field), a wrong one
// (401 invalid-credentials: said at the field, which takes focus; the
// account and the session still work), then the right one: the page says
// the account is gone and how many applications were erased, the tab's
// session is forgotten, the old token gets 401, and the address can
// register again. Once in English: the API's refusals (401 without a
// session, 422 without a password), a payment still open holding the
// deletion back (409 payment-open: pay it, or wait until the time it
// names), then that payment made on the sandbox checkout so the e-visa is
// issued, and the deletion keeping it: listed with its number and a link
// to /retrieve, where it is still got without an account. axe-core runs
// on the form and the result at 1280 and 360 px.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  LANGS, MESSAGES, startGateway, launchBrowser, createInvitation, uniqueEmail, ready, inspect, watchConsole, isoDay, callApi, chooseLanguage, assertProblem, assertFilled, PROBLEM_JSON,
  signInToCabinet, TEST_PASSWORD,
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

// The password signInToCabinet types.
const PASSWORD = TEST_PASSWORD;
const WRONG_PASSWORD = 'not the password at all';
const ACCOUNT = '/api/accounts/current';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** An account made through the API, signed in: its session token. */
async function accountThroughApi(email, lang = 'en') {
  const made = await api('POST', '/accounts', { body: { email, password: PASSWORD, lang } });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const session = await api('POST', '/sessions', { body: { email, password: PASSWORD } });
  assert.equal(session.status, 201, JSON.stringify(session.body));
  return session.body.token;
}

/** An application for a new invitation (made by the officer's admin API), left unpaid: its id. */
async function applicationThroughApi(token) {
  const invitation = await createInvitation(gateway);
  const invitee = invitation.invitee;
  const created = await api('POST', '/applications', {
    token,
    body: {
      invitation_number: invitation.number,
      passport: {
        number: invitee.passport_number, surname: invitee.surname, given_names: invitee.given_names,
        nationality: invitee.nationality, sex: 'F', date_of_birth: invitee.date_of_birth,
        issuing_state: invitee.nationality, expiry_date: isoDay(3 * 365),
      },
      declarations: { two_blank_pages: true, passport_undamaged: true },
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.status, 'invitation_confirmed');
  return created.body.id;
}

/** "Check your answers" confirmed: the application awaits payment on a sandbox checkout. */
async function confirmThroughApi(token, id) {
  const confirmed = await api('POST', `/applications/${encodeURIComponent(id)}/confirmation`, { token, body: { details_match_passport: true } });
  assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
  assert.ok(confirmed.body.payment && confirmed.body.payment.checkout_url, JSON.stringify(confirmed.body));
  return confirmed.body.payment;
}

/** The sandbox checkout's Pay, then the application waited for until issued: the application. */
async function payAndWaitUntilIssued(token, id, checkoutUrl) {
  // The gateway delivers the signed webhook, then sends the browser back (303).
  const paid = await fetch(`${gateway.baseUrl}${new URL(checkoutUrl).pathname}/pay`, { method: 'POST', redirect: 'manual' });
  assert.equal(paid.status, 303, await paid.text());
  const deadline = Date.now() + 60_000;
  for (;;) {
    const app = await api('GET', `/applications/${encodeURIComponent(id)}`, { token });
    assert.equal(app.status, 200);
    if (app.body.status === 'issued') {
      assert.match(app.body.visa.number, /^[A-Z0-9]{9}$/);
      return app.body;
    }
    if (Date.now() > deadline) assert.fail(`not issued within 60 s of payment: ${app.body.status}`);
    await sleep(250);
  }
}

/** The ids of the applications the token's account has (GET /api/applications). */
async function applicationIds(token) {
  const res = await api('GET', '/applications', { token });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.items.map((a) => a.id).sort();
}

/** Signs in through the site in `lang` and lands on the cabinet. */
const signIn = (page, lang, email) => signInToCabinet(page, gateway, lang, email);

/** Opens "Delete my account" (a <details> at the end of the cabinet). */
async function openDeletion(page) {
  await page.click('#delete-account-details > summary');
  await page.waitForSelector('#delete-account-form', { state: 'visible' });
}

/** Types a password and presses the button: the API's answer to the page's DELETE. */
async function deleteWith(page, password) {
  await page.fill('#delete-password', password);
  const [res] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === ACCOUNT && r.request().method() === 'DELETE'),
    page.click('#delete-account'),
  ]);
  let body = null;
  try { body = await res.json(); } catch { body = null; }
  return { status: res.status(), type: res.headers()['content-type'] || '', body };
}

/** The message next to the password field (the visually hidden "Error:" prefix included). */
async function errorAtPassword(page) {
  const message = page.locator('#delete-account-form [data-field="password"] [data-error-message]');
  await message.waitFor({ timeout: 15_000 });
  return (await message.textContent()).trim();
}

const focused = (page, selector) => page.evaluate((s) => document.activeElement && document.activeElement.matches(s), selector);
const storedSession = (page) => page.evaluate(() => sessionStorage.getItem('visa.session'));

/** The result: the account gone, the tab signed out, `erased` applications said to be erased. */
async function expectDeleted(page, m, { erased }) {
  await page.waitForSelector('#main[data-shown="deleted"]', { timeout: 15_000 });
  assert.equal(await page.isVisible('#account-deleted'), true);
  assert.equal(await page.isVisible('#cabinet-view'), false);
  assert.equal((await page.textContent('#account-deleted h1')).trim(), m['delete_account.done_heading']);
  assert.equal(await focused(page, '#account-deleted h1'), true);
  assert.ok((await page.title()).startsWith(m['delete_account.done_title']), await page.title());
  assert.ok((await page.innerText('#account-deleted')).includes(m['delete_account.done_body']));
  assert.equal((await page.textContent('#deleted-applications')).trim(),
    erased ? m['delete_account.erased_count'].replace('{count}', String(erased)) : m['delete_account.erased_none']);
  // Forgotten as signing out forgets it; the header offers sign in again.
  assert.equal(await storedSession(page), null);
  assert.equal(await page.locator('[data-sign-out]').count(), 0);
  assert.equal((await page.textContent('.header__nav a[href="/sign-in"]')).trim(), m['nav.sign_in']);
}

/** After the deletion: the old token is refused, and the address is free to register again. */
async function expectAccountGone(email, token) {
  assertProblem(await api('GET', '/applications', { token }), 401, 'unauthenticated');
  assertProblem(await api('GET', '/accounts/current', { token }), 401, 'unauthenticated');
  assertProblem(await api('POST', '/sessions', { body: { email, password: PASSWORD } }), 401, 'invalid-credentials');
  const again = await api('POST', '/accounts', { body: { email, password: PASSWORD } });
  assert.equal(again.status, 201, JSON.stringify(again.body));
  // A new account: nothing of the old one comes with it.
  const session = await api('POST', '/sessions', { body: { email, password: PASSWORD } });
  assert.equal(session.status, 201);
  assert.deepEqual(await applicationIds(session.body.token), []);
}

for (const lang of LANGS) {
  test(`an account is deleted from the cabinet in ${lang}`, { timeout: 300_000 }, async (t) => {
    const m = MESSAGES[lang];
    const shot = (name) => `${lang}-${name}`;
    const email = uniqueEmail(`delete-${lang}`);
    const token = await accountThroughApi(email, lang);
    const id = await applicationThroughApi(token);

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const consoleErrors = watchConsole(page);
    const deletions = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === ACCOUNT && r.method() === 'DELETE') deletions.push(r);
    });

    try {
      await t.test('the cabinet ends with "Delete my account", closed', async () => {
        await signIn(page, lang, email);
        await page.waitForSelector(`[data-application="${id}"][data-status="invitation_confirmed"]`);
        assert.equal((await page.textContent('#your-account-title')).trim(), m['delete_account.section_heading']);
        assert.equal((await page.textContent('#delete-account-details > summary')).trim(), m['delete_account.summary']);
        assert.equal(await page.getAttribute('#delete-account-details', 'open'), null);
        assert.equal(await page.isVisible('#delete-account-form'), false);
        // It comes after the applications.
        assert.ok(await page.evaluate((app) => {
          const card = document.querySelector(`[data-application="${app}"]`);
          return Boolean(card.compareDocumentPosition(document.getElementById('your-account')) & Node.DOCUMENT_POSITION_FOLLOWING);
        }, id));
      });

      await t.test('opened, it says what is erased and what is kept, and asks for the password', async () => {
        await openDeletion(page);
        const text = await page.innerText('#delete-account-details');
        for (const key of ['delete_account.erased_heading', 'delete_account.erased_account', 'delete_account.erased_applications',
          'delete_account.kept_heading', 'delete_account.kept_body', 'delete_account.kept_retrieve', 'delete_account.warning',
          'delete_account.password_hint']) {
          assert.ok(text.includes(m[key]), `${key}: ${m[key]}`);
        }
        assert.equal((await page.textContent('#delete-account-details a[href="/retrieve"]')).trim(), m['delete_account.retrieve_link']);
        assert.equal((await page.textContent('label[for="delete-password"]')).trim(), m['field.password']);
        assert.equal(await page.getAttribute('#delete-password', 'type'), 'password');
        assert.equal(await page.getAttribute('#delete-password', 'autocomplete'), 'current-password');
        assert.equal((await page.textContent('#delete-account')).trim(), m['delete_account.submit']);
        assert.equal(await page.getAttribute('#delete-account-status', 'aria-live'), 'polite');
        assert.equal((await page.textContent('#delete-account-status')).trim(), '');
        await inspect(page, shot('cabinet-delete-account'));
      });

      await t.test('no password: asked for at the field, nothing sent', async () => {
        await page.click('#delete-account');
        assert.equal(await errorAtPassword(page), `${m['error.prefix']} ${m['missing.password']}`);
        assert.equal(await focused(page, '#delete-password'), true);
        assert.equal(await page.getAttribute('#delete-password', 'aria-invalid'), 'true');
        assert.equal(deletions.length, 0);
      });

      await t.test('a wrong password: said at the field, which takes focus; nothing is deleted', async () => {
        const answer = await deleteWith(page, WRONG_PASSWORD);
        assert.equal(answer.status, 401, JSON.stringify(answer.body));
        assert.match(answer.type, PROBLEM_JSON);
        assert.ok(String(answer.body && answer.body.type).endsWith('/problems/invalid-credentials'), JSON.stringify(answer.body));
        await page.waitForFunction((text) => {
          const e = document.querySelector('#delete-account-form [data-error-message]');
          return e && e.textContent.trim().endsWith(text);
        }, m['delete_account.wrong_password']);
        assert.equal(await errorAtPassword(page), `${m['error.prefix']} ${m['delete_account.wrong_password']}`);
        assert.equal(await focused(page, '#delete-password'), true);
        assert.equal(await page.getAttribute('#delete-password', 'aria-invalid'), 'true');
        assert.ok((await page.getAttribute('#delete-password', 'aria-describedby')).split(' ').includes('delete-password-hint'));
        assert.ok((await page.title()).startsWith(m['title.error'].split('{title}')[0]));
        // Still signed in, on the cabinet, with everything as it was.
        assert.match(page.url(), /\/cabinet$/);
        assert.notEqual(await storedSession(page), null);
        assert.ok(await page.isVisible('[data-sign-out]'));
        assert.ok(await page.isVisible(`[data-application="${id}"]`));
        assert.deepEqual(await applicationIds(token), [id]);
        assert.equal((await api('GET', '/accounts/current', { token })).status, 200);
        await inspect(page, shot('cabinet-delete-wrong-password'));
      });

      await t.test('the right password deletes the account: what was erased, nothing kept', async () => {
        const answer = await deleteWith(page, PASSWORD);
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        assert.equal(answer.body.deleted.account, true);
        assert.deepEqual(answer.body.deleted.applications, [id]);
        assert.deepEqual(answer.body.kept, []);
        await expectDeleted(page, m, { erased: 1 });
        assert.equal(await page.getAttribute('html', 'lang'), lang);
        assert.equal(await page.isVisible('#kept-applications'), false);
        assert.equal(await page.locator('[data-kept]').count(), 0);
        await inspect(page, shot('account-deleted'));
      });

      await t.test('the old session gets 401, and the address can register again', async () => {
        await expectAccountGone(email, token);
      });

      await t.test('the cabinet now sends the tab to sign in', async () => {
        await page.goto(`${gateway.baseUrl}/cabinet`);
        await page.waitForURL(/\/sign-in\?/);
        await ready(page);
      });

      assert.equal(deletions.length, 2);
      assert.deepEqual(consoleErrors, [], 'no console errors or CSP violations');
    } finally {
      await context.close();
    }
  });
}

test('once in English: the API\'s refusals, a payment still open (409), and an issued e-visa kept', { timeout: 300_000 }, async (t) => {
  const m = MESSAGES.en;
  const email = uniqueEmail('delete-kept');
  const token = await accountThroughApi(email);
  const unpaid = await applicationThroughApi(token);
  const paying = await applicationThroughApi(token);
  const payment = await confirmThroughApi(token, paying);

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const consoleErrors = watchConsole(page);
  let issued;

  try {
    await t.test('the API refuses without a session (401) and without a password (422)', async () => {
      assertProblem(await api('DELETE', '/accounts/current', { body: { password: PASSWORD } }), 401, 'unauthenticated');
      assertProblem(await api('DELETE', '/accounts/current', { body: { password: PASSWORD }, token: 'not-a-session' }), 401, 'unauthenticated');
      assertProblem(await api('DELETE', '/accounts/current', { body: {}, token }), 422, 'validation');
      assert.deepEqual(await applicationIds(token), [unpaid, paying].sort());
    });

    await t.test('a checkout that can still be paid holds the deletion back (409): pay it, or wait until its time', async () => {
      await signIn(page, 'en', email);
      await page.waitForSelector(`[data-application="${paying}"][data-status="awaiting_payment"]`);
      await openDeletion(page);
      const answer = await deleteWith(page, PASSWORD);
      assert.equal(answer.status, 409, JSON.stringify(answer.body));
      assert.match(answer.type, PROBLEM_JSON);
      assert.ok(String(answer.body.type).endsWith('/problems/payment-open'), JSON.stringify(answer.body));
      assert.equal(typeof answer.body.detail, 'string');
      const until = answer.body.until;
      assert.ok(typeof until === 'string' && !Number.isNaN(Date.parse(until)), `until: ${until}`);
      assert.ok(Date.parse(until) > Date.now(), `until ${until} is not ahead`);
      if (payment.expires_at) assert.equal(Date.parse(until), Date.parse(payment.expires_at), `until ${until}, the checkout's expires_at ${payment.expires_at}`);

      await page.waitForFunction(() => document.getElementById('delete-account-status').textContent.trim() !== '');
      const status = (await page.textContent('#delete-account-status')).trim();
      const time = assertFilled(status, m['delete_account.payment_open'], 'time');
      // In the browser's time zone, as the site formats times.
      assert.equal(time, await page.evaluate(async (u) => (await import('/js/i18n.js')).formatTime(u), until));
      assert.match(time, /\d{1,2}:\d{2}/);
      assert.equal(await page.evaluate(() => document.getElementById('delete-account-status').classList.contains('error-message')), true);
      // Focus stays on the button; no field is at fault.
      assert.equal(await focused(page, '#delete-account'), true);
      assert.equal(await page.locator('#delete-account-form [data-error-message]').count(), 0);
      // Nothing changed.
      assert.match(page.url(), /\/cabinet$/);
      assert.notEqual(await storedSession(page), null);
      assert.deepEqual(await applicationIds(token), [unpaid, paying].sort());
      await inspect(page, 'en-cabinet-delete-payment-open');
    });

    await t.test('paid on the sandbox checkout, the application is issued', async () => {
      issued = await payAndWaitUntilIssued(token, paying, payment.checkout_url);
      await page.reload();
      await ready(page);
      await page.waitForSelector(`[data-application="${paying}"][data-status="issued"]`);
    });

    await t.test('deleting now erases the unpaid application and keeps the e-visa, listed with its number and /retrieve', async () => {
      await openDeletion(page);
      const answer = await deleteWith(page, PASSWORD);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.deleted.account, true);
      assert.deepEqual(answer.body.deleted.applications, [unpaid]);
      assert.equal(answer.body.kept.length, 1, JSON.stringify(answer.body.kept));
      const [kept] = answer.body.kept;
      assert.equal(kept.application_id, paying);
      assert.equal(kept.status, 'issued');
      assert.equal(kept.visa_number, issued.visa.number);
      assert.equal(typeof kept.reason, 'string');

      await expectDeleted(page, m, { erased: 1 });
      assert.equal(await page.isVisible('#kept-applications'), true);
      const keptText = await page.innerText('#kept-applications');
      for (const key of ['delete_account.kept_list_heading', 'delete_account.kept_body', 'delete_account.kept_note_number']) {
        assert.ok(keptText.includes(m[key]), `${key}: ${m[key]}`);
      }
      const card = page.locator(`[data-kept="${paying}"]`);
      assert.equal(await page.locator('[data-kept]').count(), 1);
      assert.equal((await card.locator('[data-kept-visa-number]').textContent()).trim(), issued.visa.number);
      assert.equal((await card.locator('[data-status-tag]').textContent()).trim(), m['status.issued']);
      assert.ok((await card.innerText()).includes(issued.invitation_number));
      assert.ok((await card.innerText()).includes(m['delete_account.kept_issued']));
      const link = card.locator('a[href="/retrieve"]');
      assert.equal((await link.textContent()).trim(), m['delete_account.kept_retrieve_link']);
      // The English reason of the API is not shown: the page explains in its own language.
      assert.ok(!(await page.innerText('#account-deleted')).includes(kept.reason));
      await inspect(page, 'en-account-deleted-visa-kept');
    });

    await t.test('a language change translates the result', async () => {
      const kk = MESSAGES.kk;
      await chooseLanguage(page, 'kk');
      assert.equal((await page.textContent('#account-deleted h1')).trim(), kk['delete_account.done_heading']);
      assert.equal((await page.textContent('#deleted-applications')).trim(), kk['delete_account.erased_count'].replace('{count}', '1'));
      assert.equal((await page.textContent(`[data-kept="${paying}"] a[href="/retrieve"]`)).trim(), kk['delete_account.kept_retrieve_link']);
      assert.ok((await page.title()).startsWith(kk['delete_account.done_title']));
      await chooseLanguage(page, 'en');
    });

    await t.test('the old session gets 401, and the address can register again', async () => {
      await expectAccountGone(email, token);
    });

    await t.test('the kept e-visa is still got without an account, from the link', async () => {
      await Promise.all([
        page.waitForURL(/\/retrieve$/),
        page.click(`[data-kept="${paying}"] a[href="/retrieve"]`),
      ]);
      await ready(page);
      assert.equal((await page.textContent('[data-state="ask"] h1')).trim(), m['retrieve.heading']);
      await page.fill('#visa-number', issued.visa.number);
      await page.fill('#passport-number', issued.passport.number);
      const [y, mo, d] = issued.passport.date_of_birth.split('-');
      await page.fill('#dob-day', String(Number(d)));
      await page.fill('#dob-month', String(Number(mo)));
      await page.fill('#dob-year', y);
      await page.click('#retrieve-form button[type="submit"]');
      await page.waitForSelector('#main[data-shown="found"]', { timeout: 15_000 });
      assert.equal((await page.textContent('[data-visa-number]')).trim(), issued.visa.number);
    });

    assert.deepEqual(consoleErrors, [], 'no console errors or CSP violations');
  } finally {
    await context.close();
  }
});
