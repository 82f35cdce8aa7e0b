// The border verifier without a network (issue #21). A visa is issued on
// the real gateway and printed (its PDF rendered by poppler); Chromium's
// fake camera plays that page as video. The verify page is used once
// online (it saves the keys; its service worker keeps the page, and the
// barcode reader from that first scan), then the gateway is stopped and
// the network cut: the camera scan still verifies the QR code and the ICAO
// digital seal on the device. A second camera,
// in the same browser profile and still offline, shows a forger's copy of
// both codes (one claim and the passport number changed, signatures kept):
// both are refused.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { chromium } from 'playwright-core';
import {
  CHROMIUM_ARGS, MESSAGES, startGateway, gatewayBinary, issueVisaThroughApi, callApi, ready,
  expectNoAxeViolations, watchConsole,
} from './harness.js';
import { visaUrlFromPdf } from './qr.js';

const work = mkdtempSync(join(tmpdir(), 'visa-offline-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** A binary PGM (P5) as a one-frame Y4M video, gray (4:2:0, chroma neutral), cut to even sides. */
function pgmToY4m(pgm) {
  const header = [];
  let at = 0;
  while (header.length < 4) {
    while (/\s/.test(String.fromCharCode(pgm[at]))) at += 1;
    let token = '';
    while (!/\s/.test(String.fromCharCode(pgm[at]))) token += String.fromCharCode(pgm[at++]);
    header.push(token);
  }
  at += 1;
  const [magic, w, h, max] = header;
  assert.equal(magic, 'P5');
  assert.equal(max, '255');
  const [width, height] = [Number(w), Number(h)];
  const [ew, eh] = [width - (width % 2), height - (height % 2)];
  const luma = Buffer.alloc(ew * eh);
  for (let y = 0; y < eh; y += 1) pgm.copy(luma, y * ew, at + y * width, at + y * width + ew);
  const chroma = Buffer.alloc((ew / 2) * (eh / 2), 128);
  return Buffer.concat([Buffer.from(`YUV4MPEG2 W${ew} H${eh} F5:1 Ip A1:1 C420jpeg\nFRAME\n`), luma, chroma, chroma]);
}

function run(cmd, args) {
  return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

/** A browser whose camera plays `video`, with the profile in `profile` (kept between launches). */
function launchWithCamera(profile, video, lang) {
  return chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: [
      ...CHROMIUM_ARGS,
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-video-capture=${video}`,
    ],
    permissions: ['camera'],
    locale: lang,
  });
}

async function scan(page) {
  await page.click('#scan-start');
  await page.waitForSelector('#token-result[data-signature]', { timeout: 60_000 });
  await page.waitForSelector('#seal-result[data-signature]', { timeout: 10_000 });
}

const text = (page, selector) => page.locator(selector).innerText();

test('offline after one sync: the camera verifies a printed visa and refuses a forged one', { timeout: 420_000 }, async () => {
  const gateway = await startGateway();
  let stopped = false;
  try {
    const visa = await issueVisaThroughApi(gateway, 'offline');
    const link = await callApi(gateway.baseUrl, 'GET', `/applications/${encodeURIComponent(visa.id)}/visa`, { token: visa.token });
    assert.equal(link.status, 200);
    const pdf = join(work, 'visa.pdf');
    writeFileSync(pdf, Buffer.from(await (await fetch(link.body.url)).arrayBuffer()));

    // The printed page, as the camera sees it, and the two codes read from it by tools nobody here wrote.
    run('pdftoppm', ['-gray', '-r', '200', '-singlefile', pdf, join(work, 'page')]);
    writeFileSync(join(work, 'genuine.y4m'), pgmToY4m(readFileSync(join(work, 'page.pgm'))));
    const qr = visaUrlFromPdf(pdf);
    run('pdftoppm', ['-png', '-r', '300', '-singlefile', pdf, join(work, 'page300')]);
    const seal = run('dmtxread', ['-N', '1', join(work, 'page300.png')]);
    assert.equal(seal[0], 0xdc, 'the Data Matrix holds a digital seal');
    const forge = join(dirname(gatewayBinary()), 'forge-visa-codes');
    assert.ok(existsSync(forge), `${forge} missing: cargo build -p visa-tests --bin forge-visa-codes`);
    run(forge, ['--qr', qr, '--seal', seal.toString('hex'), '--out', join(work, 'forged.pgm')]);
    writeFileSync(join(work, 'forged.y4m'), pgmToY4m(readFileSync(join(work, 'forged.pgm'))));

    const profile = join(work, 'profile');
    const en = MESSAGES.en;

    // One visit online: the keys are saved and the page kept.
    let context = await launchWithCamera(profile, join(work, 'genuine.y4m'), 'en');
    let page = context.pages()[0] || await context.newPage();
    const errors = watchConsole(page);
    await page.goto(`${gateway.baseUrl}/verify`);
    await ready(page);
    await page.waitForFunction(() => navigator.serviceWorker.ready.then((r) => Boolean(r.active)));
    await page.waitForSelector('#sync-status[data-synced]:not([data-synced=""])');
    await scan(page);
    assert.equal(await page.getAttribute('#seal-result', 'data-signature'), 'valid', await text(page, '#seal-result'));
    // Each check online saves the keys again: this one is the last sync.
    const synced = await page.getAttribute('#sync-status', 'data-synced');

    // The network goes: the gateway stops and the browser is offline.
    await gateway.stop();
    stopped = true;
    await context.setOffline(true);
    await page.reload();
    await ready(page);
    assert.equal(await text(page, 'h1'), en['verify.heading']);
    assert.equal(await page.getAttribute('#sync-status', 'data-synced'), synced, 'the last sync is the online visit');
    assert.ok((await text(page, '#sync-status')).startsWith(en['verify.sync.offline'].split('{when}')[0]));

    await scan(page);
    assert.equal(await page.getAttribute('#token-result', 'data-signature'), 'valid', await text(page, '#token-result'));
    assert.equal(await page.getAttribute('#seal-result', 'data-signature'), 'valid', await text(page, '#seal-result'));
    assert.equal(await text(page, '#token-result [data-holder="visa_number"]'), visa.visaNumber);
    assert.equal(await text(page, '#seal-result [data-holder="visa_number"]'), visa.visaNumber);
    assert.equal(await text(page, '#seal-result [data-holder="passport_number"]'), visa.passportNumber);
    assert.equal(await page.locator('[data-mismatch]').count(), 0);
    await expectNoAxeViolations(page, 'verify offline, genuine visa scanned');
    // Typing a number needs the portal: said plainly.
    await page.fill('#visa-number', visa.visaNumber);
    await page.fill('#verify-passport-number', visa.passportNumber);
    await page.click('#verify-form button[type=submit]');
    await page.waitForSelector('#manual-result [role=alert]');
    assert.equal(await text(page, '#manual-result [role=alert]'), en['problem.network']);
    assert.deepEqual(errors.filter((e) => !/Failed to load resource|ERR_INTERNET_DISCONNECTED|ERR_CONNECTION_REFUSED/.test(e)), []);
    await context.close();

    // Another day, still offline, in Kazakh: a forger's copy of the codes.
    context = await launchWithCamera(profile, join(work, 'forged.y4m'), 'kk');
    await context.setOffline(true);
    page = context.pages()[0] || await context.newPage();
    await page.addInitScript(() => localStorage.setItem('visa.lang', 'kk'));
    await page.goto(`${gateway.baseUrl}/verify`);
    await ready(page);
    const kk = MESSAGES.kk;
    assert.equal(await text(page, 'h1'), kk['verify.heading']);
    await scan(page);
    assert.equal(await page.getAttribute('#token-result', 'data-signature'), 'invalid');
    assert.equal(await page.getAttribute('#seal-result', 'data-signature'), 'invalid');
    assert.ok((await text(page, '#token-result')).includes(kk['verify.reason.bad-signature']));
    assert.ok((await text(page, '#seal-result')).includes(kk['verify.seal.reason.bad-signature']));
    await context.close();
  } finally {
    if (!stopped) await gateway.stop();
  }
});
