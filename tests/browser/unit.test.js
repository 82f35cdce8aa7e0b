// The site's pure modules, run in node: the MRZ preview against ICAO
// Doc 9303's specimen, the date parts, the visa-token verifier, and the
// API client's reading of Retry-After.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { mrvB, checkDigit, nameField, mrzName, UNASSIGNED_NUMBER } from '../../site/js/mrz.js';
import { dateFromParts } from '../../site/js/dates.js';
import { verifyCompactJws, readClaims, validityOn, CLAIMS } from '../../site/js/visa-token.js';
import { retryAtOf } from '../../site/js/api.js';

test('MRZ: the MRV-B specimen of ICAO Doc 9303 Part 7', () => {
  const [l1, l2] = mrvB({
    issuingState: 'UTO', surname: 'Eriksson', givenNames: 'Anna Maria', visaNumber: 'L898902C',
    nationality: 'UTO', dateOfBirth: '1969-08-06', sex: 'F', validUntil: '1994-06-23', optionalData: 'ZE184226',
  });
  assert.equal(l1, 'V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<');
  assert.equal(l2, 'L898902C<3UTO6908061F9406236ZE184226');
});

test('MRZ: check digits of published examples', () => {
  assert.equal(checkDigit('520727'), '3');
  assert.equal(checkDigit('L898902C3'), '6');
  assert.equal(checkDigit('D23145890'), '7');
  assert.equal(checkDigit('<<<<<<'), '0');
});

test('MRZ: a visa not yet numbered shows fillers, KAZ as issuer, 36 characters a line', () => {
  const [l1, l2] = mrvB({ surname: 'Sharma', givenNames: 'Priya  Anil', nationality: 'IND', dateOfBirth: '1990-04-12', sex: 'F', validUntil: '2026-12-30' });
  assert.equal(l1, 'V<KAZSHARMA<<PRIYA<ANIL'.padEnd(36, '<'));
  assert.equal(l2, `${UNASSIGNED_NUMBER}0IND9004126F2612306<<<<<<<<`);
  assert.equal(l1.length, 36);
  assert.equal(l2.length, 36);
});

test('MRZ: transliteration, punctuation, unspecified sex, Germany as D, truncation', () => {
  assert.equal(mrzName("D'Artagnan-Müller"), 'DARTAGNAN<MUELLER');
  assert.equal(mrzName('Ægir Łukasz José'), 'AEGIR<LUKASZ<JOSE');
  assert.equal(mrzName('Нұрсұлтанова'), 'NURSULTANOVA');
  assert.equal(mrzName('Straße'), 'STRASSE');
  const [, l2] = mrvB({ surname: 'X', givenNames: '', nationality: 'DEU', dateOfBirth: '1990-04-12', sex: 'X', validUntil: '2026-12-30' });
  assert.equal(l2.slice(10, 13), 'D<<');
  assert.equal(l2[20], '<');
  const field = nameField('Wolfeschlegelsteinhausenbergerdorff', 'Hubert Blaine');
  assert.equal(field.length, 31);
  assert.ok(field.startsWith('WOLFESCHLEGELSTEINHAUSENBERGERD'));
  assert.equal(nameField('Smith', 'Anna Maria Josephine Elisabeth Charlotte'), 'SMITH<<ANNA<MARIA<JOSEPHINE<ELI');
});

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
