// The migration service's changes to a visa, as its holder and border
// control see them in a real browser, in each language: a visa issued
// through the API, then cancelled by an officer with `visa-local visa
// cancel` on the running gateway's data dir. The cabinet says so (no
// download, the status "Cancelled") and the verify page's online check
// says it is not to be accepted; restored and shortened, the cabinet
// offers the PDF again and says it now ends earlier than it printed.
// axe-core runs on each state at 1280 and 360 px.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  LANGS, MESSAGES, startGateway, launchBrowser, gatewayBinary, issueVisaThroughApi, signInToCabinet, inspect, watchConsole, ready, chooseLanguage,
} from './harness.js';

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

/** An officer's command on the gateway's data dir, as on the laptop. */
function officer(...args) {
  return execFileSync(gatewayBinary(), ['visa', ...args, '--officer', 'Aigerim Nurlanovna'], {
    env: { ...process.env, VISA_DATA_DIR: gateway.dataDir, VISA_DEMO: '0', RUST_LOG: 'warn' },
    encoding: 'utf8',
  });
}

/** The static part of a message (what precedes its first placeholder). */
const lead = (message) => message.split('{')[0].trim();

for (const lang of LANGS) {
  test(`a cancelled, restored and shortened visa in the cabinet and at the border (${lang})`, { skip: gateway && gateway.external }, async () => {
    const m = MESSAGES[lang];
    const visa = await issueVisaThroughApi(gateway, `visa-life-${lang}`);
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const errors = watchConsole(page);
      await signInToCabinet(page, gateway, lang, visa.email);
      const card = `[data-application="${visa.id}"]`;
      await page.waitForSelector(`${card} [data-download]`);

      assert.match(officer('cancel', visa.visaNumber, '--reason', 'the host withdrew the invitation'), /cancelled/);
      await page.reload();
      await ready(page);
      const cancelled = page.locator(`${card} [data-visa-change="cancelled"]`);
      await cancelled.waitFor();
      assert.ok((await cancelled.textContent()).includes(lead(m['cabinet.visa_cancelled'])));
      assert.equal(await page.locator(`${card} [data-download]`).count(), 0, 'a cancelled visa is not offered for printing');
      assert.ok((await page.textContent(card)).includes(m['status.cancelled']));
      // The reason is the audit trail's, not the applicant's page's.
      assert.ok(!(await page.textContent('body')).includes('withdrew'));
      await inspect(page, `${lang}-cabinet-visa-cancelled`);

      // Border control's online check, by number and passport.
      await page.goto(`${gateway.baseUrl}/verify`);
      await ready(page);
      await chooseLanguage(page, lang);
      await page.fill('#visa-number', visa.visaNumber);
      await page.fill('#verify-passport-number', visa.passportNumber);
      await page.click('#verify-form button[type="submit"]');
      await page.waitForSelector('#manual-result[data-status="cancelled"] [data-verdict="invalid"]');
      assert.ok((await page.textContent('#manual-result')).includes(m['verify.standing.cancelled']));
      await inspect(page, `${lang}-verify-cancelled-live`);

      officer('restore', visa.visaNumber, '--reason', 'the appeal was upheld');
      officer('shorten', visa.visaNumber, '--until', visa.validFrom, '--reason', 'stay reduced to one day');
      await signInToCabinet(page, gateway, lang, visa.email);
      const shortened = page.locator(`${card} [data-visa-change="shortened"]`);
      await shortened.waitFor();
      assert.ok((await shortened.textContent()).includes(lead(m['cabinet.visa_shortened'])));
      assert.equal(await page.locator(`${card} [data-download]`).count(), 1);
      await inspect(page, `${lang}-cabinet-visa-shortened`);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
}
