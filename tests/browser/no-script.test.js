// Every page with scripts disabled, in each language (issue #23): the page
// arrives with its words (the gateway fills the template's keys for the
// reader's language), its first heading reads as the translation file
// says, its notice says the forms and buttons need JavaScript, and no form
// or button is left on show, dead. With scripts on, the notice is not
// shown and the forms are. (axe needs scripts to run: the pages' words are
// the same ones the other browser tests check with it.)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LANGS, MESSAGES, SITE_DIR, startGateway, launchBrowser } from './harness.js';

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

/** Each page of the site and the key of its first heading, if the template has one. */
const PAGES = readdirSync(SITE_DIR)
  .filter((name) => name.endsWith('.html'))
  .map((name) => {
    const html = readFileSync(join(SITE_DIR, name), 'utf8');
    const heading = /<h1[^>]*data-i18n="([^"]+)"/.exec(html);
    const page = name.replace(/\.html$/, '');
    return { path: page === 'index' ? '/' : `/${page}`, headingKey: heading ? heading[1] : null };
  });

test('every page of the site is among those read', () => {
  assert.ok(PAGES.length >= 14, PAGES.map((p) => p.path).join(' '));
  assert.ok(PAGES.filter((p) => p.headingKey).length >= PAGES.length - 1, 'a heading in the template of all but one');
});

for (const lang of LANGS) {
  test(`every page reads without scripts, in ${lang}`, async () => {
    const context = await browser.newContext({ javaScriptEnabled: false, locale: 'en-GB' });
    // The reader's choice, as the site's language menu leaves it.
    await context.addCookies([{ name: 'visa_lang', value: lang, url: gateway.baseUrl }]);
    const page = await context.newPage();
    try {
      for (const { path, headingKey } of PAGES) {
        const res = await page.goto(gateway.baseUrl + path);
        assert.equal(res.status(), 200, path);
        assert.equal(await page.getAttribute('html', 'lang'), lang, path);
        // Each heading on show reads as the translation file says. A page
        // that only acts (a confirmation or reset link's) or is all behind a
        // staff sign-in (the console) shows none but the notice.
        const headings = await page.locator('h1').evaluateAll((els) =>
          els.filter((e) => e.offsetParent !== null).map((e) => [e.getAttribute('data-i18n'), e.textContent.trim()]));
        for (const [key, text] of headings) assert.equal(text, MESSAGES[lang][key], `${lang} ${path}`);
        if (headingKey && !['/confirm-email', '/reset-password', '/officer'].includes(path)) {
          assert.ok(headings.length > 0, `${lang} ${path}: no heading on show`);
        }
        // Playwright's text and visibility engines skip <noscript>: read it from the page.
        const notices = await page.locator('noscript p').evaluateAll((els) =>
          els.filter((e) => e.offsetParent !== null).map((e) => e.textContent.trim()));
        assert.deepEqual(notices, [MESSAGES[lang]['noscript.notice']], `${lang} ${path}: the notice that the forms need JavaScript`);
        const dead = await page.locator('form, button').evaluateAll((els) => els.filter((e) => e.offsetParent !== null).length);
        assert.equal(dead, 0, `${lang} ${path}: a form or button on show without scripts`);
        assert.ok((await page.title()).length > 0, `${lang} ${path}: no title`);
      }
    } finally {
      await context.close();
    }
  });
}

test('with scripts on, the notice is not shown and the forms are', async () => {
  const context = await browser.newContext({ locale: 'en-GB' });
  const page = await context.newPage();
  try {
    await page.goto(`${gateway.baseUrl}/sign-in`);
    await page.waitForSelector('html[data-i18n-ready]');
    const shown = await page.locator('noscript').evaluateAll((els) => els.filter((e) => e.offsetParent !== null).length);
    assert.equal(shown, 0, 'the notice shows with scripts on');
    assert.ok(await page.locator('form').first().isVisible());
  } finally {
    await context.close();
  }
});
