// The migration service's console (/officer) in a real browser: a new
// officer made by `visa-local officer add` signs in with the password and
// the authenticator's code (a wrong code first), records an invitation,
// watches the applicant's application reach "issued", cancels the visa on a
// second, confirming screen (border control's API then says `cancelled`,
// and the holder is emailed), reads the audit trail with their own name on
// each step, and restores the visa (it verifies again). The refusals: a
// wrong code, cancelling a visa another screen already cancelled, and an
// auditor, who sees no action and whose own call is refused. axe-core runs
// on every state, in English, Russian and Kazakh.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import {
  LANGS, MESSAGES, startGateway, launchBrowser, issueVisaThroughApi, inspect, watchConsole, ready, chooseLanguage, addStaff, totp, callApi, isoDay, createInvitation, messagesTo, waitFor,
} from './harness.js';

let gateway;
let browser;

const WEBHOOK_SECRET = `whsec_officer_${Date.now()}`;

before(async () => {
  gateway = await startGateway({ env: { PAYMENT_WEBHOOK_SECRET: WEBHOOK_SECRET } });
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (gateway) await gateway.stop();
});

/** The applicant confirms their address from the link in the outbox (a
 *  visa, and news of it, go only to a confirmed address). */
async function confirmAddress(email) {
  const text = await waitFor(`a confirmation link to ${email}`, () => messagesTo(gateway, email).find((m) => /\/confirm-email#/.test(m)));
  const token = /\/confirm-email#(\S+)/.exec(text)[1];
  const res = await callApi(gateway.baseUrl, 'POST', '/email-verifications/confirmation', { body: { token } });
  assert.equal(res.status, 204, JSON.stringify(res.body));
}

/** Signs in on the console with the password, then `code`. */
async function signIn(page, email, password, code) {
  await page.fill('#staff-email', email);
  await page.fill('#staff-password', password);
  await page.click('#password-form button[type="submit"]');
  await page.waitForSelector('#code-form:not([hidden])');
  await page.fill('#staff-code', code);
  await page.click('#code-form button[type="submit"]');
}

async function verification(visa) {
  return callApi(gateway.baseUrl, 'GET', `/visas/${visa.visaNumber}/verification?passport_number=${visa.passportNumber}`);
}

test('an officer signs in, records an invitation, cancels and restores the visa issued on it (en)', { skip: gateway && gateway.external }, async () => {
  const m = MESSAGES.en;
  const email = `aigerim.${Date.now()}@migration.kz`;
  const { password, secret } = addStaff(gateway, email, 'officer', 'Aigerim Sadykova');
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const errors = watchConsole(page);
    await page.goto(`${gateway.baseUrl}/officer/`);
    await ready(page);
    await page.waitForSelector('#sign-in-view:not([hidden])');
    await inspect(page, 'en-officer-sign-in');

    // A wrong code: refused, and the sign-in starts again from the password.
    const right = totp(secret);
    await signIn(page, email, password, right === '000000' ? '111111' : '000000');
    await page.waitForSelector('[data-error-summary]');
    assert.ok((await page.textContent('[data-error-summary]')).includes(m['problem.wrong-code']));
    await page.waitForSelector('#password-form:not([hidden])');
    await inspect(page, 'en-officer-wrong-code');
    // The wrong code took nothing: the right one of this step works.
    await signIn(page, email, password, totp(secret));
    await page.waitForSelector('#workplace:not([hidden])');
    assert.match(await page.textContent('#signed-in-as'), /Aigerim Sadykova/);
    assert.equal(await page.getAttribute('#signed-in-as', 'data-role'), 'officer');
    assert.ok(await page.isHidden('[data-tab="border"]'), 'border control\'s tab is border control\'s');

    // An invitation, recorded through the form.
    await page.click('[data-tab="invitations"]');
    await page.waitForSelector('#invitations-view:not([hidden])');
    const passportNumber = `N${String(Date.now()).slice(-7)}`;
    await page.selectOption('#inv-category', 'tourist');
    await page.fill('#inv-inviter-name', 'Kazakh Tourism JSC');
    await page.fill('#inv-inviter-bin', '123456789012');
    await page.fill('#inv-surname', 'NURLANOVA');
    await page.fill('#inv-given', 'DANA');
    await page.fill('#inv-nationality', 'IND');
    await page.fill('#inv-dob', '1991-06-15');
    await page.fill('#inv-passport', passportNumber);
    await page.fill('#inv-from', isoDay(14));
    await page.fill('#inv-until', isoDay(40));
    await page.click('#invitation-form button[type="submit"]');
    await page.waitForSelector('[data-notice="success"]');
    const number = await page.getAttribute('[data-invitation]', 'data-invitation');
    assert.match(number, /^\d{12}$/);
    assert.equal(await page.getAttribute('[data-invitation] [data-status]', 'data-status'), 'approved');
    await inspect(page, 'en-officer-invitation-created');

    // Another invitation, found by its inviting party's BIN among others,
    // revoked with a reason on the confirming screen.
    const other = await createInvitation(gateway, { inviter: { name: 'Astana Steel LLP', bin: '990340001234' } });
    await page.fill('#lookup-q', '990340001234');
    await page.click('#invitation-lookup-form button[type="submit"]');
    await page.waitForSelector(`[data-invitation-row="${other.number}"]`);
    await page.waitForSelector(`[data-invitation="${other.number}"]`);
    await page.click('[data-action="revoke"]');
    await page.fill('#revoke-reason', 'The inviting party withdrew it');
    await page.click('#revoke-form button[type="submit"]');
    await page.waitForSelector('[data-check="revoke"]');
    await inspect(page, 'en-officer-confirm-revoke');
    await page.click('[data-confirm="revoke"]');
    await page.waitForSelector(`[data-invitation="${other.number}"] [data-status="revoked"]`);

    // The applicant applies on it and pays; the visa is issued.
    const invitation = {
      number,
      invitee: { surname: 'NURLANOVA', given_names: 'DANA', nationality: 'IND', date_of_birth: '1991-06-15', passport_number: passportNumber },
    };
    const visa = await issueVisaThroughApi(gateway, 'officer-en', { invitation });
    await confirmAddress(visa.email);

    // Found by passport number; its record shows the whole way to issued.
    await page.click('[data-tab="applications"]');
    await page.fill('#search-q', passportNumber.toLowerCase());
    await page.click('#search-form button[type="submit"]');
    await page.waitForSelector(`[data-application="${visa.id}"] [data-status="issued"]`);
    await inspect(page, 'en-officer-search');
    await page.click(`[data-application="${visa.id}"] a`);
    await page.waitForSelector('#record [data-timeline] [data-event="issued"]');
    const events = await page.$$eval('#record [data-event]', (nodes) => nodes.map((n) => n.getAttribute('data-event')));
    assert.deepEqual(events.slice(0, 4), ['applied', 'confirmed', 'paid', 'issued']);
    await inspect(page, 'en-officer-record');

    // A second tab on the same record (as a link opened in a new tab, it
    // starts with this tab's session), left open: it will be stale.
    const stale = await context.newPage();
    const kept = await page.evaluate(() => sessionStorage.getItem('visa.staff'));
    await stale.addInitScript((value) => sessionStorage.setItem('visa.staff', value), kept);
    await stale.goto(`${gateway.baseUrl}/officer#application/${visa.id}`);
    await ready(stale);
    await stale.waitForSelector('[data-action="cancel"]');

    // Cancel: a reason, then the second screen, then confirm.
    await page.click('[data-action="cancel"]');
    await page.click('#action-form button[type="submit"]');
    await page.waitForSelector('#action-form [data-error-message]');
    await page.fill('#action-reason', 'The host withdrew the invitation');
    await page.click('#action-form button[type="submit"]');
    await page.waitForSelector('[data-check="cancel"]');
    assert.ok((await page.textContent('[data-check="cancel"]')).includes('The host withdrew the invitation'));
    assert.equal(await verification(visa).then((r) => r.body.status), 'not_yet_valid', 'nothing changes before the confirmation');
    await inspect(page, 'en-officer-confirm-cancel');
    await page.click('[data-confirm="cancel"]');
    await page.waitForSelector('[data-notice="success"]');
    await page.waitForSelector('#record [data-standing="cancelled"]');
    assert.equal(await page.locator('[data-action="cancel"]').count(), 0);
    assert.equal(await page.locator('[data-action="restore"]').count(), 1);
    await inspect(page, 'en-officer-cancelled');

    // Border control's API says cancelled; the holder is emailed (no reason).
    const checked = await verification(visa);
    assert.equal(checked.body.status, 'cancelled');
    assert.equal(checked.body.valid, false);
    // And border control's verify page says so.
    const border = await context.newPage();
    await border.goto(`${gateway.baseUrl}/verify`);
    await ready(border);
    await border.fill('#visa-number', visa.visaNumber);
    await border.fill('#verify-passport-number', visa.passportNumber);
    await border.click('#verify-form button[type="submit"]');
    await border.waitForSelector('#manual-result[data-status="cancelled"] [data-verdict="invalid"]');
    await border.close();
    const mail = await waitFor('the holder\'s email of the cancellation', () => messagesTo(gateway, visa.email).find((t) => /has cancelled your e-visa/.test(t)));
    assert.ok(!mail.includes('withdrew'), 'the reason is not the holder\'s');

    // The stale screen tries to cancel it again: refused, nothing changes.
    await stale.click('[data-action="cancel"]');
    await stale.fill('#action-reason', 'a second officer, a moment later');
    await stale.click('#action-form button[type="submit"]');
    await stale.click('[data-confirm="cancel"]');
    await stale.waitForSelector('[data-notice="info"]');
    assert.ok((await stale.textContent('[data-notice="info"]')).includes(m['officer.refused.invalid-state']));
    await stale.waitForSelector('#record [data-standing="cancelled"]');
    await inspect(stale, 'en-officer-cancel-refused');
    await stale.close();

    // Restored: it verifies again.
    await page.click('[data-action="restore"]');
    await page.fill('#action-reason', 'The appeal was upheld');
    await page.click('#action-form button[type="submit"]');
    await page.click('[data-confirm="restore"]');
    await page.waitForSelector('#record [data-standing="not_yet_valid"]');
    assert.equal((await verification(visa)).body.status, 'not_yet_valid');

    // The audit trail: each step under the officer's name.
    await page.click('[data-tab="audit"]');
    await page.click('#audit-form button[type="submit"]');
    await page.waitForSelector('#audit-result [data-events]');
    const rows = await page.$$eval('#audit-result tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
    const mine = (action) => rows.filter((r) => r[2] === action && r[1].includes(`Aigerim Sadykova <${email}>`));
    for (const action of ['sign_in_refused', 'signed_in', 'invitation_created', 'visa_cancelled', 'visa_restored']) {
      if (action === 'sign_in_refused') {
        assert.ok(rows.some((r) => r[2] === action && r[1].includes(email)), `${action} in ${JSON.stringify(rows)}`);
      } else {
        assert.ok(mine(action).length >= 1, `${action} by the officer in ${JSON.stringify(rows)}`);
      }
    }
    assert.ok(mine('visa_cancelled')[0][4].includes('The host withdrew the invitation'));
    assert.ok(await page.getAttribute('[data-download-csv]', 'href'));
    await inspect(page, 'en-officer-audit');

    // Signing out forgets the token.
    await page.click('#staff-sign-out');
    await page.waitForSelector('#sign-in-view:not([hidden])');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('visa.staff')), null);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

/** The payment provider's dispute of the application's payment, signed. */
async function dispute(applicationId) {
  const body = JSON.stringify({
    id: `evt_dispute_${Date.now()}`, type: 'charge.dispute.created',
    data: { object: { object: 'dispute', metadata: { application_id: applicationId } } },
  });
  const t = Math.floor(Date.now() / 1000);
  const v1 = createHmac('sha256', WEBHOOK_SECRET).update(`${t}.${body}`).digest('hex');
  const res = await fetch(`${gateway.baseUrl}/api/webhooks/payment`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', 'Stripe-Signature': `t=${t},v1=${v1}` }, body,
  });
  assert.equal(res.status, 200, await res.text());
}

test('an officer decides a disputed payment from the queue (en)', { skip: gateway && gateway.external }, async () => {
  const visa = await issueVisaThroughApi(gateway, 'dispute-en');
  await dispute(visa.id);
  assert.equal((await verification(visa)).body.status, 'under_review');
  const email = `dana.${Date.now()}@migration.kz`;
  const { password, secret } = addStaff(gateway, email, 'officer', 'Dana Omarova');
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const errors = watchConsole(page);
    await page.goto(`${gateway.baseUrl}/officer#reviews`);
    await ready(page);
    await signIn(page, email, password, totp(secret));
    await page.waitForSelector(`#review-queue [data-application="${visa.id}"]`);
    await inspect(page, 'en-officer-reviews');
    await page.click(`#review-queue [data-application="${visa.id}"] a`);
    await page.waitForSelector('#record [data-standing="under_review"]');
    assert.equal(await page.locator('[data-action="cancel"]').count(), 0, 'a held visa is decided, not changed');
    await page.click('[data-action="keep"]');
    await page.fill('#action-reason', 'The bank upheld the payment');
    await page.click('#action-form button[type="submit"]');
    await page.waitForSelector('[data-check="keep"]');
    await inspect(page, 'en-officer-confirm-keep');
    await page.click('[data-confirm="keep"]');
    await page.waitForSelector('#record [data-standing="not_yet_valid"]');
    assert.equal((await verification(visa)).body.status, 'not_yet_valid');
    await page.click('[data-tab="reviews"]');
    await page.waitForSelector('#review-queue [data-results="0"]');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

/** An ISO date `days` from today in Kazakhstan (UTC+5), the portal's day. */
function kzDay(days) {
  return new Date(Date.now() + 5 * 3_600_000 + days * 86_400_000).toISOString().slice(0, 10);
}

test('border control records an entry, refuses a second, records the exit (en)', { skip: gateway && gateway.external }, async () => {
  const m = MESSAGES.en;
  const invitation = await createInvitation(gateway, { valid_from: kzDay(0), valid_until: kzDay(20) });
  const visa = await issueVisaThroughApi(gateway, 'border-en', { invitation });
  assert.equal((await verification(visa)).body.status, 'issued');
  const email = `serik.${Date.now()}@migration.kz`;
  const { password, secret } = addStaff(gateway, email, 'border', 'Serik Abenov');
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const errors = watchConsole(page);
    await page.goto(`${gateway.baseUrl}/officer#border`);
    await ready(page);
    await signIn(page, email, password, totp(secret));
    await page.waitForSelector('#border-view:not([hidden])');
    assert.equal(await page.getAttribute('#signed-in-as', 'data-role'), 'border');
    await page.fill('#border-visa', visa.visaNumber);
    await page.fill('#border-passport', visa.passportNumber);
    await page.selectOption('#border-checkpoint', 'NQZ');
    await page.click('#border-form button[type="submit"]');
    await page.waitForSelector(`[data-crossing="${visa.visaNumber}"] [data-standing="issued"]`);
    await inspect(page, 'en-border-check');
    await page.click('[data-record="entry"]');
    await page.waitForSelector('[data-notice="success"]');
    await page.waitForSelector('[data-crossing] [data-standing="entered"]');
    assert.equal((await verification(visa)).body.status, 'entered');
    // Twice: refused, and the notice says why.
    await page.click('[data-record="entry"]');
    await page.waitForSelector('[data-notice="info"]');
    assert.ok((await page.textContent('[data-notice="info"]')).includes(m['problem.visa-already-entered']));
    await inspect(page, 'en-border-refused');
    await page.selectOption('#border-checkpoint', 'ALA');
    await page.click('[data-record="exit"]');
    await page.waitForSelector('[data-crossing] [data-standing="used"]');
    const used = await verification(visa);
    assert.equal(used.body.status, 'used');
    assert.equal(used.body.valid, false);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

for (const lang of LANGS) {
  test(`an auditor reads an application and changes nothing (${lang})`, { skip: gateway && gateway.external }, async () => {
    const m = MESSAGES[lang];
    const visa = await issueVisaThroughApi(gateway, `auditor-${lang}`);
    const email = `bolat.${lang}.${Date.now()}@migration.kz`;
    const { password, secret } = addStaff(gateway, email, 'auditor', 'Bolat Nurlanov');
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const errors = watchConsole(page);
      await page.goto(`${gateway.baseUrl}/officer`);
      await ready(page);
      await chooseLanguage(page, lang);
      await page.waitForSelector('#sign-in-view:not([hidden])');
      assert.equal(await page.textContent('#sign-in-title'), m['officer.sign_in.heading']);
      await inspect(page, `${lang}-auditor-sign-in`);
      await signIn(page, email, password, totp(secret));
      await page.waitForSelector('#workplace:not([hidden])');
      assert.equal(await page.getAttribute('#signed-in-as', 'data-role'), 'auditor');
      assert.ok(await page.isHidden('#invitation-form'), 'an auditor records no invitation');

      await page.fill('#search-q', visa.visaNumber);
      await page.selectOption('#search-status', 'issued');
      await page.click('#search-form button[type="submit"]');
      await page.waitForSelector(`[data-application="${visa.id}"]`);
      await inspect(page, `${lang}-auditor-search`);
      await page.click(`[data-application="${visa.id}"] a`);
      await page.waitForSelector('#record [data-timeline]');
      assert.equal(await page.locator('#visa-actions [data-action]').count(), 0, 'an auditor is offered no change');
      await inspect(page, `${lang}-auditor-record`);

      // Trying anyway, with the console's own token: refused, nothing changes.
      const refused = await page.evaluate(async (number) => {
        const { token } = JSON.parse(sessionStorage.getItem('visa.staff'));
        const res = await fetch(`/api/officer/visas/${number}/cancellation`, {
          method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` }, body: JSON.stringify({ reason: 'just looking' }),
        });
        return { status: res.status, body: await res.json() };
      }, visa.visaNumber);
      assert.equal(refused.status, 403);
      assert.equal(refused.body.type, '/problems/forbidden');
      assert.equal((await verification(visa)).body.status, 'not_yet_valid');

      await page.click('[data-tab="audit"]');
      await page.click('#audit-form button[type="submit"]');
      await page.waitForSelector('#audit-result [data-events]');
      await inspect(page, `${lang}-auditor-audit`);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
}
