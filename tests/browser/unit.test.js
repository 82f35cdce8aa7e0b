// The site's pure modules, run in node: the date parts, the visa-token
// verifier, and the API client's reading of Retry-After. (The MRZ preview
// comes from the API, made by visa_core::mrz.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { dateFromParts } from '../../site/js/dates.js';
import { verifyCompactJws, readClaims, validityOn, CLAIMS } from '../../site/js/visa-token.js';
import { retryAtOf } from '../../site/js/api.js';

test('dates typed as day, month and year', () => {
  assert.equal(dateFromParts('12', '4', '1990'), '1990-04-12');
  assert.equal(dateFromParts('29', '2', '2024'), '2024-02-29');
  assert.equal(dateFromParts('29', '2', '2023'), null);
  assert.equal(dateFromParts('31', '4', '2030'), null);
  assert.equal(dateFromParts('1', '13', '2030'), null);
  assert.equal(dateFromParts('1', '1', '30'), null);
  assert.equal(dateFromParts('a', '1', '2030'), null);
});

test('visa token: genuine, altered, wrong key, wrong algorithm', async () => {
  const { subtle } = webcrypto;
  const pair = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const pub = await subtle.exportKey('jwk', pair.publicKey);
  const jwks = { keys: [{ kty: 'EC', crv: 'P-256', x: pub.x, y: pub.y, kid: 'k1' }] };
  const b64u = (b) => Buffer.from(b).toString('base64url');
  const payload = { [CLAIMS.visaNumber]: 'K7Q4M2X9A', [CLAIMS.surname]: 'SHARMA', [CLAIMS.validFrom]: '2026-12-01', [CLAIMS.validUntil]: '2026-12-30' };
  const h = b64u(JSON.stringify({ alg: 'ES256', kid: 'k1' }));
  const p = b64u(JSON.stringify(payload));
  const sig = b64u(new Uint8Array(await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey, new TextEncoder().encode(`${h}.${p}`))));

  const ok = await verifyCompactJws(`${h}.${p}.${sig}`, jwks);
  assert.equal(ok.status, 'valid');
  const claims = readClaims(ok.payload);
  assert.equal(claims.visaNumber, 'K7Q4M2X9A');
  assert.equal(validityOn(claims, '2026-12-15'), 'in-force');
  assert.equal(validityOn(claims, '2026-11-30'), 'not-yet-valid');
  assert.equal(validityOn(claims, '2026-12-31'), 'expired');

  const altered = b64u(JSON.stringify({ ...payload, [CLAIMS.surname]: 'OTHER' }));
  assert.equal((await verifyCompactJws(`${h}.${altered}.${sig}`, jwks)).status, 'bad-signature');
  assert.equal((await verifyCompactJws(`${h}.${p}.${sig}`, { keys: [{ ...jwks.keys[0], kid: 'k2' }] })).status, 'unknown-key');
  const hs = b64u(JSON.stringify({ alg: 'HS256', kid: 'k1' }));
  assert.equal((await verifyCompactJws(`${hs}.${p}.${sig}`, jwks)).status, 'malformed');
  assert.equal((await verifyCompactJws('a.b', jwks)).status, 'malformed');
  assert.equal((await verifyCompactJws(`${h}.${p}.${b64u(new Uint8Array(70))}`, jwks)).status, 'bad-signature');
});

test('Retry-After: seconds or an HTTP date, anything else unknown', () => {
  const now = Date.UTC(2026, 0, 5, 12, 0, 0);
  assert.equal(retryAtOf('3600', now).toISOString(), '2026-01-05T13:00:00.000Z');
  assert.equal(retryAtOf(' 0 ', now).toISOString(), '2026-01-05T12:00:00.000Z');
  assert.equal(retryAtOf('Mon, 05 Jan 2026 12:30:00 GMT', now).toISOString(), '2026-01-05T12:30:00.000Z');
  assert.equal(retryAtOf(null, now), null);
  assert.equal(retryAtOf('', now), null);
  assert.equal(retryAtOf('soon', now), null);
});
