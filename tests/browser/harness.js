// The browser tests' harness: starts the local gateway (visa-local) on a
// free port with a fresh data dir, launches Debian's Chromium through
// playwright-core, and offers the steps the tests share (axe, screenshots,
// invitations through the admin API).

import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, homedir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes, createHmac } from 'node:crypto';
import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(here, '..', '..');
export const SITE_DIR = join(REPO_ROOT, 'site');
export const SCREENSHOT_DIR = join(REPO_ROOT, 'target', 'screenshots');
export const LANGS = ['en', 'ru', 'kk'];

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync',
];

/** The translation files, for asserting on what a person reads. */
export const MESSAGES = Object.fromEntries(LANGS.map((l) => [l, JSON.parse(readFileSync(join(SITE_DIR, 'i18n', `${l}.json`), 'utf8'))]));

export function gatewayBinary() {
  if (process.env.VISA_LOCAL_BIN) return process.env.VISA_LOCAL_BIN;
  const target = process.env.CARGO_TARGET_DIR || join(homedir(), '.cache', 'visa-target');
  return join(target, 'debug', 'visa-local');
}

async function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts visa-local, or uses VISA_BASE_URL (+ VISA_ADMIN_TOKEN) when set,
 * e.g. to run the tests against a gateway that is already up. `env` adds
 * variables for the started gateway only (e.g. VISA_CHECKOUT_SECONDS);
 * `external` on the result says they could not apply.
 */
export async function startGateway({ env = {} } = {}) {
  if (process.env.VISA_BASE_URL) {
    // VISA_DATA_DIR: that gateway's data dir, for the tests that read its outbox.
    return { baseUrl: process.env.VISA_BASE_URL.replace(/\/$/, ''), adminToken: process.env.VISA_ADMIN_TOKEN, dataDir: process.env.VISA_DATA_DIR, external: true, stop: async () => {}, output: () => '' };
  }
  const bin = gatewayBinary();
  if (!existsSync(bin)) {
    throw new Error(`visa-local not found at ${bin}: build it with "cargo build -p visa-local" (or set VISA_LOCAL_BIN)`);
  }
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'visa-browser-'));
  const adminToken = `adm_test_${randomBytes(16).toString('hex')}`;
  const child = spawn(bin, [], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      VISA_ADDR: `127.0.0.1:${port}`,
      VISA_DATA_DIR: dataDir,
      VISA_SITE_DIR: SITE_DIR,
      VISA_ADMIN_TOKEN: adminToken,
      VISA_DEMO: '0',
      RUST_LOG: process.env.RUST_LOG || 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  let exited = null;
  child.on('exit', (code, signal) => { exited = { code, signal }; });
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`visa-local exited early (${JSON.stringify(exited)}):\n${output}`);
    try {
      const res = await fetch(`${baseUrl}/api/health`);
      if (res.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`visa-local did not answer /api/health within 60 s:\n${output}`);
    }
    await sleep(100);
  }
  // The token we set wins; the printed one is only a cross-check.
  const printed = /admin token:\s*(\S+)/i.exec(output);
  return {
    baseUrl,
    external: false,
    adminToken: adminToken || (printed && printed[1]),
    // Emails land in <dataDir>/outbox/ as .eml files.
    dataDir,
    output: () => output,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        for (let i = 0; i < 50 && !exited; i += 1) await sleep(100);
        if (!exited) child.kill('SIGKILL');
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS });
}

/** ISO date `days` from today (UTC). */
export function isoDay(days) {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

export function uniqueEmail(tag) {
  return `applicant-${tag}-${randomBytes(5).toString('hex')}@example.com`;
}

/** Creates an approved invitation through the admin API; returns it (with its assigned number). */
export async function createInvitation(gateway, overrides = {}) {
  const passportNumber = `Z${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
  const body = {
    category: 'tourist',
    inviter: { name: 'Kazakh Tourism JSC', bin: '123456789012' },
    invitee: {
      surname: 'SHARMA',
      given_names: 'PRIYA ANIL',
      nationality: 'IND',
      date_of_birth: '1990-04-12',
      passport_number: passportNumber,
    },
    valid_from: isoDay(14),
    valid_until: isoDay(40),
    ...overrides,
  };
  const res = await fetch(`${gateway.baseUrl}/api/admin/invitations`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${gateway.adminToken}` },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`POST /api/admin/invitations: ${res.status} ${text}`);
  return { ...body, ...JSON.parse(text) };
}

/** Waits until the page's first render is done (`<html data-ready>`). */
export async function ready(page) {
  await page.waitForSelector('html[data-ready][data-i18n-ready]', { state: 'attached', timeout: 15_000 });
}

/** Runs axe-core on the page; fails with the violations listed. */
export async function expectNoAxeViolations(page, label) {
  const results = await new AxeBuilder({ page }).analyze();
  const violations = results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary}`),
  }));
  if (violations.length) {
    throw new Error(`axe violations on ${label}:\n${JSON.stringify(violations, null, 2)}`);
  }
}

/** Full-page screenshots at 360 px and 1280 px wide: target/screenshots/<name>-<width>.png. */
export async function screenshots(page, name) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const original = page.viewportSize();
  for (const width of [360, 1280]) {
    await page.setViewportSize({ width, height: 800 });
    await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}-${width}.png`), fullPage: true });
  }
  if (original) await page.setViewportSize(original);
}

/** axe at both widths, then the screenshots: what every page of the site gets. */
export async function inspect(page, name) {
  await expectNoAxeViolations(page, `${name} (1280 px)`);
  const original = page.viewportSize();
  await page.setViewportSize({ width: 360, height: 800 });
  await expectNoAxeViolations(page, `${name} (360 px)`);
  // Nothing may scroll sideways at 360 px (WCAG 1.4.10 reflow).
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  if (overflow > 1) throw new Error(`${name}: the page scrolls sideways by ${overflow} px at 360 px`);
  if (original) await page.setViewportSize(original);
  await screenshots(page, name);
}

/**
 * A mail header's value with its RFC 2047 encoded-words (`=?UTF-8?B?...?=`
 * or `?Q?`) decoded; plain values come back as they are.
 */
export function decodeHeader(value) {
  const word = /=\?utf-8\?([bq])\?([^?]*)\?=(?:\s+(?==\?utf-8\?))?/gi;
  return String(value).replace(word, (whole, encoding, text) => {
    if (encoding.toUpperCase() === 'B') return Buffer.from(text, 'base64').toString('utf8');
    const bytes = [];
    for (let i = 0; i < text.length; i += 1) {
      if (text[i] === '=' && /^[0-9a-f]{2}$/i.test(text.slice(i + 1, i + 3))) {
        bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
        i += 2;
      } else {
        bytes.push(text[i] === '_' ? 0x20 : text.charCodeAt(i));
      }
    }
    return Buffer.from(bytes).toString('utf8');
  });
}

/** Collects console errors and CSP violations of a page, to assert there are none. */
export function watchConsole(page) {
  const problems = [];
  page.on('console', (msg) => {
    // Error answers of the API (404, 422 ...) are expected on the error paths.
    if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(String(err)));
  return problems;
}

export const PROBLEM_JSON = /^application\/problem\+json/;

/** A JSON call to the gateway's API: the status, the headers and the body
 *  (parsed; the text when it is not JSON, null when empty). */
export async function callApi(baseUrl, method, path, { body, token } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(`${baseUrl}/api${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed = null;
  try { parsed = text ? JSON.parse(text) : null; } catch { parsed = text; }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** Switches the language with the page's own switcher, as a visitor does. */
export async function chooseLanguage(page, lang) {
  await page.click(`.language-switcher button[data-lang="${lang}"]`);
  await page.waitForFunction((l) => document.documentElement.lang === l, lang);
}

/** An RFC 9457 answer with this status and slug. */
export function assertProblem(res, status, slug) {
  assert.equal(res.status, status, `expected ${status} ${slug}, got ${res.status} ${JSON.stringify(res.body)}`);
  assert.match(res.headers.get('content-type') || '', PROBLEM_JSON);
  assert.ok(res.body && String(res.body.type).endsWith(`/problems/${slug}`), `problem type ${res.body && res.body.type} is not ${slug}`);
}

/** `text` is the message `template` with `{name}` filled by something not
 *  empty; returns what filled it. */
export function assertFilled(text, template, name) {
  const [head, tail] = template.split(`{${name}}`);
  assert.ok(text.startsWith(head) && text.endsWith(tail) && !text.includes(`{${name}}`), `${JSON.stringify(text)} is not ${JSON.stringify(template)}`);
  assert.ok(text.length > head.length + tail.length, `${JSON.stringify(text)}: ${name} is empty`);
  return text.slice(head.length, text.length - tail.length);
}

/** The password of the applicants the tests make through the API. */
export const TEST_PASSWORD = 'correct horse battery staple';

/**
 * An issued visa, made through the API as the applicant's browser would
 * (invitation, account, application, confirmation, the sandbox checkout's
 * Pay, then issued "within seconds", docs/API.md): the account and the
 * details its holder types, as the portal holds them.
 */
export async function issueVisaThroughApi(gateway, tag, { invitation: given } = {}) {
  const api = (method, path, options) => callApi(gateway.baseUrl, method, path, options);
  const invitation = given || await createInvitation(gateway);
  const email = uniqueEmail(tag);
  assert.equal((await api('POST', '/accounts', { body: { email, password: TEST_PASSWORD } })).status, 201);
  const session = await api('POST', '/sessions', { body: { email, password: TEST_PASSWORD } });
  assert.equal(session.status, 201);
  const token = session.body.token;
  const invitee = invitation.invitee;
  const created = await api('POST', '/applications', {
    token,
    body: {
      invitation_number: invitation.number,
      passport: {
        number: invitee.passport_number, surname: invitee.surname, given_names: invitee.given_names,
        nationality: invitee.nationality, sex: 'F', date_of_birth: invitee.date_of_birth,
        issuing_state: invitee.nationality, expiry_date: isoDay(3 * 365),
      },
      declarations: { two_blank_pages: true, passport_undamaged: true },
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.id;
  const confirmed = await api('POST', `/applications/${encodeURIComponent(id)}/confirmation`, { token, body: { details_match_passport: true } });
  assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
  // The sandbox checkout's Pay button: the gateway delivers the signed webhook, then sends the browser back (303).
  const checkout = new URL(confirmed.body.payment.checkout_url);
  const paid = await fetch(`${gateway.baseUrl}${checkout.pathname}/pay`, { method: 'POST', redirect: 'manual' });
  assert.equal(paid.status, 303, await paid.text());
  const deadline = Date.now() + 60_000;
  for (;;) {
    const app = await api('GET', `/applications/${encodeURIComponent(id)}`, { token });
    assert.equal(app.status, 200);
    if (app.body.status === 'issued') {
      assert.match(app.body.visa.number, /^[A-Z0-9]{9}$/);
      return {
        email,
        token,
        id,
        visaNumber: app.body.visa.number,
        passportNumber: app.body.passport.number,
        dateOfBirth: app.body.passport.date_of_birth,
        validFrom: app.body.visa.valid_from,
        validUntil: app.body.visa.valid_until,
      };
    }
    if (Date.now() > deadline) assert.fail(`not issued within 60 s of payment: ${app.body.status}`);
    await sleep(250);
  }
}

/** RFC 6238 (HMAC-SHA1, 6 digits, 30 s steps): what an authenticator app
 *  shows for a base32 secret at `at` (ms). */
export function totp(secret, at = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const digest = createHmac('sha1', key).update(counter).digest();
  const offset = digest[digest.length - 1] & 15;
  return String((digest.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

/** `visa-local officer add` on the gateway's data dir: the new member's
 *  password and authenticator secret, as the command prints them once. */
export function addStaff(gateway, email, role, name) {
  const out = execFileSync(gatewayBinary(), ['officer', 'add', email, '--name', name, '--role', role], {
    env: { ...process.env, VISA_DATA_DIR: gateway.dataDir, VISA_DEMO: '0', RUST_LOG: 'warn' },
    encoding: 'utf8',
  });
  return { password: /password: (\S+)/.exec(out)[1], secret: /authenticator secret: (\S+)/.exec(out)[1] };
}

/** Signs in through the site in `lang` and lands on the cabinet. */
export async function signInToCabinet(page, gateway, lang, email) {
  await page.goto(`${gateway.baseUrl}/sign-in?next=%2Fcabinet`);
  await ready(page);
  await chooseLanguage(page, lang);
  await page.fill('#email', email);
  await page.fill('#password', TEST_PASSWORD);
  await page.click('#sign-in-form button[type="submit"]');
  await page.waitForURL(/\/cabinet$/);
  await ready(page);
}

/** The gateway's outbox messages addressed to `address` (.eml files, UTF-8), oldest first. */
export function messagesTo(gateway, address) {
  const outbox = join(gateway.dataDir, 'outbox');
  if (!existsSync(outbox)) return [];
  return readdirSync(outbox).filter((n) => /^message-.+\.eml$/.test(n)).sort()
    .map((n) => readFileSync(join(outbox, n), 'utf8'))
    .filter((text) => {
      const to = /^To: (.*)$/m.exec(text);
      return to && to[1].trim().toLowerCase() === address.toLowerCase();
    });
}

/** The issued visas emailed to `address`: the outbox's e-visa-<number>.eml files (each with its PDF), by visa number. */
export function visaEmailsTo(gateway, address) {
  const outbox = join(gateway.dataDir, 'outbox');
  if (!existsSync(outbox)) return new Map();
  const found = new Map();
  for (const name of readdirSync(outbox)) {
    const m = /^e-visa-([A-Z0-9]+)\.eml$/.exec(name);
    if (!m) continue;
    const text = readFileSync(join(outbox, name), 'utf8');
    const to = /^To: (.*)$/m.exec(text);
    if (to && to[1].trim().toLowerCase() === address.toLowerCase()) found.set(m[1], text);
  }
  return found;
}

/** What `check` finds, asked every 100 ms for up to 15 s. */
export async function waitFor(what, check) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const found = check();
    if (found) return found;
    if (Date.now() > deadline) assert.fail(`${what}: not within 15 s`);
    await sleep(100);
  }
}

/** The twelve digits `first` (eleven) and their check digit (the two-pass
 *  mod 11 of BINs and IINs), or null where none exists. */
export function withCheckDigit(first) {
  const d = [...first].map(Number);
  const weigh = (w) => d.reduce((sum, x, i) => sum + x * w[i], 0) % 11;
  let c = weigh([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  if (c === 10) c = weigh([3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]);
  return c === 10 ? null : `${first}${c}`;
}

let binSeq = 1000;
/** A new organisation's BIN, one per call: March 2005, a resident legal entity (type 4). */
export function newBin() {
  for (;;) {
    binSeq += 1;
    const bin = withCheckDigit(`05034${String(binSeq).padStart(6, '0')}`);
    if (bin) return bin;
  }
}
