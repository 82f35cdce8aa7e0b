// "Payments that outlive a day" in a real browser, in each language, with a
// gateway whose checkout sessions expire after 3 seconds
// (VISA_CHECKOUT_SECONDS): an application made to await payment through the
// API (invitation, account, application, confirmation), the cabinet before
// expiry (the deadline and the Pay link to the current checkout), the page
// turning by itself at expiry, and after a reload: what happened, no link
// to the dead checkout, and "Pay the fee again", which lands on a new
// sandbox checkout; paying there brings the e-visa. The check page says the
// same when the applicant comes back to it. Then, once in English, the
// errors of paying again: the payment service down (502), no network, and
// paid meanwhile (409: the cabinet shows the new status). axe-core runs on
// each expired state at 1280 and 360 px.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  LANGS, MESSAGES, startGateway, launchBrowser, createInvitation, uniqueEmail, ready, inspect, watchConsole, isoDay, callApi, chooseLanguage, assertFilled,
  signInToCabinet, TEST_PASSWORD,
} from './harness.js';

const LIFETIME_SECONDS = 3;
// The password signInToCabinet types.
const PASSWORD = TEST_PASSWORD;
const CONFIRMATION = '**/api/applications/*/confirmation';

let gateway;
const api = (method, path, options) => callApi(gateway.baseUrl, method, path, options);
let browser;

before(async () => {
  gateway = await startGateway({ env: { VISA_CHECKOUT_SECONDS: String(LIFETIME_SECONDS) } });
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (gateway) await gateway.stop();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** An account with an application whose details are confirmed by the invitation (not yet by its holder). */
async function newApplication(tag) {
  const invitation = await createInvitation(gateway);
  const email = uniqueEmail(`expiry-${tag}`);
  assert.equal((await api('POST', '/accounts', { body: { email, password: PASSWORD } })).status, 201);
  const session = await api('POST', '/sessions', { body: { email, password: PASSWORD } });
  assert.equal(session.status, 201);
  const token = session.body.token;
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
  return { email, token, id: created.body.id };
}

/** The applicant confirms (as the check page does): the application awaits payment at a checkout. */
async function confirm({ id, token }) {
  const res = await api('POST', `/applications/${encodeURIComponent(id)}/confirmation`, { token, body: { details_match_passport: true } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.status, 'awaiting_payment');
  const { payment } = res.body;
  assert.ok(payment.checkout_url && payment.checkout_session_id && payment.expires_at, JSON.stringify(payment));
  assert.equal(payment.paid_at, null);
  return payment;
}

/** The sandbox checkout's Pay, without a browser: 303 back to the site, or 410 once the session expired. */
async function payAt(checkoutUrl) {
  const res = await fetch(`${gateway.baseUrl}${new URL(checkoutUrl).pathname}/pay`, { method: 'POST', redirect: 'manual' });
  await res.arrayBuffer();
  return res.status;
}

async function waitUntilIssued({ id, token }) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const app = await api('GET', `/applications/${encodeURIComponent(id)}`, { token });
    assert.equal(app.status, 200);
    if (app.body.status === 'issued') return app.body;
    if (Date.now() > deadline) assert.fail(`not issued within 60 s of payment: ${app.body.status}`);
    await sleep(250);
  }
}

async function waitPast(instant) {
  const wait = Date.parse(instant) + 300 - Date.now();
  if (wait > 0) await sleep(wait);
}

/** Signs in through the site in `lang` and lands on the cabinet. */
const signIn = (page, lang, email) => signInToCabinet(page, gateway, lang, email);

const card = (id) => `[data-application="${id}"]`;

async function feeText(page, id, m) {
  return (await page.locator(`${card(id)} .summary-list__row`, { hasText: m['field.fee'] }).locator('dd').textContent()).trim();
}

/** The expired state of an application's card: what happened, the button, no link to any checkout. */
async function expectExpiredCard(page, id, m, { oldUrl, expiresAt }) {
  const expired = page.locator(`${card(id)} [data-checkout-expired]`);
  await expired.waitFor({ timeout: 15_000 });
  assert.equal(await expired.getAttribute('data-checkout-expired'), expiresAt);
  assertFilled((await expired.textContent()).trim(), m['cabinet.payment_expired'], 'time');
  const again = page.locator(`${card(id)} button[data-pay-again="${id}"]`);
  assert.equal((await again.textContent()).trim(), m['cabinet.action_pay_again'].replace('{fee}', await feeText(page, id, m)));
  assert.equal(await page.locator(`a[href="${oldUrl}"]`).count(), 0, 'a link to the expired checkout');
  assert.equal(await page.locator('a[href*="/sandbox/checkout/"]').count(), 0, 'a link to a checkout');
  assert.equal(await page.locator(`${card(id)} [data-pay], ${card(id)} [data-pay-by]`).count(), 0);
  assert.equal((await page.textContent(`${card(id)} [data-status-tag]`)).trim(), m['status.awaiting_payment']);
}

for (const lang of LANGS) {
  test(`an expired checkout is paid again from the cabinet, in ${lang}`, { timeout: 300_000 }, async (t) => {
    if (gateway.external) {
      t.skip('needs a gateway started with VISA_CHECKOUT_SECONDS (not VISA_BASE_URL)');
      return;
    }
    const m = MESSAGES[lang];
    const shot = (name) => `${lang}-${name}`;
    const applicant = await newApplication(lang);
    const { id } = applicant;
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const consoleErrors = watchConsole(page);
    let first;

    try {
      await signIn(page, lang, applicant.email);
      await page.waitForSelector(`${card(id)} [data-status-tag="invitation_confirmed"]`);

      await t.test('before expiry: the deadline and the Pay link to the current checkout', async () => {
        // Confirmed just before the cabinet is reloaded: 3 seconds to see the open checkout.
        first = await confirm(applicant);
        await page.reload();
        await ready(page);
        const link = page.locator(`${card(id)} a[data-pay="${id}"]`);
        await link.waitFor({ timeout: 2_000 });
        assert.equal(await link.getAttribute('href'), first.checkout_url);
        assert.equal((await link.textContent()).trim(), m['cabinet.action_pay']);
        const payBy = page.locator(`${card(id)} [data-pay-by]`);
        assert.equal(await payBy.getAttribute('data-pay-by'), first.expires_at);
        assertFilled((await payBy.textContent()).trim(), m['cabinet.pay_by'], 'time');
        assert.equal((await page.textContent(`${card(id)} [data-status-tag]`)).trim(), m['status.awaiting_payment']);
        assert.equal(await page.locator(`${card(id)} [data-pay-again]`).count(), 0);
      });

      await t.test('at expiry the page stops offering the link by itself, and says so', async () => {
        await page.waitForSelector(`${card(id)} [data-pay-again="${id}"]`, { timeout: (LIFETIME_SECONDS + 5) * 1000 });
        assert.ok(Date.now() >= Date.parse(first.expires_at), 'turned before the expiry');
        await expectExpiredCard(page, id, m, { oldUrl: first.checkout_url, expiresAt: first.expires_at });
        assertFilled((await page.textContent('#status-announcer')).trim(), m['cabinet.payment_expired'], 'time');
      });

      await t.test('after a reload: the session expired, no money taken, no link to the old checkout', async () => {
        await waitPast(first.expires_at);
        // The premise: the old checkout no longer takes payment.
        assert.equal(await payAt(first.checkout_url), 410);
        await page.reload();
        await ready(page);
        await expectExpiredCard(page, id, m, { oldUrl: first.checkout_url, expiresAt: first.expires_at });
        await inspect(page, shot('cabinet-checkout-expired'));
      });

      await t.test('the check page says the same when the applicant comes back from the checkout', async () => {
        // Where the checkout's Cancel leads.
        await page.goto(`${gateway.baseUrl}/check?application=${encodeURIComponent(id)}&cancelled=1`);
        await ready(page);
        const notice = page.locator('[data-notice="expired"]');
        await notice.waitFor();
        assert.equal((await notice.locator('h2').textContent()).trim(), m['check.expired_title']);
        assertFilled((await notice.locator('p').first().textContent()).trim(), m['cabinet.payment_expired'], 'time');
        assert.equal(await page.locator('[data-notice="cancelled"]').count(), 0);
        assert.equal(await page.locator('#pay-by [data-pay-by]').count(), 0);
        const fee = (await page.textContent('[data-answer="fee"]')).trim();
        assert.equal((await page.textContent('#pay-button')).trim(), m['cabinet.action_pay_again'].replace('{fee}', fee));
        assert.equal(await page.locator('a[href*="/sandbox/checkout/"]').count(), 0);
        await inspect(page, shot('check-checkout-expired'));
      });

      await t.test('"Pay the fee again" opens a new checkout; paying there brings the e-visa', async () => {
        await page.goto(`${gateway.baseUrl}/cabinet`);
        await ready(page);
        const again = page.locator(`${card(id)} button[data-pay-again="${id}"]`);
        await again.waitFor();
        await Promise.all([
          page.waitForURL(/\/sandbox\/checkout\//),
          again.click(),
        ]);
        const landed = page.url();
        assert.notEqual(landed, first.checkout_url);
        const sessionId = new URL(landed).pathname.split('/').pop();
        assert.notEqual(sessionId, first.checkout_session_id);
        // The new session lives 3 seconds too: pay at once.
        await page.getByRole('button', { name: 'Pay' }).click();
        await page.waitForURL(/\/payment-return\?application=/);
        assert.equal(new URL(page.url()).searchParams.get('application'), id);
        await ready(page);
        await page.waitForSelector('[data-issued]', { timeout: 60_000 })
          .catch(async () => assert.fail(`not issued within 60 s of payment: status ${await page.getAttribute('#progress', 'data-status')}`));
        const issued = await waitUntilIssued(applicant);
        assert.equal(issued.payment.checkout_session_id, sessionId);
        assert.equal(issued.payment.checkout_url, landed);
        assert.ok(issued.payment.paid_at);
        assert.match(issued.visa.number, /^[A-Z0-9]{9}$/);
      });

      assert.deepEqual(consoleErrors, [], 'no console errors or CSP violations');
    } finally {
      await context.close();
    }
  });
}

test('once, in English: paying again with the payment service down, offline, and paid meanwhile', { timeout: 300_000 }, async (t) => {
  if (gateway.external) {
    t.skip('needs a gateway started with VISA_CHECKOUT_SECONDS (not VISA_BASE_URL)');
    return;
  }
  const m = MESSAGES.en;
  const applicant = await newApplication('errors');
  const { id } = applicant;
  const first = await confirm(applicant);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const consoleErrors = watchConsole(page);
  const again = page.locator(`${card(id)} button[data-pay-again="${id}"]`);
  const error = page.locator(`${card(id)} .error-message[role="alert"]`);

  try {
    await signIn(page, 'en', applicant.email);
    await waitPast(first.expires_at);
    await page.reload();
    await ready(page);
    await expectExpiredCard(page, id, m, { oldUrl: first.checkout_url, expiresAt: first.expires_at });

    await t.test('502 from the confirmation: the payment service\'s message at the button, still on the cabinet', async () => {
      await page.route(CONFIRMATION, (route) => route.fulfill({
        status: 502,
        contentType: 'application/problem+json',
        body: JSON.stringify({ type: '/problems/payment-provider-unavailable', title: 'Payment provider unavailable', status: 502 }),
      }), { times: 1 });
      await again.click();
      await error.waitFor();
      assert.equal((await error.textContent()).trim(), m['problem.payment-provider-unavailable']);
      assert.match(page.url(), /\/cabinet$/);
      // Focus stays on the button, to try again.
      assert.equal(await page.evaluate(() => document.activeElement.getAttribute('data-pay-again')), id);
      await expectExpiredCard(page, id, m, { oldUrl: first.checkout_url, expiresAt: first.expires_at });
      await inspect(page, 'en-cabinet-pay-again-unavailable');
    });

    await t.test('no network: the network message', async () => {
      await page.route(CONFIRMATION, (route) => route.abort('internetdisconnected'), { times: 1 });
      await again.click();
      await page.waitForFunction((text) => {
        const e = document.querySelector('[data-application] .error-message[role="alert"]');
        return e && e.textContent.trim() === text;
      }, m['problem.network']);
      assert.match(page.url(), /\/cabinet$/);
    });

    await t.test('paid meanwhile (409): the cabinet shows the new status, no error, no button', async () => {
      // Another tab paid a new checkout just before this click.
      await page.route(CONFIRMATION, async (route) => {
        const other = await confirm(applicant);
        assert.notEqual(other.checkout_session_id, first.checkout_session_id);
        assert.equal(await payAt(other.checkout_url), 303);
        await route.fulfill({
          status: 409,
          contentType: 'application/problem+json',
          body: JSON.stringify({ type: '/problems/invalid-state', title: 'Invalid state', status: 409 }),
        });
      }, { times: 1 });
      await again.click();
      await page.waitForSelector(`${card(id)}[data-status="paid"], ${card(id)}[data-status="issued"]`, { timeout: 15_000 });
      assert.equal(await page.locator(`${card(id)} [data-pay-again], ${card(id)} [data-checkout-expired]`).count(), 0);
      assert.equal(await error.count(), 0);
      // Focus goes to the application's title, whose status tag now says where it is.
      await page.waitForFunction((title) => document.activeElement && document.activeElement.id === title, `application-${id}-title`, { timeout: 15_000 });
      const announced = await page.textContent('#status-announcer');
      assert.ok([m['status.paid'], m['status.issued']].some((s) => announced.includes(s)), announced);
      await page.waitForSelector(`${card(id)} [data-status-tag="issued"]`, { timeout: 60_000 });
      await waitUntilIssued(applicant);
    });

    assert.deepEqual(consoleErrors, [], 'no console errors or CSP violations');
  } finally {
    await context.close();
  }
});
