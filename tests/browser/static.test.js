// Checks of the site's files that need no browser: the three translation
// files agree, every key the pages use exists, every problem slug has a
// message, and nothing breaks the Content Security Policy.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync, statSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { SITE_DIR, REPO_ROOT, MESSAGES, LANGS } from './harness.js';


function files(dir, ext) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...files(path, ext));
    else if (name.endsWith(ext)) out.push(path);
  }
  return out;
}

const html = files(SITE_DIR, '.html').map((path) => ({ path, text: readFileSync(path, 'utf8') }));
const js = files(join(SITE_DIR, 'js'), '.js').map((path) => ({ path, text: readFileSync(path, 'utf8') }));
const css = files(join(SITE_DIR, 'css'), '.css').map((path) => ({ path, text: readFileSync(path, 'utf8') }));
const en = MESSAGES.en;

// docs/API.md's slugs, plus the ones the core adds (functions/core/src/problem.rs).
const SLUGS = [
  'validation', 'email-taken', 'invalid-credentials', 'too-many-attempts', 'unauthenticated',
  'invitation-not-found', 'invitation-already-used', 'invitation-mismatch', 'not-eligible',
  'passport-expires-too-soon', 'declarations-missing', 'invalid-state', 'visa-not-ready', 'not-found',
  'malformed-body', 'body-too-large', 'bad-signature', 'payment-mismatch', 'invitation-exists',
  'bad-request', 'forbidden', 'method-not-allowed', 'unsupported-media-type', 'internal',
  'payment-provider-unavailable', 'unavailable', 'reset-link-invalid', 'too-many-requests',
  'verification-link-invalid', 'email-already-verified', 'payment-open', 'group-changed', 'invitation-revoked',
];

test('every problem slug of docs/API.md has a message in every language', () => {
  const apiMd = resolve(REPO_ROOT, 'docs', 'API.md');
  const slugs = new Set(SLUGS);
  if (existsSync(apiMd)) {
    const text = readFileSync(apiMd, 'utf8');
    for (const [, slug] of text.matchAll(/\/problems\/([a-z][a-z-]*[a-z])/g)) slugs.add(slug);
    for (const [, slug] of text.matchAll(/\b[45]\d\d `([a-z][a-z-]*[a-z])`/g)) slugs.add(slug);
  }
  for (const lang of LANGS) {
    for (const slug of slugs) {
      assert.ok(MESSAGES[lang][`problem.${slug}`], `${lang}: no message for problem slug ${slug}`);
    }
  }
});

test('the three translation files have the same keys and placeholders, none empty', () => {
  const keys = Object.keys(en).sort();
  for (const lang of LANGS) {
    const m = MESSAGES[lang];
    assert.deepEqual(Object.keys(m).sort(), keys, `${lang} has different keys`);
    for (const key of keys) {
      assert.ok(String(m[key]).trim(), `${lang}: ${key} is empty`);
      const ph = (s) => [...String(s).matchAll(/\{(\w+)\}/g)].map((x) => x[1]).sort();
      assert.deepEqual(ph(m[key]), ph(en[key]), `${lang}: ${key} placeholders differ`);
    }
  }
});

test('the country names exist in every language', () => {
  const names = Object.fromEntries(LANGS.map((l) => [l, JSON.parse(readFileSync(join(SITE_DIR, 'i18n', `countries.${l}.json`), 'utf8'))]));
  for (const lang of LANGS) assert.deepEqual(Object.keys(names[lang]).sort(), Object.keys(names.en).sort());
  for (const code of ['IND', 'SRB', 'VNM', 'CHN', 'KAZ']) for (const lang of LANGS) assert.ok(names[lang][code]);
});

test('every key the pages use is translated', () => {
  const used = new Set();
  for (const { text } of html) {
    for (const [, k] of text.matchAll(/data-i18n="([^"]+)"/g)) used.add(k);
    for (const [, k] of text.matchAll(/data-title="([^"]+)"/g)) used.add(k);
    for (const [, attrs] of text.matchAll(/data-i18n-attr="([^"]+)"/g)) {
      for (const pair of attrs.split(';')) used.add(pair.split(':')[1].trim());
    }
  }
  for (const { text } of js) {
    for (const [, k] of text.matchAll(/data-i18n(?:-attr)?="(?:[a-z-]+:)?([a-z_]+\.[a-zA-Z0-9_.-]+)"/g)) used.add(k);
    for (const [, k] of text.matchAll(/(?:key|titleKey|bodyKey|title|body):\s*'([a-z_]+\.[a-zA-Z0-9_.-]+)'/g)) used.add(k);
    for (const [, k] of text.matchAll(/\bt\('([a-z_]+\.[a-zA-Z0-9_.-]+)'/g)) used.add(k);
    for (const [, k] of text.matchAll(/\b(?:row|section|heading|panel)\([^)]*?'([a-z_]+\.[a-zA-Z0-9_.-]+)'/g)) used.add(k);
  }
  // Keys built at run time.
  for (const c of ['tourist', 'business', 'medical']) used.add(`category.${c}`).add(`category.${c}_visa`);
  for (const s of ['invitation_confirmed', 'awaiting_payment', 'paid', 'issued', 'unknown']) used.add(`status.${s}`);
  // The migration service's console (officer.js).
  for (const r of ['officer', 'auditor', 'border']) used.add(`officer.role.${r}`);
  for (const k of ['entry', 'exit']) used.add(`officer.border.record_${k}`).add(`officer.border.recorded_${k}`);
  for (const s of ['entered', 'used']) used.add(`status.${s}`).add(`verify.standing.${s}`);
  for (const e of ['applied', 'confirmed', 'paid', 'issued', 'emailed', 'disputed', 'cancelled', 'restored', 'shortened', 'review_kept', 'review_cancelled', 'entered', 'exited']) used.add(`officer.event.${e}`);
  for (const a of ['cancel', 'restore', 'shorten', 'keep', 'dispute_cancel']) {
    for (const k of [`officer.visa.${a}`, `officer.visa.${a}_heading`, `officer.check.${a}_effect`, `officer.check.confirm_${a}`, `officer.done.${a}`]) used.add(k);
  }
  for (const s of ['approved', 'used', 'revoked']) used.add(`officer.invitation_status.${s}`);
  for (const s of ['invalid-state', 'forbidden', 'invitation-already-used', 'not-found']) used.add(`officer.refused.${s}`);
  // Families and groups (cabinet.js, group-form.js).
  for (const s of ['open', 'awaiting_payment', 'paid', 'dissolved']) used.add(`group_status.${s}`);
  for (const s of ['not-found', 'invalid-state', 'invitation-revoked', 'validation']) used.add(`group_form.member_problem.${s}`);
  used.add('cabinet.group_heading').add('cabinet.group_heading_one');
  // Arrival notices (host.js, officer.js).
  for (const s of ['awaiting', 'overdue', 'filed', 'filed_late']) used.add(`host.arrival_status.${s}`);
  for (const s of ['overdue', 'awaiting']) used.add(`officer.arrivals.none_${s}`).add(`officer.arrivals.status.${s}`);
  for (const f of ['address', 'stay_from', 'stay_until']) used.add(`missing.${f}`).add(`validation.${f}`);
  for (const s of ['F', 'M', 'X']) used.add(`sex.${s}`);
  for (let i = 1; i <= 12; i += 1) used.add(`format.month.${i}`);
  for (const r of ['malformed', 'bad-signature', 'unknown-key', 'no-keys']) used.add(`verify.reason.${r}`);
  for (const v of ['in-force', 'not-yet-valid', 'expired', 'unknown']) used.add(`verify.validity.${v}`);
  // The offline verifier (verify.js).
  for (const s of ['fresh', 'offline', 'never']) used.add(`verify.sync.${s}`);
  for (const s of ['looking', 'no-camera', 'denied', 'no-reader']) used.add(`verify.scan.${s}`);
  for (const r of ['malformed', 'bad-signature', 'unknown-key', 'no-keys', 'unreadable']) used.add(`verify.seal.reason.${r}`);
  // Each form field has a message for a missing or invalid answer.
  for (const { text } of html) {
    for (const [, field] of text.matchAll(/data-field="([^"]+)"/g)) {
      if (field !== 'declarations') assert.ok(en[`missing.${field}`] || en[`validation.${field}`], `no message for field ${field}`);
      used.add(`validation.${field}`);
    }
  }
  const missing = [...used].filter((k) => !(k in en));
  assert.deepEqual(missing, [], 'keys used but not in en.json');
});

test('pages keep the Content Security Policy: no inline script, style or handler, no third-party asset', () => {
  for (const { path, text } of html) {
    const name = relative(SITE_DIR, path);
    // One policy, sent as a header (visa-local's gateway, CloudFront): a page's own copy would drift.
    assert.ok(!/http-equiv="Content-Security-Policy"/i.test(text), `${name}: a CSP <meta> of its own`);
    assert.ok(/<html lang="en" data-title="[a-z_]+\.title">/.test(text), `${name}: html lang and page title key`);
    assert.ok(text.includes('<meta name="viewport" content="width=device-width, initial-scale=1">'), `${name}: viewport`);
    assert.ok(!/<style[\s>]/i.test(text), `${name}: <style>`);
    assert.ok(!/\sstyle\s*=/i.test(text), `${name}: style attribute`);
    assert.ok(!/\son[a-z]+\s*=/i.test(text), `${name}: inline event handler`);
    for (const [, attrs, body] of text.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/gi)) {
      assert.ok(/type="module"/.test(attrs) && /src="\/js\//.test(attrs), `${name}: script must be an external module`);
      assert.equal(body.trim(), '', `${name}: inline script`);
      const src = /src="([^"]+)"/.exec(attrs)[1];
      assert.ok(existsSync(join(SITE_DIR, src)), `${name}: ${src} missing`);
    }
    for (const [, url] of text.matchAll(/(?:src|href)="([^"]+)"/g)) {
      assert.ok(url.startsWith('/') || url.startsWith('#'), `${name}: ${url} is not on this origin`);
      const path = url.split(/[?#]/)[0];
      if (path && path !== '/') {
        const file = join(SITE_DIR, path);
        assert.ok(existsSync(file) || existsSync(`${file}.html`), `${name}: link to ${url} goes nowhere`);
      }
    }
  }
  for (const { path, text } of [...js, ...css]) {
    const name = relative(SITE_DIR, path);
    const code = text.replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
    assert.ok(!/https?:\/\//.test(code), `${name}: absolute URL (third-party asset?)`);
    assert.ok(!/\beval\(|new Function\(|setAttribute\('style'|\.style\.|insertAdjacentHTML|outerHTML|document\.write/.test(code), `${name}: CSP-unsafe or injection-prone call`);
    assert.ok(!/@import|url\(\s*['"]?https?:/.test(code), `${name}: external CSS`);
  }
  // innerHTML only for the static chrome markup of page.js.
  for (const { path, text } of js) {
    const count = (text.match(/innerHTML/g) || []).length;
    if (path.endsWith('page.js')) assert.equal(count, 1);
    else assert.equal(count, 0, `${relative(SITE_DIR, path)}: innerHTML`);
  }
});

test('every page is linked without its extension and the pages the issue asks for exist', () => {
  for (const page of ['index', 'register', 'sign-in', 'forgot-password', 'reset-password', 'confirm-email', 'cabinet', 'apply', 'check', 'payment-return', 'verify', 'retrieve']) {
    assert.ok(existsSync(join(SITE_DIR, `${page}.html`)), `${page}.html`);
  }
  for (const { path, text } of [...html, ...js]) {
    assert.ok(!/href="\/[a-z-]+\.html/.test(text), `${relative(SITE_DIR, path)} links to a .html path`);
  }
});

test('every script of the site parses as a module', () => {
  // A page whose module does not parse never starts: caught here, before a browser.
  // (As .mjs: node checks a .js file as a script, missing a module's early errors.)
  const dir = mkdtempSync(join(tmpdir(), 'site-modules-'));
  try {
    for (const { path, text } of js) {
      const copy = join(dir, 'module.mjs');
      writeFileSync(copy, text);
      const checked = spawnSync(process.execPath, ['--check', copy], { encoding: 'utf8' });
      assert.equal(checked.status, 0, `${relative(SITE_DIR, path)}: ${checked.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('run.sh runs every browser test file', () => {
  const dir = join(REPO_ROOT, 'tests', 'browser');
  const script = readFileSync(join(dir, 'run.sh'), 'utf8');
  const listed = new Set(script.match(/[a-z0-9-]+\.test\.js/g) || []);
  const files = readdirSync(dir).filter((f) => f.endsWith('.test.js'));
  assert.deepEqual(files.filter((f) => !listed.has(f)), [], 'test files tests/browser/run.sh leaves out');
  assert.deepEqual([...listed].filter((f) => !files.includes(f)), [], 'files run.sh names that do not exist');
});

test('the service worker keeps everything the verify page loads', () => {
  const sw = readFileSync(join(SITE_DIR, 'sw.js'), 'utf8');
  const list = (name) => JSON.parse(`[${new RegExp(`const ${name} = \\[([\\s\\S]*?)\\];`).exec(sw)[1].replace(/\/\/.*$/gm, '').replace(/'/g, '"').replace(/,\s*$/, '')}]`);
  const shell = new Set([...list('SHELL'), ...list('ON_USE')]);
  // The page's modules, followed through their static imports.
  const seen = new Set();
  const queue = ['/js/pages/verify.js'];
  while (queue.length) {
    const url = queue.pop();
    if (seen.has(url)) continue;
    seen.add(url);
    const text = readFileSync(join(SITE_DIR, url), 'utf8');
    for (const [, spec] of text.matchAll(/^import\s[^'"]*['"]([^'"]+)['"]/gm)) {
      queue.push(new URL(spec, `http://site${url}`).pathname);
    }
  }
  const page = readFileSync(join(SITE_DIR, 'verify.html'), 'utf8');
  for (const [, url] of page.matchAll(/(?:src|href)="(\/[^"#?]*)"/g)) if (!url.endsWith('/')) seen.add(url);
  // What the modules fetch: translations and the barcode reader.
  for (const lang of LANGS) seen.add(`/i18n/${lang}.json`).add(`/i18n/countries.${lang}.json`);
  const scan = readFileSync(join(SITE_DIR, 'js', 'scan.js'), 'utf8');
  for (const [, url] of scan.matchAll(/'(\/vendor\/[^']+)'/g)) seen.add(url);
  seen.add('/verify');
  const missing = [...seen].filter((u) => !shell.has(u));
  assert.deepEqual(missing, [], 'loaded by /verify but not kept offline');
  for (const url of shell) {
    if (url === '/verify') continue;
    assert.ok(existsSync(join(SITE_DIR, url)), `sw.js keeps ${url}, which does not exist`);
  }
});

test('the vendored barcode reader is the npm package, byte for byte', () => {
  const pkg = (name) => join(REPO_ROOT, 'tests', 'browser', 'node_modules', name);
  const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'tests', 'browser', 'package-lock.json'), 'utf8'));
  const readme = readFileSync(join(SITE_DIR, 'vendor', 'README.md'), 'utf8');
  for (const [name, version] of [['barcode-detector', lock.packages['node_modules/barcode-detector'].version], ['zxing-wasm', lock.packages['node_modules/zxing-wasm'].version]]) {
    assert.ok(readme.includes(`${name} ${version}`), `vendor/README.md does not name ${name} ${version}`);
  }
  for (const [vendored, original] of [
    ['barcode-detector/ponyfill.js', pkg('barcode-detector/dist/iife/ponyfill.js')],
    ['barcode-detector/LICENSE', pkg('barcode-detector/LICENSE')],
    ['zxing-wasm/zxing_reader.wasm', pkg('zxing-wasm/dist/reader/zxing_reader.wasm')],
    ['zxing-wasm/LICENSE', pkg('zxing-wasm/LICENSE')],
  ]) {
    assert.ok(readFileSync(join(SITE_DIR, 'vendor', vendored)).equals(readFileSync(original)), `site/vendor/${vendored} differs from the npm package`);
  }
});
