// The applicant's whole journey in a real browser, in each language:
// account, sign in, the two error paths (unknown invitation, passport that
// expires too soon), check your answers with the MRZ preview, pay on the
// sandbox checkout, wait for the visa, download the PDF; then the cabinet,
// border control's check and signing out. axe-core runs on every page of
// the site at 1280 and 360 px, and each page is photographed at both widths.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  LANGS, MESSAGES, REPO_ROOT, startGateway, launchBrowser, createInvitation, uniqueEmail,
  ready, inspect, screenshots, watchConsole, isoDay,
} from './harness.js';
import { visaUrlFromPdf } from './qr.js';

let gateway;
let browser;

before(async () => {
  gateway = await startGateway();
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (gateway) await gateway.stop();
});

// ICAO Doc 9303 Part 3, 4.9, written again here so the test does not
// check the site's MRZ code against itself.
function checkDigit(s) {
  const value = (c) => (c === '<' ? 0 : /\d/.test(c) ? Number(c) : c.charCodeAt(0) - 55);
  return String([...s].reduce((sum, c, i) => sum + value(c) * [7, 3, 1][i % 3], 0) % 10);
}
const yymmdd = (iso) => iso.slice(2).replace(/-/g, '');
const PASSWORD = 'correct horse battery staple';

async function fillDate(page, base, iso) {
  const [y, m, d] = iso.split('-');
  await page.fill(`#${base}-day`, String(Number(d)));
  await page.fill(`#${base}-month`, String(Number(m)));
  await page.fill(`#${base}-year`, y);
}

async function fillApplication(page, invitation, { invitationNumber, expiry }) {
  await page.fill('#invitation-number', invitationNumber);
  await page.fill('#passport-number', invitation.invitee.passport_number.toLowerCase());
  // Case and spacing do not matter to the match (docs/API.md).
  await page.fill('#passport-surname', 'Sharma');
  await page.fill('#passport-given-names', 'Priya  Anil');
  await page.check('#passport-sex');
  await fillDate(page, 'passport-dob', invitation.invitee.date_of_birth);
  await page.selectOption('#passport-nationality', invitation.invitee.nationality);
  await page.selectOption('#passport-issuing-state', invitation.invitee.nationality);
  await fillDate(page, 'passport-expiry', expiry);
  await page.check('#declarations-two-blank-pages');
  await page.check('#declarations-passport-undamaged');
}

async function submit(page, formSelector) {
  await page.click(`${formSelector} button[type="submit"]`);
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

for (const lang of LANGS) {
  test(`the applicant's journey in ${lang}`, { timeout: 600_000 }, async (t) => {
    const m = MESSAGES[lang];
    const shot = (name) => `${lang}-${name}`;
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    const page = await context.newPage();
    const consoleErrors = watchConsole(page);
    const invitation = await createInvitation(gateway);
    const email = uniqueEmail(lang);
    let applicationId;
    let visaNumber;

    const expectLanguage = async () => {
      assert.equal(await page.getAttribute('html', 'lang'), lang);
    };

    try {
      await t.test('start page: rules, countries and fees, in the chosen language', async () => {
        await page.goto(`${gateway.baseUrl}/`);
        await ready(page);
        await page.click(`.language-switcher button[data-lang="${lang}"]`);
        await page.waitForFunction((l) => document.documentElement.lang === l, lang);
        assert.equal((await page.textContent('h1')).trim(), m['start.heading']);
        assert.equal(await page.getAttribute(`.language-switcher button[data-lang="${lang}"]`, 'aria-current'), 'true');
        await page.waitForSelector('#countries details');
        assert.match(await page.textContent('#fees'), /60/);
        // Quick eligibility check: India, tourist.
        await page.selectOption('#nationality', 'IND');
        await page.check('#category-tourist');
        await submit(page, '#eligibility');
        await page.waitForSelector('[data-eligibility="eligible"]');
        await inspect(page, shot('start'));
      });

      await t.test('create an account (with the error summary on an empty form)', async () => {
        await page.click('a[data-start]');
        await page.waitForURL(/\/register/);
        await ready(page);
        await expectLanguage();
        await submit(page, '#register-form');
        assert.ok((await summaryText(page)).includes(m['missing.email']));
        assert.ok((await errorNextTo(page, 'password')).includes(m['missing.password']));
        assert.ok((await page.title()).startsWith(m['title.error'].split('{title}')[0]));
        // The summary takes focus so screen readers announce it.
        assert.equal(await page.evaluate(() => document.activeElement.hasAttribute('data-error-summary')), true);
        await inspect(page, shot('register-errors'));
        await page.fill('#email', email);
        await page.fill('#password', PASSWORD);
        await submit(page, '#register-form');
        await page.waitForURL(/\/sign-in/);
      });

      await t.test('sign in', async () => {
        await ready(page);
        await expectLanguage();
        assert.equal(await page.inputValue('#email'), email);
        await page.waitForSelector('.banner--success');
        await inspect(page, shot('sign-in'));
        await page.fill('#password', PASSWORD);
        await submit(page, '#sign-in-form');
        await page.waitForURL(/\/apply$/);
        await ready(page);
        await expectLanguage();
        await inspect(page, shot('apply'));
      });

      await t.test('an unknown invitation number is reported next to its field', async () => {
        await fillApplication(page, invitation, { invitationNumber: '999999999999', expiry: isoDay(3 * 365) });
        await submit(page, '#apply-form');
        assert.ok((await errorNextTo(page, 'invitation_number')).includes(m['problem.invitation-not-found']));
        assert.ok((await summaryText(page)).includes(m['problem.invitation-not-found']));
        assert.equal(await page.getAttribute('[data-error-summary] a', 'href'), '#invitation-number');
        assert.equal(await page.getAttribute('#invitation-number', 'aria-invalid'), 'true');
        await inspect(page, shot('apply-invitation-not-found'));
      });

      await t.test('an expired passport is reported next to the expiry date', async () => {
        await fillApplication(page, invitation, { invitationNumber: invitation.number, expiry: isoDay(-1) });
        await submit(page, '#apply-form');
        assert.ok((await errorNextTo(page, 'passport.expiry_date')).includes(m['problem.passport-expires-too-soon']));
        assert.equal(await page.locator('[data-field="invitation_number"] [data-error-message]').count(), 0);
        // The summary links to the field and moves focus there.
        await page.click('[data-error-summary] a');
        assert.equal(await page.evaluate(() => document.activeElement.id), 'passport-expiry-day');
        await inspect(page, shot('apply-passport-expires-too-soon'));
      });

      await t.test('a valid application goes on to check your answers', async () => {
        await fillApplication(page, invitation, { invitationNumber: invitation.number, expiry: isoDay(3 * 365) });
        await submit(page, '#apply-form');
        await page.waitForURL(/\/check\?application=/);
        applicationId = new URL(page.url()).searchParams.get('application');
        assert.ok(applicationId);
      });

      await t.test('check your answers shows the visa data and the MRZ preview', async () => {
        await ready(page);
        await expectLanguage();
        assert.equal((await page.textContent('[data-answer="surname"]')).trim(), 'SHARMA');
        assert.equal((await page.textContent('[data-answer="given_names"]')).trim(), 'PRIYA ANIL');
        assert.equal((await page.textContent('[data-answer="passport_number"]')).trim(), invitation.invitee.passport_number);
        assert.equal((await page.textContent('[data-answer="category"]')).trim(), m['category.tourist_visa']);
        const line1 = (await page.textContent('[data-mrz-line="1"]'));
        const line2 = (await page.textContent('[data-mrz-line="2"]'));
        assert.equal(line1, 'V<KAZSHARMA<<PRIYA<ANIL'.padEnd(36, '<'));
        const dob = yymmdd(invitation.invitee.date_of_birth);
        const until = yymmdd(invitation.valid_until);
        assert.equal(line2, `<<<<<<<<<${checkDigit('<<<<<<<<<')}IND${dob}${checkDigit(dob)}F${until}${checkDigit(until)}<<<<<<<<`);
        assert.equal(line2.length, 36);
        await inspect(page, shot('check'));
        // Paying without confirming the match is refused.
        await submit(page, '#confirm-form');
        assert.ok((await errorNextTo(page, 'details_match_passport')).includes(m['missing.details_match_passport']));
        await inspect(page, shot('check-errors'));
      });

      await t.test('cancelling on the sandbox checkout comes back to check your answers', async () => {
        await page.check('#details-match-passport');
        await submit(page, '#confirm-form');
        await page.waitForURL(/\/sandbox\/checkout\//);
        await screenshots(page, shot('sandbox-checkout'));
        await page.getByRole('button', { name: 'Cancel' }).or(page.getByRole('link', { name: 'Cancel' })).first().click();
        await page.waitForURL(/\/check\?application=.*cancelled=1/);
        await ready(page);
        await page.waitForSelector('[data-notice="cancelled"]');
        assert.ok((await page.textContent('[data-notice="cancelled"]')).includes(m['check.cancelled_body']));
        await inspect(page, shot('check-cancelled'));
      });

      await t.test('confirming again opens the checkout; Pay comes back to the site', async () => {
        await page.check('#details-match-passport');
        await submit(page, '#confirm-form');
        await page.waitForURL(/\/sandbox\/checkout\//);
        await page.getByRole('button', { name: 'Pay' }).click();
        await page.waitForURL(/\/payment-return\?application=/);
        assert.equal(new URL(page.url()).searchParams.get('application'), applicationId);
        await ready(page);
        await expectLanguage();
      });

      await t.test('the visa is issued and its PDF downloads', async () => {
        // The webhook marks it paid, the renderer issues it "within seconds" (docs/API.md).
        await page.waitForSelector('#progress[data-status="paid"], #progress[data-status="issued"]', { timeout: 30_000 })
          .catch(async () => assert.fail(`not paid after the sandbox's Pay: status ${await page.getAttribute('#progress', 'data-status')}`));
        if (!(await page.$('[data-issued]'))) await inspect(page, shot('payment-return-waiting'));
        await page.waitForSelector('[data-issued]', { timeout: 60_000 })
          .catch(async () => assert.fail(`not issued within 60 s of payment: status ${await page.getAttribute('#progress', 'data-status')}`));
        visaNumber = (await page.textContent('[data-visa-number]')).trim();
        assert.match(visaNumber, /^[A-Z0-9]{9}$/);
        assert.equal((await page.textContent('#status-heading')).trim(), m['payment_return.issued_heading']);
        await inspect(page, shot('payment-return'));
        const [download] = await Promise.all([
          page.waitForEvent('download', { timeout: 30_000 }),
          page.click('[data-download]'),
        ]);
        const file = await download.path();
        const bytes = readFileSync(file);
        assert.equal(bytes.subarray(0, 5).toString('latin1'), '%PDF-');
        const keep = join(REPO_ROOT, 'target', 'screenshots');
        mkdirSync(keep, { recursive: true });
        copyFileSync(file, join(keep, `${lang}-e-visa.pdf`));

        // Border control's path: the QR code's URL, verified in the browser
        // against the gateway's real JWKS (pdftoppm and zbarimg read it).
        const url = visaUrlFromPdf(file);
        const verifyUrl = new URL(url);
        await page.goto(`${gateway.baseUrl}${verifyUrl.pathname}${verifyUrl.hash}`);
        await ready(page);
        await page.waitForSelector('[data-verdict]');
        // The visa is genuine; it comes into force on the invitation's first day (14 days ahead).
        assert.equal(await page.getAttribute('#token-result', 'data-signature'), 'valid');
        assert.equal((await page.textContent('[data-holder="visa_number"]')).trim(), visaNumber);
        assert.equal((await page.textContent('[data-holder="passport_number"]')).trim(), invitation.invitee.passport_number);
        await inspect(page, shot('verify-qr'));
      });

      await t.test('the cabinet lists the application with its status', async () => {
        await page.goto(`${gateway.baseUrl}/cabinet`);
        await ready(page);
        await expectLanguage();
        const tag = `[data-application="${applicationId}"] [data-status-tag]`;
        await page.waitForSelector(tag);
        if (visaNumber) {
          await page.waitForSelector(`[data-application="${applicationId}"] [data-status-tag="issued"]`);
          assert.equal((await page.textContent(tag)).trim(), m['status.issued']);
        }
        await inspect(page, shot('cabinet'));
      });

      await t.test('border control checks the visa by number', async (st) => {
        await page.goto(`${gateway.baseUrl}/verify`);
        await ready(page);
        await inspect(page, shot('verify'));
        if (!visaNumber) {
          st.skip('no visa was issued (see the step above)');
          return;
        }
        await page.fill('#visa-number', visaNumber);
        await page.fill('#verify-passport-number', invitation.invitee.passport_number);
        await submit(page, '#verify-form');
        await page.waitForSelector('#manual-result [data-verdict]');
        // Genuine and found, but its stay starts in 14 days: not valid yet,
        // and the page says from when.
        assert.equal(await page.getAttribute('#manual-result', 'data-status'), 'not_yet_valid');
        assert.equal(await page.getAttribute('#manual-result [data-verdict]', 'data-verdict'), 'invalid');
        assert.ok((await page.textContent('#manual-result')).includes(m['verify.standing.not_yet_valid'].split('{')[0]));
        await inspect(page, shot('verify-by-number'));
        // A passport number that does not go with the visa: no match.
        // (The verdict above is "invalid" too: wait for the new answer's words.)
        await page.fill('#verify-passport-number', 'X0000000');
        await submit(page, '#verify-form');
        await page.waitForFunction(
          (words) => (document.querySelector('#manual-result') || {}).textContent?.includes(words),
          m['verify.no_match_body'], { timeout: 10_000 },
        ).catch(async () => assert.fail(`no "no match" answer: ${await page.textContent('#manual-result')}`));
        assert.equal(await page.getAttribute('#manual-result [data-verdict]', 'data-verdict'), 'invalid');
      });

      await t.test('signing out ends the session', async () => {
        await page.goto(`${gateway.baseUrl}/cabinet`);
        await ready(page);
        await page.click('[data-sign-out]');
        await page.waitForURL(/\/sign-in\?reason=signed-out/);
        await page.goto(`${gateway.baseUrl}/cabinet`);
        await page.waitForURL(/\/sign-in/);
      });

      assert.deepEqual(consoleErrors, [], 'no console errors or CSP violations');
    } finally {
      await context.close();
    }
  });
}

test('an expired or forged session sends the applicant to sign in and back', { timeout: 120_000 }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto(`${gateway.baseUrl}/sign-in`);
    await ready(page);
    await page.evaluate(() => sessionStorage.setItem('visa.session', JSON.stringify({ token: 'forged', expires_at: '2999-01-01T00:00:00Z' })));
    await page.goto(`${gateway.baseUrl}/cabinet`);
    await page.waitForURL(/\/sign-in\?next=%2Fcabinet&reason=expired/);
    await ready(page);
    assert.ok((await page.textContent('#notice')).includes(MESSAGES.en['sign_in.expired_body']));
    assert.equal(await page.evaluate(() => sessionStorage.getItem('visa.session')), null);
  } finally {
    await context.close();
  }
});

test('keyboard only: skip link, a form filled and sent without a mouse, the error summary', { timeout: 120_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const m = MESSAGES.en;
  try {
    await page.goto(`${gateway.baseUrl}/sign-in`);
    await ready(page);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.className), 'skip-link');
    // The focused skip link is visible (it sits off-screen until focused).
    const box = await page.locator('.skip-link').boundingBox();
    assert.ok(box && box.x >= 0 && box.width > 0);
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'main');
    // From main, the first field of the form is reached by Tab.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'email');
    await page.keyboard.type('nobody@example.com');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'password');
    await page.keyboard.type('wrong password here');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-error-summary]');
    assert.equal(await page.evaluate(() => document.activeElement.hasAttribute('data-error-summary')), true);
    assert.ok((await page.textContent('[data-error-summary]')).includes(m['problem.invalid-credentials']));
    // Tab reaches the summary's link; Enter takes focus to the field.
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'email');
    // Focus is visible: the focused input has an outline.
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(outline, 'none');
  } finally {
    await context.close();
  }
});
