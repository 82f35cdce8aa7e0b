// Families and groups (#23) in a real browser: one account applies for
// several people (each with their own invitation, passport and visa) and
// pays once for all of them. (a) A family of three: three invitations, one
// account (its address confirmed, so each visa is emailed), three
// applications; grouped from the cabinet's "Pay for several people
// together" (fewer than two ticked refused at the fieldset), the group's
// check page with three members' answers and MRZs and the total (3 x fee),
// one declaration (refused unticked), one sandbox checkout, the group's
// payment-return page until all three visas are issued, the cabinet
// showing the group paid with three downloads, and three visa emails in
// the outbox. (b) A member revoked: a group of three, an officer revokes
// one invitation (admin API), the check page's confirmation meets 409
// group-changed and names the person dropped and the new total (2 x fee)
// in an alert that takes focus; confirmed again, two are paid and issued
// (a member's own check page leads to the group's; the revoked one's says
// so and offers nothing to confirm).
// (c) axe-core on the cabinet with a group, an application revoked and
// two to choose from (and its form's error), the group's check page and
// its dropped alert, in en, ru and kk. (d) The group's check page without
// scripts: its heading and the notice that it needs JavaScript, no form
// or button on show.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import {
  LANGS, MESSAGES, startGateway, launchBrowser, createInvitation, uniqueEmail, ready, inspect, watchConsole, isoDay, callApi,
  signInToCabinet, TEST_PASSWORD, messagesTo, visaEmailsTo, waitFor, decodeHeader,
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

const FAMILY = [
  { surname: 'SHARMA', given_names: 'PRIYA ANIL', sex: 'F', date_of_birth: '1990-04-12' },
  { surname: 'SHARMA', given_names: 'ANIL KUMAR', sex: 'M', date_of_birth: '1987-09-30' },
  { surname: 'SHARMA', given_names: 'MEERA', sex: 'F', date_of_birth: '2015-01-20' },
  { surname: 'VERMA', given_names: 'ROHAN', sex: 'M', date_of_birth: '1992-06-03' },
  { surname: 'VERMA', given_names: 'ANJALI', sex: 'F', date_of_birth: '1994-11-11' },
  { surname: 'KAPOOR', given_names: 'DEV', sex: 'M', date_of_birth: '1980-02-29' },
];
const nameOf = (p) => `${p.surname} ${p.given_names}`;

let passportSeq = 0;
function passportNumber() {
  passportSeq += 1;
  return `F${String(Date.now() % 1e6).padStart(6, '0')}${passportSeq}`;
}

/** Confirms the address from the link in the outbox, as its owner would (each visa is then emailed). */
async function confirmAddress(email) {
  const text = await waitFor(`a confirmation link to ${email}`, () => messagesTo(gateway, email).find((m) => /\/confirm-email#/.test(m)));
  const token = /\/confirm-email#(\S+)/.exec(text)[1];
  const res = await api('POST', '/email-verifications/confirmation', { body: { token } });
  assert.equal(res.status, 204, JSON.stringify(res.body));
}

/**
 * One account with an application for each of `people` (each its own
 * invitation from the admin API): the account, its token, and each
 * application as created (id, fee, invitation number, person).
 */
async function household(tag, people) {
  const email = uniqueEmail(`group-${tag}`);
  assert.equal((await api('POST', '/accounts', { body: { email, password: TEST_PASSWORD } })).status, 201);
  await confirmAddress(email);
  const session = await api('POST', '/sessions', { body: { email, password: TEST_PASSWORD } });
  assert.equal(session.status, 201);
  const token = session.body.token;
  const apps = [];
  for (const person of people) {
    const number = passportNumber();
    const invitation = await createInvitation(gateway, {
      invitee: { surname: person.surname, given_names: person.given_names, nationality: 'IND', date_of_birth: person.date_of_birth, passport_number: number },
    });
    const created = await api('POST', '/applications', {
      token,
      body: {
        invitation_number: invitation.number,
        passport: {
          number, surname: person.surname, given_names: person.given_names, nationality: 'IND', sex: person.sex,
          date_of_birth: person.date_of_birth, issuing_state: 'IND', expiry_date: isoDay(3 * 365),
        },
        declarations: { two_blank_pages: true, passport_undamaged: true },
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    apps.push({ id: created.body.id, fee: created.body.fee, invitationNumber: invitation.number, passportNumber: number, person });
  }
  return { email, token, apps };
}

async function formGroupThroughApi(token, apps) {
  const res = await api('POST', '/groups', { token, body: { application_ids: apps.map((a) => a.id) } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(res.body.status, 'open');
  return res.body;
}

/** The migration service revokes an invitation (admin API), as an officer can before its checkout opens. */
async function revoke(invitationNumber) {
  const res = await fetch(`${gateway.baseUrl}/api/admin/invitations/${encodeURIComponent(invitationNumber)}`, {
    method: 'DELETE',
    headers: { Authorization: `Bearer ${gateway.adminToken}`, Accept: 'application/json' },
  });
  const text = await res.text();
  assert.ok(res.status >= 200 && res.status < 300, `DELETE /api/admin/invitations/${invitationNumber}: ${res.status} ${text}`);
}

/** Money as the page writes it, by the page's own formatMoney (i18n.js, in the page's language). */
async function money(page, amountMinor, currency) {
  return page.evaluate(async ({ amountMinor, currency }) => {
    const { formatMoney } = await import('/js/i18n.js');
    return formatMoney({ amount_minor: amountMinor, currency });
  }, { amountMinor, currency }).then((s) => s.replace(/\s+/g, ' '));
}

const text = async (locator) => ((await locator.textContent()) || '').replace(/\s+/g, ' ').trim();

/** The sandbox checkout's Pay, in the browser; back on the group's payment-return page. */
async function payOnSandbox(page, groupId) {
  await page.waitForURL(/\/sandbox\/checkout\//);
  await page.getByRole('button', { name: 'Pay' }).click();
  await page.waitForURL(/\/payment-return\?group=/);
  assert.equal(new URL(page.url()).searchParams.get('group'), groupId);
  await ready(page);
}

async function waitAllIssued(page, count) {
  await page.waitForSelector('#progress[data-status="issued"]', { timeout: 90_000 })
    .catch(async () => assert.fail(`not all issued within 90 s: ${await page.getAttribute('#progress', 'data-status')}`));
  assert.equal(await page.locator('[data-members] [data-member]').count(), count);
  const numbers = await page.locator('[data-members] [data-visa-number]').allTextContents();
  assert.equal(numbers.length, count);
  for (const n of numbers) assert.match(n.trim(), /^[A-Z0-9]{9}$/);
  return numbers.map((n) => n.trim());
}

test('a family of three applies from one account, pays once, and receives three visas', { timeout: 600_000 }, async (t) => {
  const m = MESSAGES.en;
  const family = await household('family', FAMILY.slice(0, 3));
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const consoleErrors = watchConsole(page);
  let groupId;
  try {
    await t.test('the cabinet offers to pay for the three together', async () => {
      await signInToCabinet(page, gateway, 'en', family.email);
      await page.waitForSelector('#group-new:not([hidden])');
      assert.equal(await page.locator('#group-choices input[type="checkbox"]').count(), 3);
      for (const app of family.apps) {
        const label = await text(page.locator(`label[for="group-choice-${app.id}"]`));
        assert.equal(label, m['group_form.choice'].replace('{name}', nameOf(app.person)).replace('{passport}', app.passportNumber));
      }
      // One ticked is not a group: refused at the fieldset, which keeps focus.
      await page.check(`#group-choice-${family.apps[0].id}`);
      await page.click('#group-submit');
      const error = page.locator('[data-field="application_ids"] [data-error-message]');
      await error.waitFor();
      assert.ok((await text(error)).includes(m['missing.application_ids']));
      assert.equal(await page.evaluate(() => document.activeElement.name), 'application_ids');
      for (const app of family.apps.slice(1)) await page.check(`#group-choice-${app.id}`);
      await page.click('#group-submit');
      await page.waitForURL(/\/check\?group=/);
      groupId = new URL(page.url()).searchParams.get('group');
      assert.ok(groupId);
    });

    await t.test('the group\'s check page shows each member\'s answers and MRZ, and the total', async () => {
      await ready(page);
      assert.equal(await text(page.locator('h1')), m['check_group.heading']);
      // In the order the cabinet listed (and sent) them.
      const shown = await page.locator('[data-member]').evaluateAll((els) => els.map((e) => e.getAttribute('data-member')));
      assert.deepEqual([...shown].sort(), family.apps.map((a) => a.id).sort());
      for (const [i, id] of shown.entries()) {
        const app = family.apps.find((a) => a.id === id);
        const section = page.locator(`[data-member="${app.id}"]`);
        assert.equal(await text(section.locator('h2').first()), m['check_group.member_heading'].replace('{n}', i + 1).replace('{count}', 3).replace('{name}', nameOf(app.person)));
        assert.equal(await text(section.locator('[data-answer="given_names"]')), app.person.given_names);
        assert.equal(await text(section.locator('[data-answer="passport_number"]')), app.passportNumber);
        const line1 = await section.locator('[data-mrz-line="1"]').textContent();
        assert.equal(line1, `V<KAZ${app.person.surname}<<${app.person.given_names.replace(/ /g, '<')}`.padEnd(36, '<'));
        assert.equal(await section.locator('[data-compare="table"]').count(), 1);
      }
      const { fee } = family.apps[0];
      assert.ok(family.apps.every((a) => a.fee.amount_minor === fee.amount_minor && a.fee.currency === fee.currency));
      const total = await money(page, 3 * fee.amount_minor, fee.currency);
      assert.equal(await text(page.locator('[data-total]')), total);
      assert.equal(await text(page.locator('#pay-button')), m['check.submit'].replace('{fee}', total));
      await inspect(page, 'en-check-group');
      // Paying without the declaration is refused.
      await page.click('#pay-button');
      const summary = page.locator('[data-error-summary]');
      await summary.waitFor();
      assert.ok((await text(summary)).includes(m['missing.details_match_passport_group']));
      await inspect(page, 'en-check-group-errors');
    });

    await t.test('one checkout for the total; the payment-return page follows each visa', async () => {
      await page.check('#details-match-passport');
      await page.click('#pay-button');
      await payOnSandbox(page, groupId);
      const numbers = await waitAllIssued(page, 3);
      assert.equal(new Set(numbers).size, 3);
      assert.equal(await text(page.locator('#status-heading')), m['payment_return.group_issued_heading']);
      for (const app of family.apps) {
        const card = page.locator(`[data-members] [data-member="${app.id}"]`);
        assert.equal(await text(card.locator('[data-status-tag]')), m['status.issued']);
        assert.equal(await card.locator('a[href="/cabinet"]').count(), 1);
      }
      await inspect(page, 'en-payment-return-group');
      const [download] = await Promise.all([
        page.waitForEvent('download', { timeout: 30_000 }),
        page.click(`[data-download="${family.apps[2].id}"]`),
      ]);
      const pdf = await download.path();
      assert.equal(readFileSync(pdf).subarray(0, 5).toString('latin1'), '%PDF-');

      const group = await api('GET', `/groups/${groupId}`, { token: family.token });
      assert.equal(group.status, 200);
      assert.equal(group.body.status, 'paid');
      assert.equal(group.body.total.amount_minor, 3 * family.apps[0].fee.amount_minor);
      assert.ok(group.body.payment && group.body.payment.paid_at);
      assert.deepEqual(group.body.members.map((x) => x.visa_number).sort(), [...numbers].sort());
      // The PDF downloaded for the third person is that person's visa, read back.
      const third = group.body.members.find((x) => x.application_id === family.apps[2].id);
      const printed = execFileSync('pdftotext', ['-layout', pdf, '-'], { encoding: 'utf8' });
      assert.ok(printed.includes(third.visa_number), printed);
      assert.ok(printed.includes(third.surname), printed);
      assert.ok(printed.includes(third.given_names), printed);

      // Each visa emailed on its own, with its PDF.
      const emails = await waitFor('three visa emails', () => {
        const found = visaEmailsTo(gateway, family.email);
        return numbers.every((n) => found.has(n)) && found;
      });
      assert.equal(emails.size, 3);
      for (const n of numbers) {
        assert.ok(decodeHeader(/^Subject: (.*)$/m.exec(emails.get(n))[1].trim()).includes(n));
        assert.match(emails.get(n), /application\/pdf/);
      }
    });

    await t.test('the cabinet shows the group paid, each visa issued with its download', async () => {
      await page.goto(`${gateway.baseUrl}/cabinet`);
      await ready(page);
      const group = page.locator(`[data-group="${groupId}"]`);
      await group.waitFor();
      assert.equal(await group.getAttribute('data-group-status'), 'paid');
      const total = await money(page, 3 * family.apps[0].fee.amount_minor, family.apps[0].fee.currency);
      assert.equal(await text(group.locator('h2')), m['cabinet.group_heading'].replace('{count}', 3).replace('{total}', total));
      for (const app of family.apps) {
        await group.locator(`[data-application="${app.id}"] [data-status-tag="issued"]`).waitFor({ timeout: 30_000 });
        assert.equal(await group.locator(`[data-application="${app.id}"] button[data-download="${app.id}"]`).count(), 1);
      }
      // Nothing left to group.
      assert.ok(await page.locator('#group-new').isHidden());
      await inspect(page, 'en-cabinet-group-paid');
    });
    assert.deepEqual(consoleErrors, []);
  } finally {
    await context.close();
  }
});

test('a member whose invitation is revoked is dropped before checkout, named, and the rest pay', { timeout: 600_000 }, async (t) => {
  const m = MESSAGES.en;
  const family = await household('revoked', FAMILY.slice(0, 3));
  const group = await formGroupThroughApi(family.token, family.apps);
  const [kept1, gone, kept2] = family.apps;
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const consoleErrors = watchConsole(page);
  try {
    await signInToCabinet(page, gateway, 'en', family.email);
    const section = page.locator(`[data-group="${group.id}"]`);
    await section.waitFor();
    assert.equal(await section.getAttribute('data-group-status'), 'open');
    assert.equal(await section.locator('[data-application]').count(), 3);
    assert.equal(await section.locator(`a[data-group-check="${group.id}"]`).getAttribute('href'), `/check?group=${group.id}`);

    // A member's own check page leads to the group's: it is confirmed only with the others.
    await page.goto(`${gateway.baseUrl}/check?application=${encodeURIComponent(kept1.id)}`);
    await page.waitForURL(/\/check\?group=/);
    assert.equal(new URL(page.url()).searchParams.get('group'), group.id);
    await ready(page);
    assert.equal(await page.locator('[data-member]').count(), 3);
    // The migration service revokes one invitation while the page is open.
    await revoke(gone.invitationNumber);

    await t.test('confirming names the person dropped and the new total, in an alert that takes focus', async () => {
      await page.check('#details-match-passport');
      await page.click('#pay-button');
      const notice = page.locator('#notice [data-notice="dropped"]');
      await notice.waitFor({ timeout: 15_000 });
      assert.equal(await notice.getAttribute('role'), 'alert');
      assert.ok(await notice.evaluate((n) => n === document.activeElement), 'the alert has focus');
      const said = await text(notice);
      const name = nameOf(gone.person);
      assert.ok(said.includes(m['check_group.dropped_person'].replaceAll('{name}', name).replace('{invitation}', gone.invitationNumber)), said);
      const total = await money(page, 2 * kept1.fee.amount_minor, kept1.fee.currency);
      assert.equal(await text(notice.locator('[data-new-total]')), m['check_group.new_total'].replace('{total}', total));
      assert.equal(await page.locator('[data-member]').count(), 2);
      assert.equal(await page.locator(`[data-member="${gone.id}"]`).count(), 0);
      assert.equal(await text(page.locator('[data-total]')), total);
      assert.equal(await text(page.locator('#pay-button')), m['check.submit'].replace('{fee}', total));
      // The declaration was about three people: asked again.
      assert.equal(await page.isChecked('#details-match-passport'), false);
      assert.ok(page.url().includes('/check?group='), 'no checkout opened');
      await inspect(page, 'en-check-group-dropped');
      const answer = await api('GET', `/groups/${group.id}`, { token: family.token });
      assert.deepEqual(answer.body.members.map((x) => x.application_id), [kept1.id, kept2.id]);
      assert.deepEqual(answer.body.dropped.map((d) => [d.application_id, d.reason]), [[gone.id, 'invitation_revoked']]);
      assert.equal(answer.body.total.amount_minor, 2 * kept1.fee.amount_minor);
    });

    await t.test('confirmed again, the two left are paid and issued', async () => {
      await page.check('#details-match-passport');
      await page.click('#pay-button');
      await payOnSandbox(page, group.id);
      await waitAllIssued(page, 2);
    });

    await t.test('the cabinet says the invitation was revoked and offers no payment for it', async () => {
      await page.goto(`${gateway.baseUrl}/cabinet`);
      await ready(page);
      const card = page.locator(`[data-application="${gone.id}"]`);
      await card.locator('[data-revoked]').waitFor();
      assert.equal(await card.locator('a.button, button').count(), 0);
      const groupSection = page.locator(`[data-group="${group.id}"]`);
      assert.equal(await groupSection.locator(`[data-dropped="${gone.id}"]`).count(), 1);
      assert.equal(await groupSection.locator(`[data-application="${gone.id}"]`).count(), 0);
      const app = await api('GET', `/applications/${gone.id}`, { token: family.token });
      assert.ok(app.body.invitation_revoked_at);
      // Its own check page says so, with nothing to confirm.
      await page.goto(`${gateway.baseUrl}/check?application=${encodeURIComponent(gone.id)}`);
      await ready(page);
      await page.locator('#notice [data-notice="revoked"]').waitFor();
      assert.ok(await page.locator('#confirm-form').isHidden());
      await inspect(page, 'en-check-revoked');
    });
    assert.deepEqual(consoleErrors, []);
  } finally {
    await context.close();
  }
});

for (const lang of LANGS) {
  test(`the cabinet with a group and the group's check page are accessible, in ${lang}`, { timeout: 300_000 }, async (t) => {
    const m = MESSAGES[lang];
    // Three grouped, two to choose from, one revoked before anything.
    const home = await household(`axe-${lang}`, FAMILY);
    const [a, b, c, d, e, f] = home.apps;
    const group = await formGroupThroughApi(home.token, [a, b, c]);
    await revoke(f.invitationNumber);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const consoleErrors = watchConsole(page);
    try {
      await t.test('the cabinet: the group, its members, the revoked one, and who can be paid together', async () => {
        await signInToCabinet(page, gateway, lang, home.email);
        const section = page.locator(`[data-group="${group.id}"]`);
        await section.waitFor();
        const total = await money(page, 3 * a.fee.amount_minor, a.fee.currency);
        assert.equal(await text(section.locator('h2')), m['cabinet.group_heading'].replace('{count}', 3).replace('{total}', total));
        assert.equal(await text(section.locator('[data-group-status-tag]')), m['group_status.open']);
        assert.equal(await section.locator('[data-undo-group]').count(), 1);
        await page.locator(`[data-application="${f.id}"] [data-revoked]`).waitFor();
        await page.waitForSelector('#group-new:not([hidden])');
        const offered = await page.locator('#group-choices input').evaluateAll((els) => els.map((i) => i.value).sort());
        assert.deepEqual(offered, [d.id, e.id].sort());
        await inspect(page, `${lang}-cabinet-group`);
        await page.click('#group-submit');
        await page.locator('[data-field="application_ids"] [data-error-message]').waitFor();
        await inspect(page, `${lang}-cabinet-group-form-error`);
      });

      await t.test('the group\'s check page, then its dropped alert', async () => {
        await page.click(`a[data-group-check="${group.id}"]`);
        await page.waitForURL(/\/check\?group=/);
        await ready(page);
        assert.equal(await text(page.locator('h1')), m['check_group.heading']);
        assert.equal(await page.locator('[data-member] [data-mrz]').count(), 3);
        await inspect(page, `${lang}-check-group`);
        await revoke(c.invitationNumber);
        await page.check('#details-match-passport');
        await page.click('#pay-button');
        await page.locator('#notice [data-notice="dropped"]').waitFor();
        assert.ok((await text(page.locator('#notice'))).includes(nameOf(c.person)));
        await inspect(page, `${lang}-check-group-dropped`);
      });

      await t.test('undoing the group from the cabinet offers its members again', async () => {
        await page.goto(`${gateway.baseUrl}/cabinet`);
        await ready(page);
        await page.click(`[data-undo-group="${group.id}"]`);
        await page.waitForFunction((id) => !document.querySelector(`[data-group="${id}"]`), group.id);
        const offered = await page.locator('#group-choices input').evaluateAll((els) => els.map((i) => i.value).sort());
        assert.deepEqual(offered, [a.id, b.id, d.id, e.id].sort());
        assert.equal(await page.evaluate(() => document.activeElement.id), 'group-new-title');
        assert.equal(await text(page.locator('#status-announcer')), m['cabinet.group_undone']);
        const answer = await api('GET', `/groups/${group.id}`, { token: home.token });
        assert.equal(answer.body.status, 'dissolved');
      });
      assert.deepEqual(consoleErrors, []);
    } finally {
      await context.close();
    }
  });
}

test('the group\'s check page without scripts reads and says it needs JavaScript', async () => {
  const home = await household('noscript', FAMILY.slice(0, 2));
  const group = await formGroupThroughApi(home.token, home.apps);
  for (const lang of LANGS) {
    const context = await browser.newContext({ javaScriptEnabled: false, locale: 'en-GB' });
    await context.addCookies([{ name: 'visa_lang', value: lang, url: gateway.baseUrl }]);
    const page = await context.newPage();
    try {
      for (const path of [`/check?group=${group.id}`, `/payment-return?group=${group.id}`, '/cabinet']) {
        const res = await page.goto(gateway.baseUrl + path);
        assert.equal(res.status(), 200, path);
        assert.equal(await page.getAttribute('html', 'lang'), lang);
        const headings = await page.locator('h1').evaluateAll((els) => els.filter((e) => e.offsetParent !== null).map((e) => e.textContent.trim()));
        assert.ok(headings.length > 0 && headings.every((h) => h.length > 0), `${lang} ${path}: a heading`);
        const notices = await page.locator('noscript p').evaluateAll((els) => els.filter((e) => e.offsetParent !== null).map((e) => e.textContent.trim()));
        assert.deepEqual(notices, [MESSAGES[lang]['noscript.notice']], `${lang} ${path}`);
        const shown = await page.locator('form, button, [data-needs-script]').evaluateAll((els) => els.filter((e) => e.offsetParent !== null).length);
        assert.equal(shown, 0, `${lang} ${path}: a form, button or "Loading" on show without scripts`);
      }
      // The check page's own heading, as the gateway sends it in the reader's language.
      await page.goto(`${gateway.baseUrl}/check?group=${group.id}`);
      assert.equal((await page.locator('h1').first().textContent()).trim(), MESSAGES[lang]['check.heading']);
    } finally {
      await context.close();
    }
  }
});
