// The slow-link budget (issue #23): each page of the site loaded on a first
// visit in Chromium throttled to 400 kbit/s each way with a 400 ms round
// trip, printing the time until the first heading has its text, the bytes
// and requests moved, and whether the heading has its text with scripts
// disabled. Figures, not a test: the targets (start page's text within
// 1.5 s, at most 60 KB on a first visit, no page over 100 KB, every page
// readable without scripts) are read against PERFORMANCE.md.
//
//   VISA_LOCAL_BIN=... node slow-link.js [--lang en|ru|kk] [--json out.json]

import { writeFileSync } from 'node:fs';
import { startGateway, launchBrowser } from './harness.js';

const PAGES = [
  '/', '/register', '/sign-in', '/forgot-password', '/reset-password', '/confirm-email',
  '/apply', '/check', '/cabinet', '/payment-return', '/retrieve', '/verify', '/host', '/officer',
];
const KBIT = 400;
const RTT_MS = 400;

const args = process.argv.slice(2);
const option = (name) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const lang = option('--lang') ?? 'en';

/** Records, from the page itself, when the first h1 first holds text. */
const HEADING_CLOCK = `
  (() => {
    const seen = () => {
      const h = document.querySelector('h1');
      if (h && h.textContent.trim() && window.__headingAt === undefined) {
        window.__headingAt = performance.now();
      }
    };
    new MutationObserver(seen).observe(document, { subtree: true, childList: true, characterData: true });
    document.addEventListener('DOMContentLoaded', seen);
  })();
`;

async function firstVisit(browser, base, path) {
  const context = await browser.newContext({ locale: lang, javaScriptEnabled: true });
  await context.addInitScript({ content: HEADING_CLOCK });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: RTT_MS,
    downloadThroughput: (KBIT * 1000) / 8,
    uploadThroughput: (KBIT * 1000) / 8,
  });
  let bytes = 0;
  let requests = 0;
  cdp.on('Network.loadingFinished', (e) => { bytes += e.encodedDataLength; requests += 1; });
  cdp.on('Network.loadingFailed', () => { requests += 1; });
  await page.goto(base + path, { waitUntil: 'load' });
  await page.waitForFunction(() => window.__headingAt !== undefined, null, { timeout: 60_000 }).catch(() => {});
  // What the page fetches after load (translations, data) counts too.
  await page.waitForLoadState('networkidle', { timeout: 60_000 }).catch(() => {});
  const headingMs = await page.evaluate(() => window.__headingAt ?? null);
  await context.close();
  return { headingMs, bytes, requests };
}

async function withoutScripts(browser, base, path) {
  const context = await browser.newContext({ locale: lang, javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(base + path, { waitUntil: 'load' });
  const text = (await page.locator('h1').first().textContent().catch(() => '')) ?? '';
  await context.close();
  return text.trim().length > 0;
}

const gateway = await startGateway();
const browser = await launchBrowser();
const rows = [];
try {
  for (const path of PAGES) {
    const visit = await firstVisit(browser, gateway.baseUrl, path);
    const readable = await withoutScripts(browser, gateway.baseUrl, path);
    rows.push({ path, lang, ...visit, readableWithoutScripts: readable });
  }
} finally {
  await browser.close();
  await gateway.stop();
}

const pad = (s, n) => String(s).padEnd(n);
console.log(`slow link: ${KBIT} kbit/s each way, ${RTT_MS} ms round trip, first visit, language ${lang}`);
console.log(`${pad('page', 18)}${pad('heading text (s)', 18)}${pad('KB', 8)}${pad('requests', 10)}text without scripts`);
for (const r of rows) {
  const heading = r.headingMs === null ? 'never' : (r.headingMs / 1000).toFixed(2);
  console.log(`${pad(r.path, 18)}${pad(heading, 18)}${pad((r.bytes / 1024).toFixed(0), 8)}${pad(r.requests, 10)}${r.readableWithoutScripts ? 'yes' : 'no'}`);
}
const out = option('--json');
if (out) writeFileSync(out, JSON.stringify(rows, null, 2));
