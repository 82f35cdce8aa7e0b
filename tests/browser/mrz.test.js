// Passport first (#23), in a real browser and in each language: the
// applicant pastes the two lines of the passport's machine-readable zone;
// a wrong check digit is named by its group and its characters marked;
// corrected, the lines fill the passport fields with exactly what they
// say; the application is created (the invitation matched the passport)
// and the check page compares the passport with the visa's MRZ detail by
// detail. Then a name with letters the MRZ has not (ÖZDEMİR) is "written
// as the MRZ writes it" there, not "different". axe runs on every state.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  LANGS, MESSAGES, TEST_PASSWORD, startGateway, launchBrowser, createInvitation, uniqueEmail,
  ready, inspect, watchConsole, isoDay, callApi, chooseLanguage, assertFilled,
} from './harness.js';
import { formatTd3 } from '../../site/js/mrz.js';

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

// ICAO Doc 9303 Part 3, 4.9, written again here so that the lines the test
// builds with the site's module are checked by other code (the module
// itself is checked against the ICAO specimens in unit.test.js).
function checkDigit(s) {
  const value = (c) => (c === '<' ? 0 : /\d/.test(c) ? Number(c) : c.charCodeAt(0) - 55);
  return String([...s].reduce((sum, c, i) => sum + value(c) * [7, 3, 1][i % 3], 0) % 10);
}
const yymmdd = (iso) => iso.slice(2).replace(/-/g, '');
const fill = (template, vars) => template.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));

/** An account made through the API, and a browser context signed in to it. */
async function signedInContext(tag) {
  const email = uniqueEmail(tag);
  assert.equal((await callApi(gateway.baseUrl, 'POST', '/accounts', { body: { email, password: TEST_PASSWORD } })).status, 201);
  const session = await callApi(gateway.baseUrl, 'POST', '/sessions', { body: { email, password: TEST_PASSWORD } });
  assert.equal(session.status, 201);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addInitScript((value) => {
    if (!sessionStorage.getItem('visa.session')) sessionStorage.setItem('visa.session', value);
  }, JSON.stringify({ token: session.body.token, expires_at: session.body.expires_at }));
  return { context, token: session.body.token };
}

async function status(page, state) {
  await page.waitForSelector(`#mrz-status[data-state="${state}"]`, { timeout: 15_000 });
  return (await page.textContent('#mrz-status')).trim();
}

async function dateValue(page, base) {
  return Promise.all(['day', 'month', 'year'].map((p) => page.inputValue(`#${base}-${p}`)));
}

for (const lang of LANGS) {
  test(`passport first: the MRZ fills the form and the check page compares it with the visa, in ${lang}`, { timeout: 600_000 }, async (t) => {
    const m = MESSAGES[lang];
    const shot = (name) => `${lang}-mrz-${name}`;
    // The passport: a number of 8 (one filler in its field of 9), two given names.
    const passportNumber = `L${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
    const invitation = await createInvitation(gateway, {
      invitee: { surname: 'ERIKSSON', given_names: 'ANNA MARIA', nationality: 'IND', date_of_birth: '1974-08-12', passport_number: passportNumber },
    });
    const expiry = isoDay(3 * 365);
    const lines = formatTd3({
      issuingState: 'IND', surname: 'ERIKSSON', givenNames: 'ANNA MARIA', number: passportNumber, nationality: 'IND',
      dateOfBirth: '1974-08-12', sex: 'F', expiryDate: expiry, personalNumber: 'ZE184226B',
    });
    // What the passport prints, checked digit by digit without the site's code.
    assert.equal(lines[0], 'P<INDERIKSSON<<ANNA<MARIA'.padEnd(44, '<'));
    const body = `${passportNumber}<${checkDigit(`${passportNumber}<`)}IND740812${checkDigit('740812')}F${yymmdd(expiry)}${checkDigit(yymmdd(expiry))}ZE184226B<<<<<${checkDigit('ZE184226B<<<<<')}`;
    assert.equal(lines[1], body + checkDigit(body.slice(0, 10) + body.slice(13, 20) + body.slice(21, 43)));
    // The same lines with the date of birth's check digit wrong.
    const wrongDigit = String((Number(lines[1][19]) + 5) % 10);
    const wrong = [lines[0], `${lines[1].slice(0, 19)}${wrongDigit}${lines[1].slice(20)}`];

    const { context } = await signedInContext(`mrz-${lang}`);
    const page = await context.newPage();
    const consoleErrors = watchConsole(page);
    try {
      await t.test('the form offers the MRZ before the passport fields', async () => {
        await page.goto(`${gateway.baseUrl}/apply`);
        await ready(page);
        await chooseLanguage(page, lang);
        assert.equal((await page.textContent('#mrz-entry h3')).trim(), m['mrz.heading']);
        assert.equal((await page.textContent('label[for="mrz-lines"]')).trim(), m['mrz.label']);
        // Before the passport fields, in the order of the page.
        assert.equal(await page.evaluate(() => Boolean(document.getElementById('mrz-lines').compareDocumentPosition(document.getElementById('passport-number')) & Node.DOCUMENT_POSITION_FOLLOWING)), true);
        assert.equal(await page.getAttribute('#mrz-status', 'role'), 'status');
        assert.equal(await page.getAttribute('#mrz-status', 'aria-live'), 'polite');
        assert.equal(await page.isVisible('#mrz-fill'), false);
      });

      await t.test('a wrong check digit names its group and marks its characters', async () => {
        // Pasted as people paste: lower case, a space, a trailing line break
        // (which the box drops, so that the first line stays in view).
        const pasted = `${wrong[0].toLowerCase()}\n ${wrong[1].toLowerCase()}\n`;
        await page.focus('#mrz-lines');
        await page.evaluate((text) => {
          const data = new DataTransfer();
          data.setData('text/plain', text);
          document.getElementById('mrz-lines').dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
        }, pasted);
        assert.equal(await page.inputValue('#mrz-lines'), pasted.trimEnd());
        const text = await status(page, 'errors');
        const errors = page.locator('#mrz-status [data-mrz-error]');
        assert.equal(await errors.count(), 1, text);
        assert.equal(await errors.first().getAttribute('data-group'), 'birth');
        const where = fill(m['mrz.where.range'], { line: 2, from: 14, to: 20 });
        assert.equal((await errors.first().textContent()).trim(), fill(m['mrz.error.check.birth'], { where }));
        // The characters at fault, marked in a copy of the lines, with ^ under them.
        assert.equal(await page.isVisible('#mrz-marked'), true);
        assert.equal(await page.textContent('#mrz-marked mark[data-mrz-mark="birth"]'), `740812${wrongDigit}`);
        assert.equal(await page.locator('#mrz-marked mark').count(), 1);
        assert.equal(await page.textContent('#mrz-marked .mrz-carets'), `${' '.repeat(13)}^^^^^^^`);
        assert.equal(await page.getAttribute('#mrz-lines', 'aria-invalid'), 'true');
        assert.equal(await page.isVisible('#mrz-fill'), false, 'nothing to fill in from lines that do not check');
        assert.equal(await page.inputValue('#passport-number'), '');
        await inspect(page, shot('error'));
      });

      await t.test('corrected, the lines fill the passport fields with what they say', async () => {
        await page.fill('#mrz-lines', lines.join('\n'));
        assert.ok((await status(page, 'valid')).includes(m['mrz.valid']));
        assert.equal(await page.isVisible('#mrz-marked'), false);
        assert.equal(await page.getAttribute('#mrz-lines', 'aria-invalid'), null);
        await inspect(page, shot('valid'));
        await page.click('#mrz-fill');
        assert.ok((await status(page, 'filled')).includes(m['mrz.filled']));
        assert.equal(await page.inputValue('#passport-number'), passportNumber, 'the number without its filler');
        assert.equal(await page.inputValue('#passport-surname'), 'ERIKSSON');
        assert.equal(await page.inputValue('#passport-given-names'), 'ANNA MARIA');
        assert.equal(await page.isChecked('#passport-sex'), true, 'F');
        assert.equal(await page.isChecked('#passport-sex-m'), false);
        assert.deepEqual(await dateValue(page, 'passport-dob'), ['12', '8', '1974']);
        assert.deepEqual(await dateValue(page, 'passport-expiry'), expiry.split('-').reverse().map((p, i) => (i < 2 ? String(Number(p)) : p)));
        assert.equal(await page.inputValue('#passport-nationality'), 'IND');
        assert.equal(await page.inputValue('#passport-issuing-state'), 'IND');
        // The fields stay the applicant's to change.
        assert.equal(await page.isEditable('#passport-surname'), true);
        await inspect(page, shot('filled'));
      });

      await t.test('the application is created: the filled passport matches the invitation', async () => {
        await page.fill('#invitation-number', invitation.number);
        await page.check('#declarations-two-blank-pages');
        await page.check('#declarations-passport-undamaged');
        await page.click('#apply-form button[type="submit"]');
        await page.waitForURL(/\/check\?application=/, { timeout: 15_000 });
        await ready(page);
      });

      await t.test('the check page compares the passport with the visa, detail by detail', async () => {
        await page.waitForSelector('table[data-compare="table"]');
        const headers = (await page.locator('table[data-compare="table"] thead th').allTextContents()).map((s) => s.trim());
        assert.deepEqual(headers, [m['mrz.compare.col.detail'], m['mrz.compare.col.passport'], m['mrz.compare.col.visa'], m['mrz.compare.col.result']]);
        const row = (field) => page.locator(`tr[data-compare="${field}"]`);
        const result = async (field) => {
          const tag = row(field).locator('[data-result]');
          return [await tag.getAttribute('data-result'), (await tag.textContent()).trim()];
        };
        for (const field of ['surname', 'given_names', 'nationality', 'date_of_birth', 'sex']) {
          assert.deepEqual(await result(field), ['same', m['mrz.result.same']], field);
        }
        // A visa's MRZ has the visa's number, not the passport's: said so, not "different".
        assert.deepEqual(await result('number'), ['not-in-mrz', m['mrz.result.not_in_mrz']]);
        assert.equal(await page.locator('[data-compare-note="different"]').count(), 0);
        const cells = async (field) => (await row(field).locator('td [data-value]').allTextContents()).map((s) => s.trim());
        assert.deepEqual(await cells('surname'), ['ERIKSSON', 'ERIKSSON']);
        assert.deepEqual(await cells('given_names'), ['ANNA MARIA', 'ANNA MARIA']);
        assert.equal((await cells('number'))[0], passportNumber);
        assertFilled((await cells('number'))[1], m['mrz.compare.visa_number'], 'number');
        assert.deepEqual(await row('date_of_birth').locator('[data-code]').allTextContents(), ['740812']);
        assert.deepEqual(await row('sex').locator('[data-code]').allTextContents(), ['F']);
        assert.deepEqual(await row('nationality').locator('[data-code]').allTextContents(), ['IND', 'IND']);
        // The visa's own MRZ says the same.
        assert.equal(await page.textContent('[data-mrz-line="1"]'), 'V<KAZERIKSSON<<ANNA<MARIA'.padEnd(36, '<'));
        await inspect(page, shot('check'));
      });
      assert.deepEqual(consoleErrors, []);
    } finally {
      await context.close();
    }
  });
}

test('a name the MRZ spells in A to Z is "written as the MRZ writes it", in every language', { timeout: 300_000 }, async () => {
  const passportNumber = `U${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
  const invitee = { surname: 'ÖZDEMİR', given_names: 'AYŞE NUR', nationality: 'IND', date_of_birth: '1985-11-03', passport_number: passportNumber };
  const invitation = await createInvitation(gateway, { invitee });
  const { context, token } = await signedInContext('mrz-written');
  const created = await callApi(gateway.baseUrl, 'POST', '/applications', {
    token,
    body: {
      invitation_number: invitation.number,
      passport: { number: passportNumber, surname: invitee.surname, given_names: invitee.given_names, nationality: 'IND', sex: 'X', date_of_birth: invitee.date_of_birth, issuing_state: 'IND', expiry_date: isoDay(3 * 365) },
      declarations: { two_blank_pages: true, passport_undamaged: true },
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  // The server writes Ö as OE (Doc 9303's recommended option), İ as I, Ş as S.
  assert.equal(created.body.mrz[0], 'V<KAZOEZDEMIR<<AYSE<NUR'.padEnd(36, '<'));
  const page = await context.newPage();
  const consoleErrors = watchConsole(page);
  try {
    await page.goto(`${gateway.baseUrl}/check?application=${encodeURIComponent(created.body.id)}`);
    await ready(page);
    for (const lang of LANGS) {
      const m = MESSAGES[lang];
      await chooseLanguage(page, lang);
      await page.waitForSelector('table[data-compare="table"]');
      const row = (field) => page.locator(`tr[data-compare="${field}"]`);
      for (const [field, passport, visa] of [['surname', 'ÖZDEMİR', 'OEZDEMIR'], ['given_names', 'AYŞE NUR', 'AYSE NUR']]) {
        assert.deepEqual((await row(field).locator('td [data-value]').allTextContents()).map((s) => s.trim()), [passport, visa]);
        assert.equal(await row(field).locator('[data-result]').getAttribute('data-result'), 'written');
        assert.equal((await row(field).locator('[data-result]').textContent()).trim(), m['mrz.result.written']);
      }
      // Unspecified sex: X entered, < in the MRZ.
      assert.equal(await row('sex').locator('[data-result]').getAttribute('data-result'), 'same');
      assert.deepEqual(await row('sex').locator('[data-code]').allTextContents(), ['<']);
      assert.equal((await page.textContent('[data-compare-note="written"]')).trim(), m['mrz.compare.written_note']);
      assert.equal(await page.locator('[data-compare-note="different"]').count(), 0);
      await inspect(page, `${lang}-mrz-check-written`);
    }
    assert.deepEqual(consoleErrors, []);
  } finally {
    await context.close();
  }
});
