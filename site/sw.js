// The border verifier offline: this worker keeps the verify page, its
// modules, translations and the barcode reader, and serves them when the
// network is gone. Network first, so a connected device always runs the
// current site; the cache is the fallback. The signing keys are kept by the
// page itself (localStorage, with the time of the last sync), not here, so
// the page can say how old they are. Scope: /verify only.

const CACHE = 'verify-v2';

// What /verify loads, kept at install (tests/browser/static.test.js holds
// this list and ON_USE against the page's imports).
const SHELL = [
  '/verify',
  '/css/main.css',
  '/css/noscript.css',
  '/favicon.svg',
  '/js/pages/verify.js',
  '/js/page.js',
  '/js/i18n.js',
  '/js/api.js',
  '/js/errors.js',
  '/js/dates.js',
  '/js/visa-token.js',
  '/js/seal.js',
  '/js/scan.js',
  '/js/offline.js',
  '/i18n/en.json',
  '/i18n/ru.json',
  '/i18n/kk.json',
  '/i18n/countries.en.json',
  '/i18n/countries.ru.json',
  '/i18n/countries.kk.json',
];

// The barcode reader for browsers without one (1.1 MB): kept from its
// first use, so a visit that never scans does not download it. An
// officer's device scans once online and then reads offline.
const ON_USE = [
  '/vendor/barcode-detector/ponyfill.js',
  '/vendor/zxing-wasm/zxing_reader.wasm',
];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((path) => new Request(path, { cache: 'reload' }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  const path = url.pathname === '/verify.html' ? '/verify' : url.pathname;
  if (!SHELL.includes(path) && !ON_USE.includes(path)) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const fresh = await fetch(request);
      if (fresh.ok) await cache.put(path, fresh.clone());
      return fresh;
    } catch (err) {
      const kept = await cache.match(path);
      if (kept) return kept;
      throw err;
    }
  })());
});
