// The link an invitation's email carries (`/apply?invitation=<number>`,
// render-visa's mail) opens the application with the number filled in,
// through sign-in; anything but twelve digits fills nothing.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, launchBrowser, ready, uniqueEmail, callApi, TEST_PASSWORD } from './harness.js';

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

test('the invitation email link fills the number in, through signing in', { timeout: 120_000 }, async () => {
  const email = uniqueEmail('linked');
  assert.equal((await callApi(gateway.baseUrl, 'POST', '/accounts', { body: { email, password: TEST_PASSWORD } })).status, 201);
  const context = await browser.newContext();
  const page = await context.newPage();
  // Not signed in yet: the link goes through the sign-in page and back.
  await page.goto(`${gateway.baseUrl}/apply?invitation=250000000777`);
  await page.waitForURL(/\/sign-in\?/);
  await ready(page);
  assert.equal(new URL(page.url()).searchParams.get('next'), '/apply?invitation=250000000777');
  await page.fill('#email', email);
  await page.fill('#password', TEST_PASSWORD);
  await page.click('form button[type="submit"]');
  await page.waitForURL(/\/apply\?invitation=250000000777$/);
  await ready(page);
  assert.equal(await page.inputValue('#invitation-number'), '250000000777');
  await page.goto(`${gateway.baseUrl}/apply?invitation=not-a-number`);
  await ready(page);
  assert.equal(await page.inputValue('#invitation-number'), '', 'nothing filled from a bad link');
  await context.close();
});
