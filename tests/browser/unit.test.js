// The site's pure modules, run in node: the date parts (and Kazakhstan's
// date), the visa-token verifier, the API client's reading of
// Retry-After, and the MRZ reader (js/mrz.js: a passport's TD3, a visa's
// MRV, and the comparison of the two; the visa's MRZ itself comes from
// the API, made by visa_core::mrz).

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

// ---------- MRZ (js/mrz.js) ----------

// ICAO Doc 9303 Part 4's TD3 specimen, as the document prints it.
const SPECIMEN = ['P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<', 'L898902C36UTO7408122F1204159ZE184226B<<<<<10'];
const TODAY = '2026-05-01';

test('MRZ: check digits of the published specimens', async () => {
  const { checkDigit } = await import('../../site/js/mrz.js');
  // Doc 9303 Part 3's worked example and the specimens' fields.
  for (const [field, digit] of [['520727', '3'], ['L898902C3', '6'], ['740812', '2'], ['120415', '9'],
    ['ZE184226B<<<<<', '1'], ['L898902C<', '3'], ['D23145890', '7'], ['<<<<<<', '0'],
    // The specimen's composite: number + check, birth + check, expiry + check, personal number + check.
    ['L898902C3674081221204159ZE184226B<<<<<1', '0']]) {
    assert.equal(checkDigit(field), digit, field);
  }
});

test('MRZ: the TD3 specimen reads, field by field', async () => {
  const { parseTd3, formatTd3 } = await import('../../site/js/mrz.js');
  const r = parseTd3(SPECIMEN.join('\n'), { today: TODAY });
  assert.deepEqual(r.errors, []);
  assert.equal(r.valid, true);
  assert.deepEqual(r.fields, {
    documentType: 'P', number: 'L898902C3', surname: 'ERIKSSON', givenNames: 'ANNA MARIA',
    nationality: 'UTO', issuingState: 'UTO', sex: 'F', dateOfBirth: '1974-08-12', expiryDate: '2012-04-15',
    personalNumber: 'ZE184226B',
  });
  // Expired in 2012: said, not an error (the API refuses it with passport-expires-too-soon).
  assert.deepEqual(r.notes, [{ code: 'expired', date: '2012-04-15' }]);
  // The builder the browser test uses writes the specimen back, check digits and all.
  assert.deepEqual(formatTd3({
    issuingState: 'UTO', surname: 'Eriksson', givenNames: 'Anna Maria', number: 'L898902C3', nationality: 'UTO',
    dateOfBirth: '1974-08-12', sex: 'F', expiryDate: '2012-04-15', personalNumber: 'ZE184226B',
  }), SPECIMEN);
});

test('MRZ: pasted text is tolerated (case, spaces, line breaks, lookalikes of <)', async () => {
  const { parseTd3 } = await import('../../site/js/mrz.js');
  const expected = parseTd3(SPECIMEN.join('\n'), { today: TODAY }).fields;
  for (const text of [
    `${SPECIMEN[0].toLowerCase()}\n${SPECIMEN[1].toLowerCase()}\n`,
    `  ${SPECIMEN[0]}\r\n\r\n ${SPECIMEN[1]} \r\n`,
    `${SPECIMEN[0].slice(0, 20)} ${SPECIMEN[0].slice(20)}\n${SPECIMEN[1]}`,
    SPECIMEN.join(''),
    `${SPECIMEN[0].replace(/</g, '‹')}\n${SPECIMEN[1]}`,
    `${SPECIMEN[0].replace('<<ANNA', '«ANNA')}\n${SPECIMEN[1].replace('<<<<<', '«<<<')}`,
  ]) {
    const r = parseTd3(text, { today: TODAY });
    assert.equal(r.valid, true, JSON.stringify({ text, errors: r.errors }));
    assert.deepEqual(r.fields, expected);
  }
});

test('MRZ: a wrong digit in each group is that group\'s error, with its characters', async () => {
  const { parseTd3 } = await import('../../site/js/mrz.js');
  const change = (at, digit) => `${SPECIMEN[0]}\n${SPECIMEN[1].slice(0, at)}${digit}${SPECIMEN[1].slice(at + 1)}`;
  for (const [at, digit, group, ranges] of [
    [2, '7', 'number', [[0, 10]]], // L8[9]8902C3: the number
    [9, '7', 'number', [[0, 10]]], // its check digit
    [17, '2', 'birth', [[13, 20]]], // 7408[2]2: the day
    [19, '3', 'birth', [[13, 20]]],
    [26, '6', 'expiry', [[21, 28]]],
    [27, '8', 'expiry', [[21, 28]]],
    [31, '5', 'personal', [[28, 43]]],
    [42, '2', 'personal', [[28, 43]]],
    [43, '1', 'composite', [[0, 10], [13, 20], [21, 44]]],
  ]) {
    const r = parseTd3(change(at, digit), { today: TODAY });
    assert.equal(r.valid, false);
    assert.deepEqual(r.errors, [{ code: 'check-digit', group, ranges: ranges.map(([start, end]) => ({ line: 2, start, end })) }], `line 2 character ${at + 1}`);
  }
  // The nationality and sex are in no check digit: their own rules catch what they can.
  assert.deepEqual(parseTd3(change(20, 'Q'), { today: TODAY }).errors, [{ code: 'sex', ranges: [{ line: 2, start: 20, end: 21 }] }]);
  assert.deepEqual(parseTd3(change(11, '7'), { today: TODAY }).errors, [{ code: 'code', group: 'nationality', ranges: [{ line: 2, start: 10, end: 13 }] }]);
});

test('MRZ: length, characters, document type, dates, and checking as it is typed', async () => {
  const { parseTd3, checkDigit } = await import('../../site/js/mrz.js');
  const at = (text) => parseTd3(text, { today: TODAY });
  // Typing: nothing wrong yet, how far each line is.
  let r = at(SPECIMEN[0].slice(0, 30));
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.progress, [{ line: 1, count: 30 }, { line: 2, count: 0 }]);
  assert.equal(r.valid, false);
  assert.equal(r.fields, null);
  // A group is checked as soon as it is whole.
  r = at(`${SPECIMEN[0]}\nL898902C37UTO`);
  assert.deepEqual(r.errors.map((e) => e.group), ['number']);
  assert.deepEqual(r.progress, [{ line: 2, count: 13 }]);
  // Too long, a character outside the alphabet, a visa instead of a passport, three lines.
  assert.deepEqual(at(`${SPECIMEN[0]}<\n${SPECIMEN[1]}`).errors, [{ code: 'length', count: 45, ranges: [{ line: 1, start: 44, end: 45 }] }]);
  r = at(`${SPECIMEN[0]}\n${SPECIMEN[1].replace('C3', 'C$')}`);
  assert.deepEqual(r.errors, [{ code: 'charset', char: '$', ranges: [{ line: 2, start: 8, end: 9 }] }]);
  assert.deepEqual(at(`V${SPECIMEN[0].slice(1)}\n${SPECIMEN[1]}`).errors, [{ code: 'document-type', ranges: [{ line: 1, start: 0, end: 2 }] }]);
  assert.deepEqual(at(`${SPECIMEN.join('\n')}\n${SPECIMEN[1]}`).errors.map((e) => e.code), ['lines']);
  // 31 April: the check digit may match a date that does not exist.
  const line2 = `L898902C36UTO740431${checkDigit('740431')}F1204159ZE184226B<<<<<1`;
  const composite = checkDigit(line2.slice(0, 10) + line2.slice(13, 20) + line2.slice(21, 43));
  assert.deepEqual(at(`${SPECIMEN[0]}\n${line2}${composite}`).errors, [{ code: 'date', group: 'birth', ranges: [{ line: 2, start: 13, end: 19 }] }]);
});

test('MRZ: names with fillers, one name only, a full name field; Germany and unspecified sex', async () => {
  const { parseTd3, formatTd3 } = await import('../../site/js/mrz.js');
  const td3 = (fields) => parseTd3(formatTd3({
    issuingState: 'UTO', number: 'X1234567', nationality: 'UTO', dateOfBirth: '1990-04-12', sex: 'F', expiryDate: '2031-01-31', ...fields,
  }).join('\n'), { today: TODAY });
  let r = td3({ surname: 'VAN DER STEEN', givenNames: 'MARIANNE LOUISE' });
  assert.equal(r.lines[0], 'P<UTOVAN<DER<STEEN<<MARIANNE<LOUISE'.padEnd(44, '<'));
  assert.equal(r.fields.surname, 'VAN DER STEEN');
  assert.equal(r.fields.givenNames, 'MARIANNE LOUISE');
  assert.equal(r.fields.number, 'X1234567', 'the number without its fillers');
  assert.deepEqual(r.notes, []);
  r = td3({ surname: 'LI', givenNames: '' });
  assert.equal(r.lines[0], `P<UTOLI${'<'.repeat(37)}`);
  assert.deepEqual([r.fields.surname, r.fields.givenNames], ['LI', '']);
  r = td3({ surname: 'NILAVADHANANANDA', givenNames: 'CHAYAPA DEJTHAMRONG KRASUANG SOMCHAI' });
  assert.equal(r.fields.givenNames, 'CHAYAPA DEJTHAMRONG K');
  assert.deepEqual(r.notes, [{ code: 'name-full' }], 'a full field may be a cut name');
  r = td3({ issuingState: 'DEU', nationality: 'DEU', sex: 'X', surname: 'MUELLER', givenNames: 'ANNA' });
  assert.equal(r.lines[0].slice(0, 5), 'P<D<<');
  assert.equal(r.lines[1].slice(10, 13), 'D<<');
  assert.equal(r.lines[1][20], '<');
  assert.deepEqual([r.fields.nationality, r.fields.issuingState, r.fields.sex], ['DEU', 'DEU', 'X']);
});

test('MRZ: a passport number longer than nine characters runs on into the optional data', async () => {
  const { parseTd3, checkDigit } = await import('../../site/js/mrz.js');
  // Doc 9303 Part 4, note j: "AB123456789": AB1234567, `<`, then 89 and the check digit in the optional data.
  const optional = `89${checkDigit('AB123456789')}<`.padEnd(14, '<');
  const body = `AB1234567<UTO900412${checkDigit('900412')}F310131${checkDigit('310131')}${optional}${checkDigit(optional)}`;
  const line2 = body + checkDigit(body.slice(0, 10) + body.slice(13, 20) + body.slice(21, 43));
  let r = parseTd3(`${SPECIMEN[0]}\n${line2}`, { today: TODAY });
  assert.deepEqual(r.errors, []);
  assert.equal(r.fields.number, 'AB123456789');
  r = parseTd3(`${SPECIMEN[0]}\n${line2.replace('<UTO', '<UTO').replace('89', '88')}`, { today: TODAY });
  assert.deepEqual(r.errors.find((e) => e.group === 'number').ranges, [{ line: 2, start: 0, end: 10 }, { line: 2, start: 28, end: 31 }]);
});

test('MRZ: two-digit years: a birth in the past, an expiry within 50 years of today', async () => {
  const { birthDate, expiryDate } = await import('../../site/js/mrz.js');
  assert.equal(birthDate('900412', TODAY), '1990-04-12');
  assert.equal(birthDate('100412', TODAY), '2010-04-12');
  assert.equal(birthDate('260101', TODAY), '2026-01-01', 'born this year, already');
  assert.equal(birthDate('261231', TODAY), '1926-12-31', 'later this year would be the future');
  assert.equal(birthDate('000229', TODAY), '2000-02-29');
  assert.equal(birthDate('991301', TODAY), null);
  assert.equal(expiryDate('310131', TODAY), '2031-01-31');
  assert.equal(expiryDate('120415', TODAY), '2012-04-15', 'an expired passport, not one valid until 2112');
  assert.equal(expiryDate('760101', TODAY), '2076-01-01');
  assert.equal(expiryDate('770101', TODAY), '1977-01-01');
  assert.equal(expiryDate('270229', TODAY), null);
});

test('MRZ: names are written as the server writes them (visa_core::mrz vectors)', async () => {
  const { transliterate, nameField } = await import('../../site/js/mrz.js');
  for (const [text, written] of [
    ['Müller', 'MUELLER'], ['Åsa Ærø', 'AASA AEROE'], ['Straße', 'STRASSE'], ['Þórunn', 'THORUNN'], ['Muñoz', 'MUNOZ'],
    ['Élodie Dvořák Wałęsa', 'ELODIE DVORAK WALESA'], ['Юлия Щеглова', 'IULIIA SHCHEGLOVA'], ['Хрущёв', 'KHRUSHCHEV'],
    ['Қасым-Жомарт Тоқаев', 'KASYM-ZHOMART TOKAEV'], ['Ольга', 'OLGA'], ['ÖZDEMİR', 'OEZDEMIR'],
  ]) assert.equal(transliterate(text), written, text);
  for (const [surname, given, field] of [
    ["D'Artagnan", 'Marie-Élise', 'DARTAGNAN<<MARIE<ELISE<<<<<<<<<'],
    ['van der Steen', 'Marianne  Louise', 'VAN<DER<STEEN<<MARIANNE<LOUISE<'],
    ['Ли', '', `LI${'<'.repeat(29)}`],
    ['Nilavadhanananda', 'Chayapa Dejthamrong Krasuang', 'NILAVADHANANANDA<<CHAYAPA<DEJTH'],
    ['Abcdefghijklmnopqrst', 'Jonathan Xy', 'ABCDEFGHIJKLMNOPQRST<<JONATHAN<'],
    ['Abcdefghijklmnopqrstuvwxyzabcdefgh', 'Anna', 'ABCDEFGHIJKLMNOPQRSTUVWXYZABCDE'],
    ['Abcdefghijklmnopqrstuvwxyzabc', 'Anna', 'ABCDEFGHIJKLMNOPQRSTUVWXYZABC<<'],
  ]) assert.equal(nameField(surname, given, 31), field, `${surname} / ${given}`);
});

test('MRZ: a visa\'s MRV-B reads, and compares with the passport detail by detail', async () => {
  const { parseMrv, compareWithVisa, checkDigit } = await import('../../site/js/mrz.js');
  // Doc 9303 Part 7's MRV-B specimen, as visa_core::mrz reproduces it.
  const mrv = parseMrv(['V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<', 'L898902C<3UTO6908061F9406236ZE184226'], { today: TODAY });
  assert.equal(mrv.format, 'MRV-B');
  assert.deepEqual(
    [mrv.surname, mrv.givenNames, mrv.number, mrv.nationality, mrv.dateOfBirth, mrv.sex, mrv.validUntil, mrv.optionalData],
    ['ERIKSSON', 'ANNA MARIA', 'L898902C', 'UTO', '1969-08-06', 'F', '1994-06-23', 'ZE184226'],
  );
  assert.deepEqual(mrv.checks, { number: true, birth: true, until: true });
  assert.equal(parseMrv(['V<UTO', 'L898902C<3'], { today: TODAY }), null);

  const results = (c) => Object.fromEntries(c.rows.map((r) => [r.field, r.result]));
  // docs/API.md's example application.
  const sharma = { number: 'Z1234567', surname: 'SHARMA', given_names: 'PRIYA ANIL', nationality: 'IND', sex: 'F', date_of_birth: '1990-04-12' };
  const apiExample = ['V<KAZSHARMA<<PRIYA<ANIL<<<<<<<<<<<<<', '<<<<<<<<<0IND9004126F2612306<<<<<<<<'];
  assert.deepEqual(results(compareWithVisa(sharma, apiExample, { today: TODAY })), {
    number: 'not-in-mrz', surname: 'same', given_names: 'same', nationality: 'same', date_of_birth: 'same', sex: 'same',
  });
  assert.deepEqual(results(compareWithVisa({ ...sharma, surname: 'SHARMAA', sex: 'M', date_of_birth: '1990-04-13' }, apiExample, { today: TODAY })), {
    number: 'not-in-mrz', surname: 'different', given_names: 'same', nationality: 'same', date_of_birth: 'different', sex: 'different',
  });
  // ÖZDEMİR entered; the visa writes OEZDEMIR (Doc 9303's recommended Ö), and Germany as D.
  const line2 = (nat, sex) => `<<<<<<<<<0${nat}851103${checkDigit('851103')}${sex}261230${checkDigit('261230')}<<<<<<<<`;
  const ozdemir = { number: 'C01X00T47', surname: 'ÖZDEMİR', given_names: 'Ayşe  Nur', nationality: 'DEU', sex: 'X', date_of_birth: '1985-11-03' };
  let c = compareWithVisa(ozdemir, ['V<KAZOEZDEMIR<<AYSE<NUR'.padEnd(36, '<'), line2('D<<', '<')], { today: TODAY });
  assert.deepEqual(results(c), { number: 'not-in-mrz', surname: 'written', given_names: 'written', nationality: 'written', date_of_birth: 'same', sex: 'same' });
  assert.equal(c.rows[1].mrz, 'OEZDEMIR');
  // The other option Doc 9303 allows (the accent dropped) is the same name too.
  c = compareWithVisa(ozdemir, ['V<KAZOZDEMIR<<AYSE<NUR'.padEnd(36, '<'), line2('D<<', '<')], { today: TODAY });
  assert.equal(results(c).surname, 'written');
  // A name cut to fit the 31 characters of the field.
  const long = { ...sharma, surname: 'Nilavadhanananda', given_names: 'Chayapa Dejthamrong Krasuang' };
  c = compareWithVisa(long, ['V<KAZNILAVADHANANANDA<<CHAYAPA<DEJTH', line2('IND', 'F').replace('851103', '900412').replace(/^(.{19})./, `$1${checkDigit('900412')}`)], { today: TODAY });
  assert.deepEqual([results(c).surname, results(c).given_names, results(c).date_of_birth], ['same', 'shortened', 'same']);
  // A passport number in the optional data is compared.
  c = compareWithVisa({ ...sharma, number: 'ZE184226' }, ['V<UTOSHARMA<<PRIYA<ANIL<<<<<<<<<<<<<', `L898902C<3IND900412${checkDigit('900412')}F9406236ZE184226`], { today: TODAY });
  assert.equal(results(c).number, 'same');
});
