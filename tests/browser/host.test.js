// Inviting parties in a real browser: a host registers on /host (a
// confirmed address first: 409 email-not-verified, then the BIN's check
// digit and the phone refused at their fields), waits, and an officer
// approves it in the console's "Inviting parties" tab (a stale tab then
// meets host-already-decided); the host requests invitations for two
// foreigners at once (a bad passport number, then an ineligible
// nationality, each at the second foreigner's field), an officer approves
// one and refuses the other with a reason (request-already-decided on a
// stale tab), and the host's page shows the invitation's number, the
// reason, and the invitee "invited"; the approved foreigner's email links
// to /apply?invitation=<number>. The page's every state in English,
// Russian and Kazakh with axe-core; an auditor sees both tabs without a
// decision; a second host sees nothing of the first's.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  LANGS, MESSAGES, startGateway, launchBrowser, inspect, watchConsole, ready, chooseLanguage, addStaff, totp, callApi, isoDay, uniqueEmail, decodeHeader, TEST_PASSWORD, messagesTo, waitFor, newBin,
} from './harness.js';

let gateway;
let browser;
let staffToken; // an officer's, for what the tests set up through the API

const api = (method, path, options) => callApi(gateway.baseUrl, method, path, options);

before(async () => {
  gateway = await startGateway();
  browser = await launchBrowser();
  if (gateway.external) return;
  // Its own member of staff: each authenticator code is taken once, so
  // the browser's officers never share one with this.
  const email = `api.officer.${Date.now()}@migration.kz`;
  const { password, secret } = addStaff(gateway, email, 'officer', 'Arman Seitkali');
  const challenge = await api('POST', '/officer/sessions', { body: { email, password } });
  assert.equal(challenge.status, 200, JSON.stringify(challenge.body));
  const signedIn = await api('POST', '/officer/sessions/totp', { body: { email, session: challenge.body.session, code: totp(secret) } });
  assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
  staffToken = signedIn.body.token;
});

after(async () => {
  if (browser) await browser.close();
  if (gateway) await gateway.stop();
});

// ---------- Kazakh numbers and the people of the tests ----------

/** The same twelve digits with the last one wrong. */
function wrongCheckDigit(number) {
  return `${number.slice(0, 11)}${(Number(number[11]) + 1) % 10}`;
}

let passportSeq = 0;
function passportNumber(letter) {
  passportSeq += 1;
  return `${letter}${String(Date.now() % 1e6).padStart(6, '0')}${passportSeq}`;
}

/** Confirms the address from the link in the outbox, as its owner would. */
async function confirmAddress(email) {
  const text = await waitFor(`a confirmation link to ${email}`, () => messagesTo(gateway, email).find((m) => /\/confirm-email#/.test(m)));
  const token = /\/confirm-email#(\S+)/.exec(text)[1];
  const res = await api('POST', '/email-verifications/confirmation', { body: { token } });
  assert.equal(res.status, 204, JSON.stringify(res.body));
}

/** An account through the API, its address confirmed unless told not to; with a session. */
async function account(tag, { confirmed = true } = {}) {
  const email = uniqueEmail(tag);
  assert.equal((await api('POST', '/accounts', { body: { email, password: TEST_PASSWORD } })).status, 201);
  if (confirmed) await confirmAddress(email);
  const session = await api('POST', '/sessions', { body: { email, password: TEST_PASSWORD } });
  assert.equal(session.status, 201);
  return { email, token: session.body.token };
}

async function decideHost(id, decision, reason) {
  const res = await api('POST', `/officer/hosts/${id}/decision`, { token: staffToken, body: reason ? { decision, reason } : { decision } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

async function decideRequest(id, decision, reason) {
  const res = await api('POST', `/officer/invitation-requests/${id}/decision`, { token: staffToken, body: reason ? { decision, reason } : { decision } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

/** An inviting party registered through the API, decided as asked (`approve`, `refuse` or none). */
async function hostThroughApi(tag, { decision, reason, name = 'Altyn Dala LLP' } = {}) {
  const who = await account(tag);
  const bin = newBin();
  const made = await api('POST', '/hosts', {
    token: who.token,
    body: { kind: 'organisation', number: bin, name, contact: { name: 'Aliya Bekova', phone: '+7 727 250 00 00' } },
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  if (decision) await decideHost(made.body.id, decision, reason);
  return { ...who, bin, id: made.body.id, name };
}

function invitee(surname, nationality, extra = {}) {
  return {
    surname, given_names: 'ALEX', sex: 'F', nationality, date_of_birth: '1988-02-29',
    passport_number: passportNumber('P'), email: uniqueEmail(`invitee-${surname.toLowerCase()}`), lang: 'en', ...extra,
  };
}

async function requestThroughApi(host, invitees) {
  const res = await api('POST', '/hosts/current/invitation-requests', {
    token: host.token,
    body: { category: 'tourist', valid_from: isoDay(10), valid_until: isoDay(20), purpose: 'A tour of the Altai', invitees },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.requests;
}

// ---------- the browser's steps ----------

/** Signs in on the site and comes back to /host, as the page's link does. */
async function signInToHost(page, email) {
  await page.goto(`${gateway.baseUrl}/host`);
  await ready(page);
  await page.waitForSelector('#signed-out-view:not([hidden])');
  await page.click('#signed-out-view a.button');
  await page.waitForURL(/\/sign-in\?/);
  assert.equal(new URL(page.url()).searchParams.get('next'), '/host');
  await ready(page);
  await page.fill('#email', email);
  await page.fill('#password', TEST_PASSWORD);
  await page.click('#sign-in-form button[type="submit"]');
  await page.waitForURL(/\/host$/);
  await ready(page);
}

/** Signs in on the console with the password, then the code. */
async function signInToConsole(page, email, password, secret) {
  await page.fill('#staff-email', email);
  await page.fill('#staff-password', password);
  await page.click('#password-form button[type="submit"]');
  await page.waitForSelector('#code-form:not([hidden])');
  await page.fill('#staff-code', totp(secret));
  await page.click('#code-form button[type="submit"]');
  await page.waitForSelector('#workplace:not([hidden])');
}

/** A second tab on the console with this tab's session (as a link opened in a new tab), at `hash`. */
async function staleTab(context, page, hash) {
  const stale = await context.newPage();
  const kept = await page.evaluate(() => sessionStorage.getItem('visa.staff'));
  await stale.addInitScript((value) => sessionStorage.setItem('visa.staff', value), kept);
  await stale.goto(`${gateway.baseUrl}/officer${hash}`);
  await ready(stale);
  return stale;
}

async function fillDate(page, prefix, iso) {
  const [year, month, day] = iso.split('-');
  await page.fill(`${prefix}-day`, String(Number(day)));
  await page.fill(`${prefix}-month`, String(Number(month)));
  await page.fill(`${prefix}-year`, year);
}

/** Fills the `i`th foreigner's fieldset (0-based). */
async function fillInvitee(page, i, who) {
  const row = `#invitee-rows [data-invitee-index="${i}"]`;
  await page.fill(`${row} [data-input="surname"]`, who.surname);
  await page.fill(`${row} [data-input="given_names"]`, who.given_names);
  await page.check(`${row} [data-input="sex"][value="${who.sex}"]`);
  await page.selectOption(`${row} [data-input="nationality"]`, who.nationality);
  const [year, month, day] = who.date_of_birth.split('-');
  await page.fill(`${row} [data-input="date_of_birth-day"]`, day);
  await page.fill(`${row} [data-input="date_of_birth-month"]`, month);
  await page.fill(`${row} [data-input="date_of_birth-year"]`, year);
  await page.fill(`${row} [data-input="passport_number"]`, who.passport_number);
  await page.fill(`${row} [data-input="email"]`, who.email);
  await page.selectOption(`${row} [data-input="lang"]`, who.lang);
}

/** The error message shown at a form group, by its data-field. */
async function fieldError(page, field) {
  const group = `[data-field="${field}"]`;
  await page.waitForSelector(`${group} [data-error-message]`);
  // The message after its visually hidden "Error:".
  return page.$eval(`${group} [data-error-message]`, (node) => node.lastChild.textContent);
}

const fill = (template, vars) => template.replace(/\{(\w+)\}/g, (_, k) => String(vars[k]));

// ---------- the whole way, in English ----------

test('a host registers, is approved, requests two invitations, and follows the decisions (en)', { skip: gateway && gateway.external, timeout: 240_000 }, async () => {
  const m = MESSAGES.en;
  const email = uniqueEmail('host-en');
  assert.equal((await api('POST', '/accounts', { body: { email, password: TEST_PASSWORD } })).status, 201);
  const token = (await api('POST', '/sessions', { body: { email, password: TEST_PASSWORD } })).body.token;
  const bin = newBin();
  const hostContext = await browser.newContext();
  const staffContext = await browser.newContext();
  try {
    const page = await hostContext.newPage();
    const errors = watchConsole(page);
    await signInToHost(page, email);

    // No host record yet: the form. Nothing typed: each field says so.
    await page.waitForSelector('#register-view:not([hidden])');
    await page.click('#host-form button[type="submit"]');
    await page.waitForSelector('[data-error-summary]');
    assert.equal(await fieldError(page, 'number'), m['missing.host_number']);
    assert.equal(await fieldError(page, 'contact.phone'), m['missing.contact.phone']);
    assert.ok((await page.textContent('[data-error-summary]')).includes(m['missing.kind']));

    await page.check('#host-kind');
    await page.fill('#host-number', bin);
    await page.fill('#host-name', 'Steppe Tours LLP');
    await page.fill('#host-contact-name', 'Aigerim Sadykova');
    await page.fill('#host-contact-phone', '+7 701 234 56 78');
    // The address is not confirmed yet: 409, and the way to confirm it.
    await page.click('#host-form button[type="submit"]');
    await page.waitForSelector('#email-not-verified:not([hidden])');
    assert.ok((await page.textContent('[data-error-summary]')).includes(m['problem.email-not-verified']));
    assert.equal(await page.getAttribute('#email-not-verified a', 'href'), '/cabinet');
    await inspect(page, 'en-host-email-not-verified');
    await confirmAddress(email);

    // The BIN's check digit and the phone's format are the API's to refuse (422), each at its field.
    await page.fill('#host-number', wrongCheckDigit(bin));
    await page.fill('#host-contact-phone', '8 701 234 56 78');
    await page.click('#host-form button[type="submit"]');
    await page.waitForSelector('#email-not-verified[hidden]', { state: 'attached' });
    assert.equal(await fieldError(page, 'number'), m['host.validation.number']);
    assert.equal(await fieldError(page, 'contact.phone'), m['validation.contact.phone']);
    assert.equal(await page.locator('[data-field="name"] [data-error-message]').count(), 0, 'the name was right');
    assert.match(await page.getAttribute('#host-number', 'aria-describedby'), /\bnumber-error\b/);
    assert.equal(await page.getAttribute('#host-number', 'aria-invalid'), 'true');
    assert.ok(await page.evaluate(() => document.activeElement.matches('[data-error-summary]')), 'the summary takes focus');
    assert.ok((await page.title()).startsWith('Error:'));
    await inspect(page, 'en-host-register-errors');

    await page.fill('#host-number', bin);
    await page.fill('#host-contact-phone', '+7 701 234 56 78');
    await page.click('#host-form button[type="submit"]');
    await page.waitForSelector('#status-view:not([hidden]) [data-host-status="pending_approval"]');
    assert.ok(await page.isHidden('#register-view'));
    assert.equal(await page.textContent('#host-banner-title'), m['host.pending.title']);
    assert.ok(await page.evaluate(() => document.activeElement.id === 'status-title'));
    assert.ok(await page.isHidden('#request-view'), 'no requests before the approval');
    await inspect(page, 'en-host-pending');

    // The officer approves it from the queue; a stale tab then meets the decision.
    const staffEmail = `aigerim.${Date.now()}@migration.kz`;
    const staff = addStaff(gateway, staffEmail, 'officer', 'Aigerim Sadykova');
    const console_ = await staffContext.newPage();
    const consoleErrors = watchConsole(console_);
    await console_.goto(`${gateway.baseUrl}/officer#hosts`);
    await ready(console_);
    await signInToConsole(console_, staffEmail, staff.password, staff.secret);
    const card = `#host-queue [data-host-number="${bin}"]`;
    await console_.waitForSelector(card);
    assert.equal(await console_.textContent(`${card} h3`), 'Steppe Tours LLP');
    await inspect(console_, 'en-officer-hosts');
    const stale = await staleTab(staffContext, console_, '#hosts');
    await stale.waitForSelector(`${card} [data-decide]`);
    // A refusal needs its reason.
    await console_.check(`${card} [data-decision="refuse"]`);
    await console_.click(`${card} [data-decide] button[type="submit"]`);
    assert.equal(await fieldError(console_, 'reason'), m['missing.refusal_reason']);
    // An approval may carry a note, which the host reads.
    await console_.check(`${card} [data-decision="approve"]`);
    await console_.fill(`${card} [data-reason-input]`, 'Checked against the state register');
    await console_.click(`${card} [data-decide] button[type="submit"]`);
    await console_.waitForSelector('[data-notice="success"]');
    assert.equal(await console_.textContent('#notice-title'), fill(m['officer.hosts.done_approve'], { name: 'Steppe Tours LLP' }));
    await console_.waitForSelector(card, { state: 'detached' });
    assert.equal(await console_.textContent('#hosts-count'), m['officer.hosts.none']);
    await console_.selectOption('#hosts-status', 'approved');
    await console_.click('#hosts-filter button[type="submit"]');
    await console_.waitForSelector(`${card}[data-status="approved"]`);
    assert.equal(await console_.locator(`${card} [data-decide]`).count(), 0, 'decided once');
    assert.match(await console_.textContent(`${card}`), /Aigerim Sadykova/);
    await inspect(console_, 'en-officer-host-approved');
    await stale.check(`${card} [data-decision="approve"]`);
    await stale.click(`${card} [data-decide] button[type="submit"]`);
    await stale.waitForSelector('[data-notice="info"]');
    assert.ok((await stale.textContent('[data-notice="info"]')).includes(m['problem.host-already-decided']));
    await stale.close();

    // Approved: the request form. Two foreigners in one go.
    await page.reload();
    await ready(page);
    await page.waitForSelector('#request-view:not([hidden])');
    assert.equal(await page.getAttribute('[data-host-status]', 'data-host-status'), 'approved');
    assert.equal(await page.textContent('[data-host-note] dd'), 'Checked against the state register');
    assert.equal(await page.getAttribute('#requests [data-requests]', 'data-requests'), '0');
    assert.equal(await page.getAttribute('#invitees [data-invitees]', 'data-invitees'), '0');
    const priya = invitee('SHARMA', 'IND', { given_names: 'PRIYA ANIL', date_of_birth: '1990-04-12', lang: 'ru' });
    const van = invitee('NGUYEN', 'AFG', { given_names: 'VAN AN', sex: 'M', passport_number: 'N1' });
    await page.check('#request-category');
    await fillDate(page, '#request-from', isoDay(10));
    await fillDate(page, '#request-until', isoDay(20));
    await page.fill('#request-purpose', 'A tour of the Altai');
    await fillInvitee(page, 0, priya);
    // Rows come and go: a third added, then removed; the numbering follows.
    await page.click('#add-invitee');
    await page.click('#add-invitee');
    assert.equal(await page.locator('#invitee-rows [data-invitee]').count(), 3);
    assert.equal(await page.textContent('#invitee-rows [data-invitee-index="2"] > legend'), fill(m['host.request.foreigner'], { n: 3 }));
    assert.ok(await page.evaluate(() => document.activeElement.matches('[data-invitee-index="2"] [data-input="surname"]')), 'a new row takes focus');
    await page.click('#invitee-rows [data-invitee-index="1"] [data-remove-invitee]');
    assert.equal(await page.locator('#invitee-rows [data-invitee]').count(), 2);
    assert.equal(await page.textContent('#invitee-rows [data-invitee-index="1"] > legend'), fill(m['host.request.foreigner'], { n: 2 }));
    assert.equal(await page.textContent('#invitee-rows-status'), fill(m['host.request.removed'], { n: 2 }));
    assert.ok(await page.evaluate(() => document.activeElement.id === 'add-invitee'), 'focus stays on the form');
    assert.equal(await page.getAttribute('#invitee-rows [data-invitee-index="1"] [data-name="surname"]', 'data-field'), 'invitees[1].surname');
    await fillInvitee(page, 1, van);

    // The second foreigner's passport number is refused, at its own field.
    await page.click('#request-form button[type="submit"]');
    assert.equal(await fieldError(page, 'invitees[1].passport_number'), fill(m['validation.invitees.passport_number'], { n: 2 }));
    assert.equal(await page.locator('[data-field="invitees[0].passport_number"] [data-error-message]').count(), 0, 'the first foreigner is fine');
    const passportInput = '#invitee-rows [data-invitee-index="1"] [data-input="passport_number"]';
    assert.match(await page.getAttribute(passportInput, 'aria-describedby'), /invitees-1--passport_number-error/);
    const passportId = await page.getAttribute(passportInput, 'id');
    assert.equal(await page.locator(`[data-error-summary] a[href="#${passportId}"]`).count(), 1, 'the summary links to the field');
    await inspect(page, 'en-host-request-invalid');

    // Then its nationality: not on the tourist annex (422 not-eligible), at its own field.
    van.passport_number = passportNumber('N');
    await page.fill(passportInput, van.passport_number);
    await page.click('#request-form button[type="submit"]');
    assert.equal(await fieldError(page, 'invitees[1].nationality'), fill(m['host.not_eligible'], { n: 2 }));
    assert.equal(await page.locator('[data-field="invitees[1].passport_number"] [data-error-message]').count(), 0);
    assert.equal(await page.locator('[data-field="invitees[0].nationality"] [data-error-message]').count(), 0);
    await inspect(page, 'en-host-request-not-eligible');
    assert.deepEqual((await api('GET', '/hosts/current/invitation-requests', { token })).body.requests, [], 'a batch with a fault makes nothing');

    van.nationality = 'VNM';
    await page.selectOption('#invitee-rows [data-invitee-index="1"] [data-input="nationality"]', 'VNM');
    await page.click('#request-form button[type="submit"]');
    await page.waitForSelector('[data-requests-sent="2"]');
    assert.equal(await page.textContent('#request-sent-title'), m['host.request.sent_title']);
    await page.waitForSelector('#requests [data-requests="2"]');
    for (const who of [priya, van]) {
      assert.equal(await page.getAttribute(`#requests [data-passport="${who.passport_number}"]`, 'data-status'), 'pending');
    }
    assert.equal(await page.locator('#invitee-rows [data-invitee]').count(), 1, 'the form starts again');
    assert.equal(await page.inputValue('#invitee-rows [data-invitee-index="0"] [data-input="surname"]'), '');
    await inspect(page, 'en-host-requests-pending');

    // The officer approves Priya's request and refuses Van's with a reason.
    await console_.click('[data-tab="requests"]');
    const priyaCard = `#request-queue [data-passport="${priya.passport_number}"]`;
    const vanCard = `#request-queue [data-passport="${van.passport_number}"]`;
    await console_.waitForSelector(vanCard);
    await console_.waitForSelector(priyaCard);
    assert.match(await console_.textContent(`${priyaCard} [data-inviter]`), new RegExp(`Steppe Tours LLP.*${bin}`));
    await inspect(console_, 'en-officer-requests');
    const staleRequests = await staleTab(staffContext, console_, '#requests');
    await staleRequests.waitForSelector(`${priyaCard} [data-decide]`);
    await console_.check(`${priyaCard} [data-decision="approve"]`);
    await console_.click(`${priyaCard} [data-decide] button[type="submit"]`);
    await console_.waitForSelector('[data-notice="success"][data-invitation-number]');
    const number = await console_.getAttribute('[data-notice="success"]', 'data-invitation-number');
    assert.match(number, /^\d{12}$/);
    assert.equal(await console_.textContent('#notice-title'), fill(m['officer.requests.done_approve'], { number, name: 'SHARMA PRIYA ANIL' }));
    await console_.waitForSelector(priyaCard, { state: 'detached' });
    const reason = 'The passport expires during the stay';
    await console_.check(`${vanCard} [data-decision="refuse"]`);
    await console_.fill(`${vanCard} [data-reason-input]`, reason);
    await console_.click(`${vanCard} [data-decide] button[type="submit"]`);
    await console_.waitForSelector(vanCard, { state: 'detached' });
    assert.equal(await console_.textContent('#notice-title'), fill(m['officer.requests.done_refuse'], { name: 'NGUYEN VAN AN' }));
    assert.equal(await console_.textContent('#requests-count'), m['officer.requests.none']);
    await console_.selectOption('#requests-status', 'approved');
    await console_.click('#requests-filter button[type="submit"]');
    await console_.waitForSelector(`${priyaCard} [data-invitation-number="${number}"]`);
    await inspect(console_, 'en-officer-request-approved');
    // The stale tab approves Van's, decided meanwhile: refused, nothing changes.
    await staleRequests.check(`${vanCard} [data-decision="approve"]`);
    await staleRequests.click(`${vanCard} [data-decide] button[type="submit"]`);
    await staleRequests.waitForSelector('[data-notice="info"]');
    assert.ok((await staleRequests.textContent('[data-notice="info"]')).includes(m['problem.request-already-decided']));
    await staleRequests.close();

    // The host sees the number for one, the reason for the other, and its invitee invited.
    await page.reload();
    await ready(page);
    await page.waitForSelector('#requests [data-requests="2"]');
    const priyaRow = `#requests [data-passport="${priya.passport_number}"]`;
    const vanRow = `#requests [data-passport="${van.passport_number}"]`;
    assert.equal(await page.getAttribute(priyaRow, 'data-status'), 'approved');
    assert.equal(await page.textContent(`${priyaRow} [data-invitation-number]`), number);
    assert.equal(await page.getAttribute(vanRow, 'data-status'), 'refused');
    assert.equal(await page.textContent(`${vanRow} [data-reason]`), reason);
    assert.equal(await page.locator(`${vanRow} [data-invitation-number]`).count(), 0);
    const progress = `#invitees [data-passport="${priya.passport_number}"]`;
    assert.equal(await page.locator('#invitees tbody tr').count(), 1, 'only the approved foreigner is an invitee');
    assert.equal(await page.getAttribute(progress, 'data-stage'), 'invited');
    assert.equal(await page.textContent(`${progress} .tag`), m['host.stage.invited']);
    assert.ok((await page.textContent(progress)).includes(number));
    const headers = await page.$$eval('#invitees thead th', (ths) => ths.map((th) => [th.textContent, th.getAttribute('scope')]));
    assert.deepEqual(headers, ['host.col.foreigner', 'host.col.invitation', 'host.col.stay', 'host.col.stage', 'host.col.entered', 'host.col.left'].map((k) => [m[k], 'col']));
    await inspect(page, 'en-host-decided');

    // Priya's email (in Russian, as the host chose) links to the application with the number in it.
    const mail = await waitFor('the invitation email', () => messagesTo(gateway, priya.email).find((t) => t.includes(number)));
    assert.ok(mail.includes(`${gateway.baseUrl}/apply?invitation=${number}`), mail);
    assert.match(decodeHeader(/^Subject: (.*)$/m.exec(mail)[1]), /[А-Яа-я]/);
    assert.deepEqual(messagesTo(gateway, van.email), [], 'a refused foreigner is not emailed');
    assert.deepEqual(errors, []);
    assert.deepEqual(consoleErrors, []);
  } finally {
    await hostContext.close();
    await staffContext.close();
  }
});

// ---------- every state of the page, in each language ----------

for (const lang of LANGS) {
  test(`the host page's states, accessible and translated (${lang})`, { skip: gateway && gateway.external, timeout: 240_000 }, async () => {
    const m = MESSAGES[lang];
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const errors = watchConsole(page);

      // Signed out: the way to sign in, coming back here.
      await page.goto(`${gateway.baseUrl}/host`);
      await ready(page);
      await chooseLanguage(page, lang);
      await page.waitForSelector('#signed-out-view:not([hidden])');
      assert.equal(await page.textContent('#signed-out-title'), m['host.signed_out.heading']);
      assert.equal(await page.getAttribute('#signed-out-view a.button', 'href'), '/sign-in?next=%2Fhost');
      assert.equal(await page.title(), fill(m['title.pattern'], { page: m['host.title'], service: m['service.name'] }));
      await inspect(page, `${lang}-host-signed-out`);

      // Registering: the form, then its errors.
      const person = await account(`host-${lang}`);
      await signInToHost(page, person.email);
      await page.waitForSelector('#register-view:not([hidden])');
      assert.equal(await page.textContent('#register-title'), m['host.register.heading']);
      assert.equal(await page.textContent('label[for="host-contact-phone"]'), m['host.register.contact_phone']);
      await inspect(page, `${lang}-host-register`);
      await page.check('#host-kind-resident');
      await page.fill('#host-number', newBin()); // an organisation's number, as a resident's: not an IIN
      await page.fill('#host-name', 'Dana Omarova');
      await page.fill('#host-contact-name', 'Dana Omarova');
      await page.fill('#host-contact-phone', '+7 777 123 45 67');
      await page.click('#host-form button[type="submit"]');
      assert.equal(await fieldError(page, 'number'), m['host.validation.number']);
      assert.equal(await page.textContent('#error-summary-title'), m['error.summary_title']);
      await inspect(page, `${lang}-host-register-invalid`);

      // Waiting, then refused with the officer's reason.
      await page.check('#host-kind');
      await page.click('#host-form button[type="submit"]');
      await page.waitForSelector('[data-host-status="pending_approval"]');
      assert.equal(await page.textContent('[data-host-status]'), m['host.status.pending_approval']);
      assert.equal(await page.textContent('#host-banner-title'), m['host.pending.title']);
      await inspect(page, `${lang}-host-waiting`);
      const current = await api('GET', '/hosts/current', { token: person.token });
      const reason = 'The BIN belongs to another organisation';
      await decideHost(current.body.id, 'refuse', reason);
      await page.reload();
      await ready(page);
      await page.waitForSelector('[data-host-status="refused"]');
      assert.equal(await page.textContent('#host-banner-title'), m['host.refused.title']);
      assert.equal(await page.textContent('[data-host-reason]'), reason);
      assert.ok(await page.isHidden('#request-view'));
      await inspect(page, `${lang}-host-refused`);

      // Approved, with a request of each outcome: the lists, then the form with a foreigner added and left empty.
      const approved = await hostThroughApi(`approved-${lang}`, { decision: 'approve' });
      const [one, two, three] = await requestThroughApi(approved, [invitee('OKAFOR', 'NGA'), invitee('SILVA', 'COL'), invitee('TAN', 'CHN')]);
      const decided = await decideRequest(one.id, 'approve');
      await decideRequest(two.id, 'refuse', 'Not a tourist visit');
      // A new tab starts without the session (it lives in the tab's sessionStorage).
      const other = await context.newPage();
      const otherErrors = watchConsole(other);
      await other.goto(`${gateway.baseUrl}/host`);
      await ready(other);
      await chooseLanguage(other, lang);
      await page.close();
      await signInToHost(other, approved.email);
      await other.waitForSelector('#requests [data-requests="3"]');
      assert.equal(await other.textContent(`#requests [data-request="${one.id}"] [data-invitation-number]`), decided.invitation_number);
      assert.equal(await other.textContent(`#requests [data-request="${one.id}"] .tag`), m['host.request_status.approved']);
      assert.equal(await other.textContent(`#requests [data-request="${two.id}"] [data-reason]`), 'Not a tourist visit');
      assert.equal(await other.textContent(`#requests [data-request="${three.id}"] .tag`), m['host.request_status.pending']);
      assert.equal(await other.textContent(`#invitees [data-invitee-progress="${one.id}"] .tag`), m['host.stage.invited']);
      assert.equal(await other.textContent(`#invitees [data-invitee-progress="${one.id}"] td:nth-child(5)`), m['host.not_yet']);
      assert.equal(await other.textContent('#request-title'), m['host.request.heading']);
      await inspect(other, `${lang}-host-approved`);
      await other.click('#add-invitee');
      await other.check('#request-category');
      await fillDate(other, '#request-from', isoDay(5));
      await fillDate(other, '#request-until', isoDay(8));
      await other.fill('#request-purpose', 'Talks with a supplier');
      await fillInvitee(other, 0, invitee('IVANOVA', 'IND'));
      await other.click('#request-form button[type="submit"]');
      assert.equal(await fieldError(other, 'invitees[1].surname'), fill(m['missing.invitees.surname'], { n: 2 }));
      assert.equal(await fieldError(other, 'invitees[1].email'), fill(m['missing.invitees.email'], { n: 2 }));
      assert.equal(await other.locator('[data-field^="invitees[0]"] [data-error-message]').count(), 0);
      await inspect(other, `${lang}-host-request-missing`);
      assert.deepEqual(errors, []);
      assert.deepEqual(otherErrors, []);
    } finally {
      await context.close();
    }
  });
}

// ---------- what each host and each member of staff sees ----------

test('a second host sees none of the first host\'s requests or invitees', { skip: gateway && gateway.external, timeout: 120_000 }, async () => {
  const first = await hostThroughApi('first', { decision: 'approve', name: 'First Host LLP' });
  const [mine] = await requestThroughApi(first, [invitee('KIPLAGAT', 'KEN')]);
  await decideRequest(mine.id, 'approve');
  const second = await hostThroughApi('second', { decision: 'approve', name: 'Second Host LLP' });
  // The API answers the second host with its own (none).
  assert.deepEqual((await api('GET', '/hosts/current/invitation-requests', { token: second.token })).body.requests, []);
  assert.deepEqual((await api('GET', '/hosts/current/invitees', { token: second.token })).body.invitees, []);
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const errors = watchConsole(page);
    await signInToHost(page, second.email);
    await page.waitForSelector('#request-view:not([hidden])');
    assert.equal(await page.textContent('#requests [data-requests="0"]'), MESSAGES.en['host.requests.none']);
    assert.equal(await page.textContent('#invitees [data-invitees="0"]'), MESSAGES.en['host.invitees.none']);
    const text = await page.textContent('main');
    for (const seen of ['KIPLAGAT', mine.invitee.passport_number, 'First Host LLP', first.bin]) {
      assert.ok(!text.includes(seen), `the second host's page shows ${seen}`);
    }
    assert.ok(text.includes('Second Host LLP'));
    // The first host, for contrast, sees its own.
    const own = await browser.newContext();
    const firstPage = await own.newPage();
    await signInToHost(firstPage, first.email);
    await firstPage.waitForSelector(`#invitees [data-invitee-progress="${mine.id}"]`);
    await own.close();
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('an auditor reads both queues and is offered no decision (en)', { skip: gateway && gateway.external, timeout: 120_000 }, async () => {
  const pending = await hostThroughApi('audited', { name: 'Audited Host LLP' });
  const approved = await hostThroughApi('audited-approved', { decision: 'approve', name: 'Requesting Host LLP' });
  // Two foreigners of one name: their cards are still told apart.
  const [request, namesake] = await requestThroughApi(approved, [invitee('MENDES', 'PAN'), invitee('MENDES', 'PAN')]);
  const email = `auditor.${Date.now()}@migration.kz`;
  const { password, secret } = addStaff(gateway, email, 'auditor', 'Bolat Nurlanov');
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const errors = watchConsole(page);
    await page.goto(`${gateway.baseUrl}/officer#hosts`);
    await ready(page);
    await signInToConsole(page, email, password, secret);
    await page.waitForSelector(`#host-queue [data-host-number="${pending.bin}"]`);
    assert.equal(await page.locator('#host-queue [data-decide]').count(), 0, 'no decision for an auditor');
    await inspect(page, 'en-auditor-hosts');
    await page.click('[data-tab="requests"]');
    await page.waitForSelector(`#request-queue [data-request="${request.id}"]`);
    await page.waitForSelector(`#request-queue [data-request="${namesake.id}"]`);
    assert.equal(await page.locator('#request-queue [data-decide]').count(), 0, 'no decision for an auditor');
    await inspect(page, 'en-auditor-requests');
    // Trying anyway, with the console's own token: refused, still pending.
    const refused = await page.evaluate(async (id) => {
      const { token } = JSON.parse(sessionStorage.getItem('visa.staff'));
      const res = await fetch(`/api/officer/hosts/${id}/decision`, {
        method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` }, body: JSON.stringify({ decision: 'approve' }),
      });
      return res.status;
    }, pending.id);
    assert.equal(refused, 403);
    assert.equal((await api('GET', '/hosts/current', { token: pending.token })).body.status, 'pending_approval');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
