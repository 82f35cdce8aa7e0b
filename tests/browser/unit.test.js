// The site's pure modules, run in node: the date parts (and Kazakhstan's
// date), the visa-token verifier, and the API client's reading of
// Retry-After. (The MRZ preview comes from the API, made by
// visa_core::mrz.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dateFromParts, kazakhstanToday, daysBetween } from '../../site/js/dates.js';
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

test('Kazakhstan\'s date (UTC+5) and whole days between dates', () => {
  assert.equal(kazakhstanToday(new Date('2026-12-05T18:59:59Z')), '2026-12-05');
  assert.equal(kazakhstanToday(new Date('2026-12-05T19:00:00Z')), '2026-12-06');
  assert.equal(kazakhstanToday(new Date('2026-12-31T20:00:00Z')), '2027-01-01');
  assert.equal(daysBetween('2026-12-09', '2026-12-09'), 0);
  assert.equal(daysBetween('2026-12-09', '2026-12-12'), 3);
  assert.equal(daysBetween('2026-12-30', '2027-01-02'), 3);
  assert.equal(daysBetween('2027-03-01', '2027-02-27'), -2);
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

test('digital seal: the BSI TR-03137 worked visa decodes field by field', async () => {
  const { decodeSeal, readMrvB, c40Decode } = await import('../../site/js/seal.js');
  const bytes = new Uint8Array(readFileSync(new URL('../../fuzz/seeds/vds/bsi-tr-03137-annex-f.bin', import.meta.url)));
  const seal = decodeSeal(bytes);
  assert.deepEqual(seal.header, {
    issuingState: 'D<<', signer: 'DETS', certificateReference: '32',
    issued: '2020-01-01', signed: '2021-12-03', featureReference: 0x5d, typeCategory: 0x01,
  });
  assert.equal(seal.features.mrz, 'VCD<<DENT<<ARTHUR<PHILIP<<<<<<<<<<<<1234567XY7GBR5203116M2005250<<<<<<<<');
  assert.deepEqual(seal.features.durationOfStay, { days: 160, months: 0, years: 0 });
  assert.equal(seal.features.passportNumber, '47110815P');
  assert.equal(seal.signature.length, 56, 'brainpoolP224r1: r and s of 28 bytes');
  assert.deepEqual(seal.signedBytes, bytes.slice(0, bytes.length - 58));
  const mrz = readMrvB(seal.features.mrz);
  assert.equal(mrz.surname, 'DENT');
  assert.equal(mrz.givenNames, 'ARTHUR PHILIP');
  assert.equal(mrz.visaNumber, '1234567XY');
  assert.equal(mrz.nationality, 'GBR');
  assert.equal(mrz.dateOfBirth, '1952-03-11');
  assert.equal(mrz.sex, 'M');
  assert.equal(mrz.validUntil, '2020-05-25');
  assert.equal(mrz.checks, true);
  assert.equal(readMrvB(seal.features.mrz.replace('GBR5203116', 'GBR5203117')).checks, false);
  assert.equal(c40Decode(new Uint8Array([0x6a, 0xbc])), 'D<<');
  assert.equal(c40Decode(new Uint8Array([0xfe, 0x4c])), 'K');
  assert.throws(() => decodeSeal(bytes.slice(1)));
  assert.throws(() => decodeSeal(bytes.slice(0, 20)));
  const v3 = bytes.slice();
  v3[1] = 0x02;
  assert.throws(() => decodeSeal(v3));
});

test('digital seal: genuine, altered, unknown signer, unreadable', async () => {
  const { verifySeal, certificateSerial } = await import('../../site/js/seal.js');
  const { subtle } = webcrypto;
  const bsi = new Uint8Array(readFileSync(new URL('../../fuzz/seeds/vds/bsi-tr-03137-annex-f.bin', import.meta.url)));
  const signed = bsi.slice(0, bsi.length - 58);
  const pair = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const sig = new Uint8Array(await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey, signed));
  const seal = new Uint8Array([...signed, 0xff, 0x40, ...sig]);
  const text = (b) => String.fromCharCode(...b);
  // Just enough of a certificate for its serial: Certificate { TBSCertificate { [0] v3, serial 0x32 } }.
  const cert = (serial) => Buffer.from([0x30, 0x0a, 0x30, 0x08, 0xa0, 0x03, 0x02, 0x01, 0x02, 0x02, 0x01, serial]).toString('base64');
  assert.equal(certificateSerial(Buffer.from(cert(0x32), 'base64')), '32');
  const pub = await subtle.exportKey('jwk', pair.publicKey);
  const jwks = { keys: [{ kty: 'EC', crv: 'P-256', x: pub.x, y: pub.y, kid: 'k1', x5c: [cert(0x32), cert(0x01)] }] };

  const genuine = await verifySeal(text(seal), jwks);
  assert.equal(genuine.status, 'valid');
  assert.equal(genuine.visa.passportNumber, '47110815P');
  assert.equal(genuine.visa.surname, 'DENT');

  const altered = seal.slice();
  altered[altered.length - 70] ^= 0x01; // in the passport number, before the signature
  assert.equal((await verifySeal(text(altered), jwks)).status, 'bad-signature');
  const otherKey = { keys: [{ ...jwks.keys[0], x5c: [cert(0x33), cert(0x01)] }] };
  assert.equal((await verifySeal(text(seal), otherKey)).status, 'unknown-key');
  assert.equal((await verifySeal(text(seal), { keys: [{ ...jwks.keys[0], x5c: undefined }] })).status, 'unknown-key');
  assert.equal((await verifySeal('not a seal', jwks)).status, 'malformed');
  assert.equal((await verifySeal(`${text(seal)}\u20ac`, jwks)).status, 'unreadable');
});
