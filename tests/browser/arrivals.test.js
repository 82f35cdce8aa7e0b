// Arrival notices in a real browser. Set up through the API: two approved
// hosts (A and B), each with an approved invitation request whose stay
// starts today in Kazakhstan (UTC+5); each foreigner applies with the
// passport the host entered, pays on the sandbox checkout, is issued the
// e-visa, and border control records the entry at NQZ, which opens the
// host's arrival. Host A's page shows its arrival awaiting, due on the
// API's `due_on` as the page writes dates, and never host B's; A files
// the notice through the form: a stay past the invitation's last day is
// refused at its field (422), then the notice is filed and shown in the
// row, still after a reload; a second tab's form meets 409
// `notice-already-filed` and reads the list again. The console's "Arrival
// notices" tab, read only (an auditor), lists B's awaiting arrival with
// its contact's phone and the visa's number, not A's filed one, and no
// overdue one (a real clock cannot make one overdue: the Rust tests pin the
// clock for that). The page's states and the tab in en, ru and kk with
// axe-core.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  LANGS, MESSAGES, startGateway, launchBrowser, inspect, watchConsole, ready, chooseLanguage, addStaff, totp, callApi, uniqueEmail, issueVisaThroughApi, TEST_PASSWORD, messagesTo, newBin, sleep,
} from './harness.js';

let gateway;
let browser;
let officerToken; // decides the hosts and their requests
let borderToken; // records the entries
let hostA;
let hostB;

const api = (method, path, options) => callApi(gateway.baseUrl, method, path, options);
const fill = (template, vars) => template.replace(/\{(\w+)\}/g, (_, k) => String(vars[k]));

/** A day `days` from today in Kazakhstan (UTC+5), where the API counts its days. */
function kzDay(days = 0) {
  return new Date(Date.now() + 5 * 3_600_000 + days * 86_400_000).toISOString().slice(0, 10);
}

/** `iso` moved by `days`. */
function addDays(iso, days) {
  return new Date(Date.parse(`${iso}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** A staff member's token through the API (password, then the authenticator's code). */
async function staffToken(role, name) {
  const email = `${role}.${Date.now()}.${Math.floor(Math.random() * 1e6)}@migration.kz`;
  const { password, secret } = addStaff(gateway, email, role, name);
  const challenge = await api('POST', '/officer/sessions', { body: { email, password } });
  assert.equal(challenge.status, 200, JSON.stringify(challenge.body));
  const signedIn = await api('POST', '/officer/sessions/totp', { body: { email, session: challenge.body.session, code: totp(secret) } });
  assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
  return signedIn.body.token;
}

// ---------- the hosts and their foreigners, through the API ----------

let passportSeq = 0;
function passportNumber() {
  passportSeq += 1;
  return `A${String(Date.now() % 1e6).padStart(6, '0')}${passportSeq}`;
}

/** Confirms the address from the link in the outbox, as its owner would. */
async function confirmAddress(email) {
  const deadline = Date.now() + 15_000;
  let text;
  while (!(text = messagesTo(gateway, email).find((m) => /\/confirm-email#/.test(m)))) {
    if (Date.now() > deadline) assert.fail(`no confirmation link to ${email} within 15 s`);
    await sleep(100);
  }
  const token = /\/confirm-email#(\S+)/.exec(text)[1];
  const res = await api('POST', '/email-verifications/confirmation', { body: { token } });
  assert.equal(res.status, 204, JSON.stringify(res.body));
}

/**
 * An approved host whose one foreigner entered Kazakhstan today: its
 * account, the request (its stay from today to 10 days on), the visa, and
 * the arrival as the API lists it to the host.
 */
async function hostWithArrival(tag, { name, phone, surname, givenNames }) {
  const email = uniqueEmail(`arrival-host-${tag}`);
  assert.equal((await api('POST', '/accounts', { body: { email, password: TEST_PASSWORD } })).status, 201);
  await confirmAddress(email);
  const token = (await api('POST', '/sessions', { body: { email, password: TEST_PASSWORD } })).body.token;
  const bin = newBin();
  const made = await api('POST', '/hosts', { token, body: { kind: 'organisation', number: bin, name, contact: { name: `${name} contact`, phone } } });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const approved = await api('POST', `/officer/hosts/${made.body.id}/decision`, { token: officerToken, body: { decision: 'approve' } });
  assert.equal(approved.status, 200, JSON.stringify(approved.body));

  const invitee = {
    surname, given_names: givenNames, sex: 'F', nationality: 'IND', date_of_birth: '1991-07-14',
    passport_number: passportNumber(), email: uniqueEmail(`arrival-invitee-${tag}`), lang: 'en',
  };
  const requested = await api('POST', '/hosts/current/invitation-requests', {
    token,
    body: { category: 'tourist', valid_from: kzDay(0), valid_until: kzDay(10), purpose: 'A tour of Astana', invitees: [invitee] },
  });
  assert.equal(requested.status, 201, JSON.stringify(requested.body));
  const [request] = requested.body.requests;
  const decided = await api('POST', `/officer/invitation-requests/${request.id}/decision`, { token: officerToken, body: { decision: 'approve' } });
  assert.equal(decided.status, 200, JSON.stringify(decided.body));
  const invitationNumber = decided.body.invitation_number;

  // The foreigner applies with the passport the host entered, pays, and is issued the e-visa.
  const visa = await issueVisaThroughApi(gateway, `arrival-${tag}`, { invitation: { number: invitationNumber, invitee } });
  const entry = await api('POST', `/officer/visas/${visa.visaNumber}/entry`, { token: borderToken, body: { checkpoint: 'NQZ' } });
  assert.equal(entry.status, 200, JSON.stringify(entry.body));

  const listed = await api('GET', '/hosts/current/arrivals', { token });
  assert.equal(listed.status, 200, JSON.stringify(listed.body));
  assert.equal(listed.body.arrivals.length, 1, JSON.stringify(listed.body));
  const [arrival] = listed.body.arrivals;
  assert.equal(arrival.request_id, request.id);
  assert.equal(arrival.invitation_number, invitationNumber);
  assert.equal(arrival.invitee.passport_number, invitee.passport_number);
  assert.equal(arrival.checkpoint, 'NQZ');
  assert.equal(arrival.status, 'awaiting');
  assert.equal(arrival.notice, null);
  // The due day: the third working day after the entry's, so 3 to 12 days
  // later (weekends, holidays), never on a weekend.
  const gap = (Date.parse(arrival.due_on) - Date.parse(arrival.entered_on)) / 86_400_000;
  assert.ok(gap >= 3 && gap <= 12, `due ${arrival.due_on} after entering on ${arrival.entered_on}`);
  assert.ok(![0, 6].includes(new Date(`${arrival.due_on}T00:00:00Z`).getUTCDay()), `due on a weekend: ${arrival.due_on}`);
  return {
    email, token, bin, name, id: made.body.id, phone: made.body.contact.phone,
    invitee, request, invitationNumber, visa, arrival, lastDay: request.valid_until,
  };
}

before(async () => {
  gateway = await startGateway();
  browser = await launchBrowser();
  if (gateway.external) return;
  officerToken = await staffToken('officer', 'Arman Seitkali');
  borderToken = await staffToken('border', 'Daulet Serikbayev');
  hostA = await hostWithArrival('a', { name: 'Altyn Dala LLP', phone: '+7 727 250 00 00', surname: 'SHARMA', givenNames: 'PRIYA ANIL' });
  hostB = await hostWithArrival('b', { name: 'Kok Tobe Travel LLP', phone: '+7 701 555 12 34', surname: 'OKAFOR', givenNames: 'CHIDI' });
});

after(async () => {
  if (browser) await browser.close();
  if (gateway) await gateway.stop();
});

// ---------- the browser's steps ----------

/** Signs in on the site and comes back to /host, as the page's link does. */
async function signInToHost(page, email, lang) {
  await page.goto(`${gateway.baseUrl}/host`);
  await ready(page);
  if (lang) await chooseLanguage(page, lang);
  await page.waitForSelector('#signed-out-view:not([hidden])');
  await page.click('#signed-out-view a.button');
  await page.waitForURL(/\/sign-in\?/);
  await ready(page);
  await page.fill('#email', email);
  await page.fill('#password', TEST_PASSWORD);
  await page.click('#sign-in-form button[type="submit"]');
  await page.waitForURL(/\/host$/);
  await ready(page);
}

/** Another tab with this tab's session (as a link opened in a new tab). */
async function secondTab(context, page, path) {
  const other = await context.newPage();
  const kept = await page.evaluate(() => sessionStorage.getItem('visa.session'));
  await other.addInitScript((value) => sessionStorage.setItem('visa.session', value), kept);
  await other.goto(`${gateway.baseUrl}${path}`);
  await ready(other);
  return other;
}

/** Signs in on the console (password, then the code) as a new member of `role`, at `hash`. */
async function signInToConsole(page, role, lang, hash) {
  const email = `${role}.console.${Date.now()}@migration.kz`;
  const { password, secret } = addStaff(gateway, email, role, 'Bolat Nurlanov');
  await page.goto(`${gateway.baseUrl}/officer${hash}`);
  await ready(page);
  await chooseLanguage(page, lang);
  await page.fill('#staff-email', email);
  await page.fill('#staff-password', password);
  await page.click('#password-form button[type="submit"]');
  await page.waitForSelector('#code-form:not([hidden])');
  await page.fill('#staff-code', totp(secret));
  await page.click('#code-form button[type="submit"]');
  await page.waitForSelector('#workplace:not([hidden])');
}

/** A `YYYY-MM-DD` date as the page writes it in its current language (its own formatter). */
async function pageDate(page, iso) {
  return page.evaluate(async (day) => (await import('/js/i18n.js')).formatDate(day), iso);
}

/** The error message shown at a field of an arrival's form. */
async function fieldError(page, requestId, field) {
  const at = `[data-notice-form="${requestId}"] [data-field="${field}"] [data-error-message]`;
  await page.waitForSelector(at);
  // The message after its visually hidden "Error:".
  return page.$eval(at, (node) => node.lastChild.textContent);
}

async function dateValue(page, requestId, field) {
  const part = (p) => page.inputValue(`[data-notice-form="${requestId}"] [data-notice-input="${field}-${p}"]`);
  return [await part('day'), await part('month'), await part('year')];
}

async function fillDate(page, requestId, field, iso) {
  const [year, month, day] = iso.split('-');
  const at = (p) => `[data-notice-form="${requestId}"] [data-notice-input="${field}-${p}"]`;
  await page.fill(at('day'), String(Number(day)));
  await page.fill(at('month'), String(Number(month)));
  await page.fill(at('year'), year);
}

const parts = (iso) => { const [y, m, d] = iso.split('-'); return [String(Number(d)), String(Number(m)), y]; };

/** What the page's row of an arrival says: its status, due day, entry, and the notice's cell. */
async function rowOf(page, requestId) {
  const row = `#arrivals [data-arrival="${requestId}"]`;
  await page.waitForSelector(row);
  return {
    status: await page.getAttribute(row, 'data-status'),
    tag: (await page.textContent(`${row} [data-arrival-status]`)).trim(),
    due: (await page.textContent(`${row} [data-due-on]`)).trim(),
    entered: (await page.textContent(`${row} [data-entered-on]`)).trim(),
    text: await page.textContent(row),
  };
}

// ---------- host A files its notice ----------

test('host A sees its arrival awaiting, files the notice through the form, and never sees host B\'s (en)', { skip: gateway && gateway.external, timeout: 180_000 }, async () => {
  const m = MESSAGES.en;
  const a = hostA.arrival;
  const id = a.request_id;
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const errors = watchConsole(page);
    await signInToHost(page, hostA.email);
    await page.waitForSelector('#arrivals-view:not([hidden])');
    assert.equal(await page.textContent('#arrivals-title'), m['host.arrivals.heading']);

    // The row: awaiting, due on the API's due day as the page writes it ("9 December 2026").
    const row = await rowOf(page, id);
    assert.equal(row.status, 'awaiting');
    assert.equal(row.tag, m['host.arrival_status.awaiting']);
    const due = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(new Date(`${a.due_on}T00:00:00Z`));
    assert.equal(await pageDate(page, a.due_on), due);
    assert.equal(row.due, due);
    assert.equal(row.entered, fill(m['host.crossing'], { time: await pageDate(page, a.entered_on), checkpoint: 'NQZ' }));
    for (const shown of ['SHARMA PRIYA ANIL', hostA.invitee.passport_number, hostA.invitationNumber]) assert.ok(row.text.includes(shown), `the row lacks ${shown}`);
    assert.equal(await page.locator('#arrivals tbody tr').count(), 1);
    const headers = await page.$$eval('#arrivals thead th', (ths) => ths.map((th) => th.textContent));
    assert.deepEqual(headers, ['host.col.foreigner', 'host.col.invitation', 'host.col.arrived', 'host.col.due', 'host.col.status', 'host.col.notice'].map((k) => m[k]));

    // Host B's foreigner is nowhere on A's page.
    const text = await page.textContent('main');
    for (const seen of ['OKAFOR', hostB.invitee.passport_number, hostB.invitationNumber, hostB.visa.visaNumber, hostA.visa.visaNumber]) {
      assert.ok(!text.includes(seen), `host A's page shows ${seen}`);
    }
    // Nor may A file it (another host's arrival is not found).
    const theirs = await api('POST', `/hosts/current/arrivals/${hostB.arrival.request_id}/notice`, {
      token: hostA.token, body: { address: 'Astana, Mangilik El 55', stay_from: hostB.arrival.entered_on, stay_until: hostB.lastDay },
    });
    assert.equal(theirs.status, 404);

    // The form, its dates filled in: from the entry day to the invitation's last day.
    const form = `[data-notice-form="${id}"]`;
    await page.waitForSelector(form);
    assert.equal(await page.textContent(`#arrival-${id}-title`), fill(m['host.notice.heading'], { name: 'SHARMA PRIYA ANIL' }));
    assert.deepEqual(await dateValue(page, id, 'stay_from'), parts(a.entered_on));
    assert.deepEqual(await dateValue(page, id, 'stay_until'), parts(hostA.lastDay));
    assert.equal(await page.textContent(`${form} [data-field="stay_until"] .hint`), fill(m['host.notice.stay_until_hint'], { date: await pageDate(page, hostA.lastDay) }));
    assert.ok(await page.isHidden(`[data-arrival-form="${id}"] [data-overdue-warning]`), 'not overdue');
    // The row's link goes to the form.
    await page.click(`#arrivals [data-file-link="${id}"]`);
    assert.ok(await page.evaluate((at) => document.activeElement.id === at, `arrival-${id}-title`));
    await inspect(page, 'en-host-arrival-awaiting');

    // A second tab, open on the same form meanwhile.
    const stale = await secondTab(context, page, '/host');
    const staleErrors = watchConsole(stale);
    await stale.waitForSelector(form);

    // Nothing typed: the address is asked for.
    await page.click(`${form} button[type="submit"]`);
    assert.equal(await fieldError(page, id, 'address'), m['missing.address']);

    // A stay past the invitation's last day: the API refuses it at its field (422).
    const address = 'Astana, Mangilik El 55, apt 12';
    await page.fill(`${form} [data-notice-input="address"]`, address);
    await fillDate(page, id, 'stay_until', addDays(hostA.lastDay, 1));
    await page.click(`${form} button[type="submit"]`);
    await page.waitForSelector(`${form} [data-field="address"] [data-error-message]`, { state: 'detached' });
    assert.equal(await fieldError(page, id, 'stay_until'), m['validation.stay_until']);
    assert.equal(await page.locator(`${form} [data-error-message]`).count(), 1, 'only the last day is at fault');
    assert.equal(await page.getAttribute(`${form} [data-notice-input="stay_until-day"]`, 'aria-invalid'), 'true');
    assert.ok(await page.evaluate((at) => document.activeElement.matches(at), `${form} [data-notice-input="stay_until-day"]`), 'the field at fault takes focus');
    assert.equal(await page.inputValue(`${form} [data-notice-input="address"]`), address, 'what was typed stays');
    assert.equal((await api('GET', '/hosts/current/arrivals', { token: hostA.token })).body.arrivals[0].status, 'awaiting');
    await inspect(page, 'en-host-arrival-invalid');

    // Then right: filed, said in the banner, and the row shows the notice.
    const until = addDays(hostA.lastDay, -2);
    await fillDate(page, id, 'stay_until', until);
    await page.click(`${form} button[type="submit"]`);
    await page.waitForSelector('[data-arrival-result="filed"]');
    assert.equal(await page.getAttribute('[data-arrival-result="filed"]', 'role'), 'alert');
    assert.equal(await page.textContent('#arrival-result-title'), m['host.notice.filed_title']);
    assert.ok((await page.textContent('[data-arrival-result="filed"]')).includes(fill(m['host.notice.filed_body'], { name: 'SHARMA PRIYA ANIL' })));
    assert.ok(await page.evaluate(() => document.activeElement.matches('[data-arrival-result]')), 'the banner takes focus');
    await page.waitForSelector(form, { state: 'detached' });
    const filedRow = `#arrivals [data-arrival="${id}"]`;
    const checkFiled = async (p) => {
      assert.equal(await p.getAttribute(filedRow, 'data-status'), 'filed');
      assert.equal((await p.textContent(`${filedRow} [data-arrival-status]`)).trim(), m['host.arrival_status.filed']);
      assert.equal(await p.textContent(`${filedRow} [data-notice-address]`), address);
      assert.equal(await p.textContent(`${filedRow} [data-notice-stay]`), fill(m['common.date_range'], { from: await pageDate(p, a.entered_on), to: await pageDate(p, until) }));
      const filedAt = await p.textContent(`${filedRow} [data-notice-filed-at]`);
      assert.ok(filedAt.startsWith(m['host.notice.filed_at'].replace('{time}', '')) && filedAt.length > m['host.notice.filed_at'].length, filedAt);
      assert.equal(await p.locator(`${filedRow} [data-notice-late]`).count(), 0, 'filed on time');
      assert.equal(await p.locator(`${filedRow} [data-file-link]`).count(), 0);
      assert.equal(await p.locator('[data-notice-form]').count(), 0, 'no form once filed');
    };
    await checkFiled(page);
    const listed = (await api('GET', '/hosts/current/arrivals', { token: hostA.token })).body.arrivals[0];
    assert.equal(listed.status, 'filed');
    assert.deepEqual({ ...listed.notice, filed_at: null }, { address, stay_from: a.entered_on, stay_until: until, late: false, filed_at: null });
    await inspect(page, 'en-host-arrival-filed');

    // Reloaded: still filed, no form.
    await page.reload();
    await ready(page);
    await page.waitForSelector(filedRow);
    await checkFiled(page);

    // The second tab files too: 409, said above the list, which is read again.
    await stale.fill(`${form} [data-notice-input="address"]`, 'Astana, Kabanbay Batyr 10');
    await stale.click(`${form} button[type="submit"]`);
    await stale.waitForSelector('[data-arrival-result="problem"]');
    assert.equal(await stale.textContent('[data-arrival-problem]'), m['problem.notice-already-filed']);
    assert.equal(await stale.textContent('#arrival-result-title'), fill(m['host.notice.not_filed_title'], { name: 'SHARMA PRIYA ANIL' }));
    await stale.waitForSelector(form, { state: 'detached' });
    await checkFiled(stale);
    await inspect(stale, 'en-host-arrival-already-filed');
    assert.equal((await api('GET', '/hosts/current/arrivals', { token: hostA.token })).body.arrivals[0].notice.address, address, 'the first notice stands');

    assert.deepEqual(errors, []);
    assert.deepEqual(staleErrors, []);
  } finally {
    await context.close();
  }
});

// ---------- the console's tab ----------

test('the console\'s "Arrival notices" tab: B\'s awaiting with its contact and visa, not A\'s filed, none overdue; read only (en)', { skip: gateway && gateway.external, timeout: 120_000 }, async () => {
  const m = MESSAGES.en;
  // Host A's notice is filed (the test above), B's is not.
  if ((await api('GET', '/hosts/current/arrivals', { token: hostA.token })).body.arrivals[0].status === 'awaiting') {
    const filed = await api('POST', `/hosts/current/arrivals/${hostA.arrival.request_id}/notice`, {
      token: hostA.token, body: { address: 'Astana, Mangilik El 55', stay_from: hostA.arrival.entered_on, stay_until: hostA.lastDay },
    });
    assert.equal(filed.status, 201, JSON.stringify(filed.body));
  }
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const errors = watchConsole(page);
    await signInToConsole(page, 'auditor', 'en', '#arrivals');
    await page.waitForSelector('#arrivals-view:not([hidden])');
    assert.equal(await page.getAttribute('[data-tab="arrivals"]', 'aria-current'), 'page');
    assert.equal(await page.textContent('[data-tab="arrivals"]'), m['officer.tab.arrivals']);

    // Overdue, the default: none.
    assert.equal(await page.inputValue('#arrivals-status'), 'overdue');
    await page.waitForSelector('#arrivals-count[data-arrivals]');
    assert.equal(await page.textContent('#arrivals-count'), m['officer.arrivals.none_overdue']);
    assert.equal(await page.locator('#arrival-queue article').count(), 0);

    // Awaiting: B's, with the contact's phone to call and the visa's number; not A's.
    await page.selectOption('#arrivals-status', 'awaiting');
    await page.click('#arrivals-filter button[type="submit"]');
    const card = `#arrival-queue [data-arrival="${hostB.arrival.request_id}"]`;
    await page.waitForSelector(card);
    assert.equal(await page.locator(`#arrival-queue [data-arrival="${hostA.arrival.request_id}"]`).count(), 0, 'A\'s notice is filed');
    assert.equal(await page.textContent(`${card} h3`), 'OKAFOR CHIDI');
    assert.equal(await page.textContent(`${card} [data-arrival-status]`), m['host.arrival_status.awaiting']);
    assert.equal(await page.textContent(`${card} [data-inviter] dd`), fill(m['officer.requests.host.organisation'], { name: 'Kok Tobe Travel LLP', number: hostB.bin }));
    assert.equal(hostB.phone, '+77015551234');
    assert.equal(await page.textContent(`${card} [data-contact] a`), hostB.phone);
    assert.equal(await page.getAttribute(`${card} [data-contact] a`, 'href'), `tel:${hostB.phone}`);
    assert.ok((await page.textContent(`${card} [data-contact] dd`)).startsWith('Kok Tobe Travel LLP contact, '));
    assert.equal(await page.textContent(`${card} [data-visa] dd`), hostB.visa.visaNumber);
    assert.equal(await page.getAttribute(card, 'data-visa-number'), hostB.visa.visaNumber);
    assert.ok((await page.textContent(card)).includes(hostB.invitee.passport_number));
    assert.ok((await page.textContent(card)).includes(hostB.invitationNumber));
    assert.equal(await page.textContent(`${card} [data-due-on] dd`), await pageDate(page, hostB.arrival.due_on));
    assert.equal(await page.textContent(`${card} [data-entered-on] dd`), fill(m['host.crossing'], { time: await pageDate(page, hostB.arrival.entered_on), checkpoint: 'NQZ' }));
    assert.equal(await page.locator(`${card} [data-days-overdue]`).count(), 0, 'on time');
    // The reminder goes on the second working day: not yet, on the day of entry.
    assert.equal(await page.textContent(`${card} [data-reminded] dd`), m['officer.arrivals.not_reminded']);
    const count = Number(await page.getAttribute('#arrivals-count', 'data-arrivals'));
    assert.equal(await page.locator('#arrival-queue article').count(), count);
    assert.equal(await page.textContent('#arrivals-count'), fill(m['officer.arrivals.count'], { n: count }));
    // Read only: nothing to press or fill.
    assert.equal(await page.locator('#arrival-queue form, #arrival-queue button, #arrival-queue input').count(), 0);
    await inspect(page, 'en-officer-arrivals-awaiting');

    // What the console reads, for every staff group.
    for (const token of [officerToken, borderToken]) {
      const res = await api('GET', '/officer/arrivals?status=awaiting', { token });
      assert.equal(res.status, 200);
      assert.ok(res.body.arrivals.some((x) => x.visa_number === hostB.visa.visaNumber));
    }
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

// ---------- overdue and late, as the pages show them ----------

// A real clock makes no notice overdue within a test (visa_core and the
// handlers' tests pin theirs). What the pages make of `overdue`,
// `filed_late` and a reminder is checked here on the API's own answers,
// rewritten in the browser: B's arrival due two days ago, and a second
// arrival filed late.
test('an overdue arrival stands out and a late notice is marked, on the host page and in the console (en, ru, kk)', { skip: gateway && gateway.external, timeout: 180_000 }, async () => {
  const due = kzDay(-2);
  const entered = kzDay(-6);
  const reminded = new Date(Date.now() - 3 * 86_400_000).toISOString();
  const late = {
    ...hostB.arrival,
    request_id: '01LATE00000000000000000000',
    invitation_number: '999000111222',
    invitee: { ...hostB.arrival.invitee, surname: 'LATEFILER', given_names: 'ANNA', passport_number: 'L7654321' },
    entered_on: kzDay(-9),
    due_on: kzDay(-5),
    status: 'filed_late',
    notice: { address: 'Almaty, Abay 10', stay_from: kzDay(-9), stay_until: kzDay(1), filed_at: new Date().toISOString(), late: true },
  };
  const overdue = (a) => ({ ...a, entered_on: entered, due_on: due, status: 'overdue' });
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const errors = watchConsole(page);
    await page.route('**/api/hosts/current/arrivals', async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      await route.fulfill({ response: res, json: { arrivals: [...body.arrivals.map(overdue), late] } });
    });
    await signInToHost(page, hostB.email);
    const id = hostB.arrival.request_id;
    const row = `#arrivals [data-arrival="${id}"]`;
    const lateRow = `#arrivals [data-arrival="${late.request_id}"]`;
    const staff = await context.newPage();
    const staffErrors = watchConsole(staff);
    await staff.route('**/api/officer/arrivals?status=overdue', async (route) => {
      const res = await route.fetch({ url: route.request().url().replace('status=overdue', 'status=awaiting') });
      const body = await res.json();
      const mine = body.arrivals.filter((a) => a.request_id === id).map((a) => ({ ...overdue(a), reminded_at: reminded }));
      await route.fulfill({ response: res, json: { arrivals: mine } });
    });
    await signInToConsole(staff, 'border', 'en', '#arrivals');
    const card = `#arrival-queue [data-arrival="${id}"]`;
    for (const lang of LANGS) {
      const m = MESSAGES[lang];
      await chooseLanguage(page, lang);
      await page.waitForSelector(row);
      // Overdue: in words (the status, the days), and a bar at the row's start.
      assert.equal(await page.getAttribute(row, 'data-status'), 'overdue');
      assert.equal(await page.textContent(`${row} [data-arrival-status]`), m['host.arrival_status.overdue']);
      assert.equal(await page.textContent(`${row} [data-days-overdue]`), fill(m['host.arrivals.days_overdue'], { n: 2 }));
      assert.equal(await page.textContent(`${row} [data-due-on]`), await pageDate(page, due));
      assert.match(await page.getAttribute(row, 'class'), /\brow--overdue\b/);
      const bar = await page.$eval(`${row} > th`, (th) => getComputedStyle(th).borderLeftWidth);
      assert.equal(bar, '5px');
      // Its form says the notice is late, and may still be filed.
      assert.ok(await page.isVisible(`[data-arrival-form="${id}"] [data-overdue-warning]`));
      assert.equal(await page.textContent(`[data-arrival-form="${id}"] [data-overdue-text]`), fill(m['host.notice.overdue'], { date: await pageDate(page, due) }));
      assert.equal(await page.locator(`[data-notice-form="${id}"] button[type="submit"]`).count(), 1);
      // Filed late: the status in words, and the notice marked late.
      assert.equal(await page.textContent(`${lateRow} [data-arrival-status]`), m['host.arrival_status.filed_late']);
      assert.equal(await page.textContent(`${lateRow} [data-notice-late]`), m['host.notice.late']);
      assert.equal(await page.textContent(`${lateRow} [data-notice-address]`), 'Almaty, Abay 10');
      assert.equal(await page.locator(`[data-notice-form="${late.request_id}"]`).count(), 0);
      await inspect(page, `${lang}-host-arrival-overdue-late`);

      await chooseLanguage(staff, lang);
      await staff.click('#arrivals-filter button[type="submit"]');
      await staff.waitForSelector(`${card}[data-status="overdue"]`);
      assert.equal(await staff.textContent(`${card} [data-arrival-status]`), m['host.arrival_status.overdue']);
      assert.equal(await staff.textContent(`${card} [data-days-overdue] dd`), '2');
      assert.equal(await staff.textContent(`${card} [data-days-overdue] dt`), m['officer.arrivals.days_overdue']);
      assert.equal(await staff.textContent(`${card} [data-reminded] dd`), await staff.evaluate(async (at) => (await import('/js/i18n.js')).formatDateTime(at), reminded));
      assert.match(await staff.getAttribute(card, 'class'), /\bcard--overdue\b/);
      assert.equal(await staff.textContent('#arrivals-count'), fill(m['officer.arrivals.count'], { n: 1 }));
      await inspect(staff, `${lang}-officer-arrivals-overdue-reminded`);
    }
    assert.deepEqual(errors, []);
    assert.deepEqual(staffErrors, []);
  } finally {
    await context.close();
  }
});

// ---------- every state, in each language ----------

for (const lang of LANGS) {
  test(`an arrival's states on the host page and the console's tab, accessible and translated (${lang})`, { skip: gateway && gateway.external, timeout: 240_000 }, async () => {
    const m = MESSAGES[lang];
    const host = await hostWithArrival(`lang-${lang}`, { name: `Saryarka ${lang.toUpperCase()} LLP`, phone: '+7 717 255 00 11', surname: 'TANAKA', givenNames: 'YUKI' });
    const id = host.arrival.request_id;
    const form = `[data-notice-form="${id}"]`;
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const errors = watchConsole(page);
      await signInToHost(page, host.email, lang);
      const row = await rowOf(page, id);
      assert.equal(row.status, 'awaiting');
      assert.equal(row.tag, m['host.arrival_status.awaiting']);
      assert.equal(row.due, await pageDate(page, host.arrival.due_on));
      assert.equal(await page.textContent('#arrivals-title'), m['host.arrivals.heading']);
      assert.equal(await page.textContent(`${form} button[type="submit"]`), m['host.notice.submit']);
      assert.equal(await page.textContent(`label[for="arrival-${id}-address"]`), m['host.notice.address']);
      await inspect(page, `${lang}-host-arrival-awaiting`);

      // The address missing, the last day cleared: each said at its field.
      for (const p of ['day', 'month', 'year']) await page.fill(`${form} [data-notice-input="stay_until-${p}"]`, '');
      await page.click(`${form} button[type="submit"]`);
      assert.equal(await fieldError(page, id, 'address'), m['missing.address']);
      assert.equal(await fieldError(page, id, 'stay_until'), m['missing.stay_until']);
      assert.ok((await page.title()).startsWith(fill(m['title.error'], { title: '' }).trim()));
      await inspect(page, `${lang}-host-arrival-missing`);
      // The language changes under the messages: they follow.
      const other = LANGS.find((l) => l !== lang);
      await chooseLanguage(page, other);
      assert.equal(await fieldError(page, id, 'address'), MESSAGES[other]['missing.address']);
      assert.equal((await rowOf(page, id)).due, await pageDate(page, host.arrival.due_on));
      await chooseLanguage(page, lang);

      // Filed.
      await page.fill(`${form} [data-notice-input="address"]`, 'Astana, Dostyk 5, apt 3');
      await fillDate(page, id, 'stay_until', host.lastDay);
      await page.click(`${form} button[type="submit"]`);
      await page.waitForSelector('[data-arrival-result="filed"]');
      assert.equal(await page.textContent('#arrival-result-title'), m['host.notice.filed_title']);
      const filed = await rowOf(page, id);
      assert.equal(filed.status, 'filed');
      assert.equal(filed.tag, m['host.arrival_status.filed']);
      assert.equal(await page.textContent(`#arrivals [data-arrival="${id}"] [data-notice-address]`), 'Astana, Dostyk 5, apt 3');
      assert.equal(await page.locator(form).count(), 0);
      await inspect(page, `${lang}-host-arrival-filed`);

      // The console's tab in this language: nothing overdue; B's awaiting, this host's filed one gone.
      const staff = await context.newPage();
      const staffErrors = watchConsole(staff);
      await signInToConsole(staff, 'officer', lang, '#arrivals');
      await staff.waitForSelector('#arrivals-count[data-arrivals]');
      assert.equal(await staff.textContent('#arrivals-count'), m['officer.arrivals.none_overdue']);
      assert.equal(await staff.textContent('#arrivals-title'), m['officer.arrivals.heading']);
      await inspect(staff, `${lang}-officer-arrivals-overdue`);
      await staff.selectOption('#arrivals-status', 'awaiting');
      await staff.click('#arrivals-filter button[type="submit"]');
      const card = `#arrival-queue [data-arrival="${hostB.arrival.request_id}"]`;
      await staff.waitForSelector(card);
      assert.equal(await staff.locator(`#arrival-queue [data-arrival="${id}"]`).count(), 0);
      assert.equal(await staff.textContent(`${card} [data-arrival-status]`), m['host.arrival_status.awaiting']);
      assert.equal(await staff.textContent(`${card} [data-visa] dt`), m['field.visa_number']);
      assert.equal(await staff.textContent(`${card} [data-due-on] dd`), await pageDate(staff, hostB.arrival.due_on));
      assert.equal(await staff.getAttribute(`${card} [data-contact] a`, 'href'), `tel:${hostB.phone}`);
      await inspect(staff, `${lang}-officer-arrivals-awaiting`);
      assert.deepEqual(errors, []);
      assert.deepEqual(staffErrors, []);
    } finally {
      await context.close();
    }
  });
}
