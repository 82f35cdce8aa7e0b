// "Get your e-visa again" in a real browser, in each language: a visa
// issued through the API (invitation, account, application, confirmation,
// the sandbox checkout's Pay, then issued), and then, on another device
// with no session, from sign in's link to /retrieve: what the page refuses
// itself, the three details giving the success panel whose link is the PDF,
// and each single wrong detail getting the very same message, naming no
// field. Then, once in English: a link that has lapsed is renewed on
// click, a 422 from the API is shown at its field, and the per-client limit
// (429) has its own message. axe-core runs on each state at 1280 and 360 px.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  LANGS, MESSAGES, startGateway, launchBrowser, issueVisaThroughApi, ready, inspect, watchConsole, callApi, chooseLanguage,
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

const RETRIEVALS = '/api/visa-retrievals';


/** An issued visa's three details, as its holder types them. */
async function issuedVisa(tag) {
  const visa = await issueVisaThroughApi(gateway, `retrieve-${tag}`);
  return { visaNumber: visa.visaNumber, passportNumber: visa.passportNumber, dateOfBirth: visa.dateOfBirth };
}

async function fillDetails(page, { visaNumber, passportNumber, dateOfBirth }) {
  await page.fill('#visa-number', visaNumber);
  await page.fill('#passport-number', passportNumber);
  const [y, m, d] = dateOfBirth.split('-');
  await page.fill('#dob-day', String(Number(d)));
  await page.fill('#dob-month', String(Number(m)));
  await page.fill('#dob-year', y);
}

/** Sends the form and waits until the page has shown the answer (the button is enabled again). */
async function send(page, { asks = true } = {}) {
  const answered = asks
    ? page.waitForResponse((r) => new URL(r.url()).pathname === RETRIEVALS && r.request().method() === 'POST')
    : null;
  await page.click('#retrieve-form button[type="submit"]');
  if (answered) await answered;
  await page.waitForSelector('#retrieve-form button[type="submit"]:not([disabled])', { state: 'attached' });
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

/** Fetches a download link as a browser on any device would: its bytes must be a PDF. */
async function expectPdfAt(href) {
  const res = await fetch(new URL(href, gateway.baseUrl));
  assert.equal(res.status, 200, `GET ${href}`);
  assert.match(res.headers.get('content-type') || '', /application\/pdf/);
  const bytes = Buffer.from(await res.arrayBuffer());
  assert.equal(bytes.subarray(0, 5).toString('latin1'), '%PDF-');
}

/** The same visa number with its last character changed: still 9 letters and digits. */
function otherVisaNumber(number) {
  return number.slice(0, 8) + (number[8] === 'Z' ? 'Y' : 'Z');
}

function dayAfter(iso) {
  const [y, m, d] = iso.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

for (const lang of LANGS) {
  test(`an e-visa is got again without signing in, in ${lang}`, { timeout: 300_000 }, async (t) => {
    const m = MESSAGES[lang];
    const shot = (name) => `${lang}-${name}`;
    const visa = await issuedVisa(lang);

    // Another device: a context of its own, no session in it.
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    const page = await context.newPage();
    const consoleErrors = watchConsole(page);

    try {
      await t.test('sign in links to the page, and so does every page\'s footer', async () => {
        await page.goto(`${gateway.baseUrl}/sign-in`);
        await ready(page);
        await chooseLanguage(page, lang);
        assert.equal((await page.textContent('footer a[href="/retrieve"]')).trim(), m['footer.retrieve']);
        const link = page.locator('main a[href="/retrieve"]');
        assert.equal((await link.textContent()).trim(), m['sign_in.retrieve_link']);
        await link.click();
        await page.waitForURL(/\/retrieve$/);
        await ready(page);
        assert.equal(await page.getAttribute('html', 'lang'), lang);
        assert.equal(await page.evaluate(() => sessionStorage.getItem('visa.session')), null);
        assert.ok(await page.isVisible('.header__nav a[href="/sign-in"]'));
        assert.equal(await page.getAttribute('#main', 'data-shown'), 'ask');
        assert.equal((await page.textContent('[data-state="ask"] h1')).trim(), m['retrieve.heading']);
        assert.ok((await page.title()).startsWith(m['retrieve.title']));
        assert.equal(await page.isVisible('[data-state="found"]'), false);
        await inspect(page, shot('retrieve'));
      });

      await t.test('what can never match is refused on the page, at its field', async () => {
        await send(page, { asks: false });
        const summary = await summaryText(page);
        for (const key of ['missing.visa_number', 'missing.passport.number', 'missing.passport.date_of_birth']) {
          assert.ok(summary.includes(m[key]), `${key} in the summary`);
        }
        assert.equal(await summaryHasFocus(page), true);
        assert.ok((await page.title()).startsWith(m['title.error'].split('{title}')[0]));
        await inspect(page, shot('retrieve-errors'));

        await fillDetails(page, { visaNumber: 'K7Q4', passportNumber: 'Z12/345', dateOfBirth: '1990-02-31' });
        await send(page, { asks: false });
        assert.ok((await errorNextTo(page, 'visa_number')).includes(m['validation.visa_number']));
        assert.ok((await errorNextTo(page, 'passport_number')).includes(m['validation.passport_number']));
        assert.ok((await errorNextTo(page, 'date_of_birth')).includes(m['validation.date_of_birth']));
        assert.equal(await page.getAttribute('#dob-day', 'aria-invalid'), 'true');
        // The summary's first link takes focus to its field.
        await page.click('[data-error-summary] a');
        assert.equal(await page.evaluate(() => document.activeElement.id), 'visa-number');
      });

      await t.test('the three details, typed loosely, give the success panel and a link to the PDF', async () => {
        // Lower case and spaces do not matter.
        const spaced = visa.visaNumber.toLowerCase().replace(/(...)(?!$)/g, '$1 ');
        await fillDetails(page, { ...visa, visaNumber: spaced, passportNumber: ` ${visa.passportNumber.toLowerCase()} ` });
        await send(page);
        await page.waitForSelector('#main[data-shown="found"]');
        assert.equal(await page.evaluate(() => document.activeElement.matches('[data-state="found"] h1')), true);
        assert.equal((await page.textContent('[data-state="found"] h1')).trim(), m['retrieve.found_heading']);
        assert.ok((await page.title()).startsWith(m['retrieve.found_title']));
        assert.equal(await page.locator('[data-error-summary]').count(), 0);
        assert.equal(await page.isVisible('#retrieve-form'), false);
        assert.equal((await page.textContent('[data-visa-number]')).trim(), visa.visaNumber);

        // When the link stops working, in the page's language (about 5 minutes from now).
        const expiresAt = Date.parse(await page.getAttribute('#link-expiry', 'data-expires-at'));
        assert.ok(expiresAt > Date.now() + 60_000 && expiresAt < Date.now() + 10 * 60_000, `expires at ${new Date(expiresAt).toISOString()}`);
        const expiry = (await page.textContent('#link-expiry')).trim();
        assert.ok(expiry.startsWith(m['retrieve.link_expires'].split('{time}')[0]), expiry);
        assert.ok(!expiry.includes('{time}'));

        const link = page.locator('#download-link');
        assert.equal((await link.textContent()).trim(), m['visa.download']);
        assert.ok(await link.isVisible());
        const href = await link.getAttribute('href');
        await expectPdfAt(href);
        const [download] = await Promise.all([
          page.waitForEvent('download', { timeout: 30_000 }),
          link.click(),
        ]);
        assert.equal(readFileSync(await download.path()).subarray(0, 5).toString('latin1'), '%PDF-');
        await inspect(page, shot('retrieve-found'));
      });

      await t.test('each single wrong detail gets the very same answer, naming no field', async () => {
        await page.click('#another');
        await page.waitForSelector('#main[data-shown="ask"]');
        assert.equal(await page.evaluate(() => document.activeElement.matches('[data-state="ask"] h1')), true);
        assert.equal(await page.inputValue('#visa-number'), '');
        assert.equal(await page.isVisible('[data-state="found"]'), false);
        const misses = [
          { ...visa, visaNumber: otherVisaNumber(visa.visaNumber) },
          { ...visa, passportNumber: 'X0000000' },
          { ...visa, dateOfBirth: dayAfter(visa.dateOfBirth) },
        ];
        let first = null;
        for (const [i, details] of misses.entries()) {
          await fillDetails(page, details);
          await send(page);
          const summary = await summaryText(page);
          assert.ok(summary.includes(m['retrieve.not_found']), summary);
          assert.equal(await page.locator('[data-error-summary] li').count(), 1);
          assert.equal(await page.locator('[data-error-summary] a').count(), 0);
          assert.equal(await page.locator('#retrieve-form [data-error-message]').count(), 0);
          assert.equal(await page.locator('#retrieve-form [aria-invalid]').count(), 0);
          assert.equal(await page.locator('[role="alert"][data-error-summary]').count(), 1);
          assert.equal(await summaryHasFocus(page), true);
          assert.equal(await page.getAttribute('#main', 'data-shown'), 'ask');
          // What was typed stays, to be checked.
          assert.equal(await page.inputValue('#visa-number'), details.visaNumber);
          const text = await page.innerText('main');
          if (first === null) {
            first = text;
            await inspect(page, shot('retrieve-not-found'));
          } else {
            assert.equal(text, first, `miss ${i + 1} reads differently`);
          }
        }
      });

      assert.deepEqual(consoleErrors, [], 'no console errors or CSP violations');
    } finally {
      await context.close();
    }
  });
}

// Last in the file: once the limit is reached this client gets 429 for the rest of the hour.
test('once, in English: a lapsed link is renewed, an API field error, the per-client limit', { timeout: 300_000 }, async (t) => {
  const m = MESSAGES.en;
  const visa = await issuedVisa('once');
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const consoleErrors = watchConsole(page);

  try {
    await page.goto(`${gateway.baseUrl}/retrieve`);
    await ready(page);
    await chooseLanguage(page, 'en');

    await t.test('a click on a link that has lapsed gets a new one and the PDF', async () => {
      // The first answer comes back as if it were minutes old.
      let first = null;
      await page.route(`**${RETRIEVALS}`, async (route) => {
        const res = await route.fetch();
        first = await res.json();
        await route.fulfill({ response: res, json: { ...first, expires_at: new Date(Date.now() - 60_000).toISOString() } });
      }, { times: 1 });
      await fillDetails(page, visa);
      await send(page);
      await page.waitForSelector('#main[data-shown="found"]');
      const stale = await page.getAttribute('#download-link', 'href');
      assert.equal(new URL(stale, gateway.baseUrl).href, new URL(first.url, gateway.baseUrl).href);
      const [download] = await Promise.all([
        page.waitForEvent('download', { timeout: 30_000 }),
        page.waitForResponse((r) => new URL(r.url()).pathname === RETRIEVALS && r.status() === 200),
        page.click('#download-link'),
      ]);
      assert.equal(readFileSync(await download.path()).subarray(0, 5).toString('latin1'), '%PDF-');
      // Renewed: the shown expiry is in the future again. (The new href may
      // equal the old one when both links were signed in the same second.)
      await page.waitForFunction(() => Date.parse(document.getElementById('link-expiry')?.getAttribute('data-expires-at') || '') > Date.now());
      const renewed = Date.parse(await page.getAttribute('#link-expiry', 'data-expires-at'));
      assert.ok(renewed > Date.now(), 'the new link is in time');
      await expectPdfAt(await page.getAttribute('#download-link', 'href'));
      assert.equal(await page.locator('#download-problem [role="alert"]').count(), 0);
    });

    await t.test('a field error of the API (422) is shown at its field', async () => {
      await page.click('#another');
      await page.waitForSelector('#main[data-shown="ask"]');
      await page.route(`**${RETRIEVALS}`, (route) => route.fulfill({
        status: 422,
        contentType: 'application/problem+json',
        body: JSON.stringify({
          type: '/problems/validation', title: 'Invalid request', status: 422,
          errors: [{ field: 'date_of_birth', message: '"1990-02-30" is not a date as YYYY-MM-DD' }],
        }),
      }), { times: 1 });
      await fillDetails(page, visa);
      await send(page);
      assert.ok((await errorNextTo(page, 'date_of_birth')).includes(m['validation.date_of_birth']));
      assert.equal(await page.getAttribute('[data-error-summary] a', 'href'), '#dob-day');
      assert.equal(await page.getAttribute('#main', 'data-shown'), 'ask');
    });

    await t.test('after 20 misses from one client, even the right details get the limit\'s own message', async () => {
      let status = 0;
      for (let i = 0; i < 30 && status !== 429; i += 1) {
        const wrong = { visa_number: visa.visaNumber, passport_number: `X${String(i).padStart(7, '0')}`, date_of_birth: visa.dateOfBirth };
        status = (await api('POST', '/visa-retrievals', { body: wrong })).status;
        if (status !== 429) assert.equal(status, 404);
      }
      assert.equal(status, 429, 'no 429 within 30 misses');
      await fillDetails(page, visa);
      await send(page);
      const summary = await summaryText(page);
      assert.ok(summary.includes(m['retrieve.too_many']), summary);
      assert.ok(!summary.includes(m['retrieve.not_found']));
      assert.equal(await page.locator('#retrieve-form [data-error-message]').count(), 0);
      assert.equal(await page.getAttribute('#main', 'data-shown'), 'ask');
      await inspect(page, 'en-retrieve-too-many');
      // The message follows a change of language.
      for (const lang of ['ru', 'kk']) {
        await chooseLanguage(page, lang);
        assert.ok((await summaryText(page)).includes(MESSAGES[lang]['retrieve.too_many']));
      }
    });

    assert.deepEqual(consoleErrors, [], 'no console errors or CSP violations');
  } finally {
    await context.close();
  }
});
