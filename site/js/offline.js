// What lets the verifier work without a network: the service worker that
// keeps the page (/sw.js, scope /verify), and the signing keys kept on this
// device with the time they were last fetched.

import { get } from './api.js';

const JWKS_KEY = 'visa.jwks';
const SYNCED_KEY = 'visa.jwks.synced';

export function keepPageOffline() {
  if (!('serviceWorker' in navigator)) return Promise.resolve(false);
  return navigator.serviceWorker.register('/sw.js', { scope: '/verify' })
    .then(() => navigator.serviceWorker.ready)
    .then(() => true)
    .catch(() => false);
}

function stored() {
  try {
    const jwks = JSON.parse(localStorage.getItem(JWKS_KEY) || 'null');
    const synced = localStorage.getItem(SYNCED_KEY);
    return jwks ? { jwks, synced } : null;
  } catch {
    return null;
  }
}

/** When the keys were last fetched (ISO time), or null if never. */
export function lastSynced() {
  const s = stored();
  return s ? s.synced || null : null;
}

/**
 * The signing keys: fetched and kept, else the kept copy.
 * Result: {jwks, from: 'network' | 'cache' | 'none', synced}
 */
export async function loadKeys() {
  try {
    const jwks = await get('/.well-known/jwks.json');
    const synced = new Date().toISOString();
    try {
      localStorage.setItem(JWKS_KEY, JSON.stringify(jwks));
      localStorage.setItem(SYNCED_KEY, synced);
    } catch { /* storage disabled: this check still works */ }
    return { jwks, from: 'network', synced };
  } catch {
    const s = stored();
    if (s) return { jwks: s.jwks, from: 'cache', synced: s.synced || null };
    return { jwks: null, from: 'none', synced: null };
  }
}
