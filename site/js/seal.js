// The visa's ICAO Visible Digital Seal (Doc 9303 Part 13, version 4, visa
// profile), read and verified on this device: the layout visa_core::vds
// writes (docs/DESIGN.md, "ICAO digital seal"). The signer is found by the
// seal's certificate reference, the serial number of a signer certificate
// the JWKS carries as x5c; its signature is raw r||s over the header and
// message, which is what WebCrypto's ECDSA verify takes.

const MAGIC = 0xdc;
const VERSION_4 = 0x03;
export const TAG = { MRZ_A: 0x01, MRZ_B: 0x02, ENTRIES: 0x03, DURATION: 0x04, PASSPORT: 0x05, SIGNATURE: 0xff };
const VISA_FEATURE_REFERENCE = 0x5d;

class Malformed extends Error {}

/** The bytes a barcode reader handed over as text, one character a byte; null if it gave text, not bytes. */
export function textToBytes(text) {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c > 0xff) return null;
    out[i] = c;
  }
  return out;
}

/** C40 (ISO/IEC 16022 as Doc 9303-13 uses it); spaces come back as `<`. */
export function c40Decode(bytes) {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    if (bytes[i] === 0xfe) {
      if (i + 1 >= bytes.length) throw new Malformed('C40 unlatch without a character');
      const ascii = bytes[i + 1] - 1;
      out += ascii === 0x20 ? '<' : String.fromCharCode(ascii);
      i += 2;
      continue;
    }
    if (i + 1 >= bytes.length) throw new Malformed('C40 of an odd length');
    const v = bytes[i] * 256 + bytes[i + 1] - 1;
    if (v < 0) throw new Malformed('C40 value 0');
    for (const value of [Math.floor(v / 1600), Math.floor(v / 40) % 40, v % 40]) {
      if (value === 0) continue; // Shift 1: padding.
      if (value === 3) out += '<';
      else if (value >= 4 && value <= 13) out += String.fromCharCode(48 + value - 4);
      else if (value >= 14 && value <= 39) out += String.fromCharCode(65 + value - 14);
      else throw new Malformed('C40 value outside the basic set');
    }
    i += 2;
  }
  return out;
}

/** A date as the seal writes it (the integer MMDDYYYY in three bytes), as YYYY-MM-DD. */
function decodeDate(b) {
  const n = b[0] * 65536 + b[1] * 256 + b[2];
  const month = Math.floor(n / 1e6);
  const day = Math.floor(n / 1e4) % 100;
  const year = n % 1e4;
  const d = new Date(Date.UTC(year, month - 1, day));
  if (month < 1 || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) throw new Malformed('not a date');
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

function readLength(bytes, at) {
  if (at >= bytes.length) throw new Malformed('a length is missing');
  const first = bytes[at];
  if (first < 0x80) return [first, at + 1];
  if (first === 0x81 || first === 0x82) {
    const n = first - 0x80;
    if (at + 1 + n > bytes.length) throw new Malformed('a length is cut');
    let len = 0;
    for (let k = 0; k < n; k += 1) len = len * 256 + bytes[at + 1 + k];
    return [len, at + 1 + n];
  }
  throw new Malformed('a length over 65535');
}

/** Decodes a version 4 seal; throws on anything else. */
export function decodeSeal(bytes) {
  const take = (from, n) => {
    if (from + n > bytes.length) throw new Malformed('the header is cut');
    return bytes.subarray(from, from + n);
  };
  if (bytes[0] !== MAGIC) throw new Malformed('no magic constant');
  if (bytes[1] !== VERSION_4) throw new Malformed('unsupported version');
  const issuingState = c40Decode(take(2, 2));
  if (issuingState.length !== 3) throw new Malformed('the issuing state is not three characters');
  const lead = c40Decode(take(4, 4));
  if (lead.length !== 6 || !/^[0-9A-F]{2}$/.test(lead.slice(4))) throw new Malformed('the signer identifier is cut');
  const totalChars = 6 + parseInt(lead.slice(4), 16);
  const signerBytes = Math.ceil(totalChars / 3) * 2;
  const signerAll = c40Decode(take(4, signerBytes));
  if (signerAll.length !== totalChars) throw new Malformed('the certificate reference is not as long as its header says');
  let at = 4 + signerBytes;
  const header = {
    issuingState,
    signer: signerAll.slice(0, 4),
    certificateReference: signerAll.slice(6),
    issued: decodeDate(take(at, 3)),
    signed: decodeDate(take(at + 3, 3)),
    featureReference: take(at + 6, 1)[0],
    typeCategory: take(at + 7, 1)[0],
  };
  at += 8;
  const features = {};
  let signature = null;
  let signedEnd = bytes.length;
  while (at < bytes.length) {
    const tag = bytes[at];
    const tagAt = at;
    const [len, from] = readLength(bytes, at + 1);
    if (from + len > bytes.length) throw new Malformed('a feature is cut');
    const value = bytes.subarray(from, from + len);
    at = from + len;
    if (tag === TAG.SIGNATURE) {
      signedEnd = tagAt;
      signature = value;
      if (at !== bytes.length) throw new Malformed('bytes after the signature');
      break;
    }
    if (tag === TAG.MRZ_B) features.mrz = c40Decode(value).padEnd(72, '<');
    else if (tag === TAG.ENTRIES) features.entries = value[0];
    else if (tag === TAG.DURATION && value.length === 3) features.durationOfStay = { days: value[0], months: value[1], years: value[2] };
    else if (tag === TAG.PASSPORT) features.passportNumber = c40Decode(value);
  }
  if (!signature) throw new Malformed('no signature');
  return { header, features, signedBytes: bytes.slice(0, signedEnd), signature: signature.slice() };
}

const WEIGHTS = [7, 3, 1];

/** Doc 9303 check digit of an MRZ field. */
export function checkDigit(field) {
  let sum = 0;
  for (let i = 0; i < field.length; i += 1) {
    const c = field[i];
    let v = 0;
    if (c >= '0' && c <= '9') v = c.charCodeAt(0) - 48;
    else if (c >= 'A' && c <= 'Z') v = c.charCodeAt(0) - 55;
    sum += v * WEIGHTS[i % 3];
  }
  return String(sum % 10);
}

/** An MRV-B MRZ (two lines of 36) as fields; `checks` says whether every check digit holds. */
export function readMrvB(mrz) {
  const line1 = mrz.slice(0, 36);
  const line2 = mrz.slice(36, 72);
  const [surname, ...rest] = line1.slice(5).split('<<');
  const names = (s) => s.replace(/<+/g, ' ').trim();
  const day = (yymmdd, pivot) => {
    if (!/^\d{6}$/.test(yymmdd)) return null;
    const yy = Number(yymmdd.slice(0, 2));
    const century = pivot !== undefined && yy > pivot ? 1900 : 2000;
    return `${century + yy}-${yymmdd.slice(2, 4)}-${yymmdd.slice(4, 6)}`;
  };
  const number = line2.slice(0, 9);
  const birth = line2.slice(13, 19);
  const until = line2.slice(21, 27);
  const thisYear = new Date().getUTCFullYear() % 100;
  return {
    documentCode: line1.slice(0, 2).replace(/</g, ''),
    issuingState: line1.slice(2, 5),
    surname: names(surname || ''),
    givenNames: names(rest.join('<<')),
    visaNumber: number.replace(/<+$/, ''),
    nationality: line2.slice(10, 13).replace(/</g, ''),
    dateOfBirth: day(birth, thisYear),
    sex: line2[20] === '<' ? 'X' : line2[20],
    validUntil: day(until),
    checks: checkDigit(number) === line2[9] && checkDigit(birth) === line2[19] && checkDigit(until) === line2[27],
  };
}

function derHeader(der, at) {
  if (at + 2 > der.length) throw new Malformed('DER is cut');
  let len = der[at + 1];
  let off = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let k = 0; k < n; k += 1) len = len * 256 + der[off + k];
    off += n;
  }
  return { tag: der[at], len, off };
}

/** A certificate's serial number (DER) as upper-case hex without a sign byte. */
export function certificateSerial(der) {
  const cert = derHeader(der, 0);
  const tbs = derHeader(der, cert.off);
  let field = derHeader(der, tbs.off);
  if (field.tag === 0xa0) field = derHeader(der, field.off + field.len); // [0] version
  if (field.tag !== 0x02) throw new Malformed('no serial number');
  let bytes = der.subarray(field.off, field.off + field.len);
  while (bytes.length > 1 && bytes[0] === 0) bytes = bytes.subarray(1);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('').toUpperCase();
}

function base64Decode(text) {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i += 1) out[i] = bin.charCodeAt(i);
  return out;
}

/** The JWKS key whose signer certificate has the seal's reference as serial. */
function keyFor(reference, jwks) {
  // Hex digits compared as numbers: a serial 0x0A1B2C is written 0A1B2C.
  const number = (hex) => hex.toUpperCase().replace(/^0+(?=.)/, '');
  const want = number(reference);
  for (const jwk of (jwks && Array.isArray(jwks.keys) ? jwks.keys : [])) {
    if (!jwk || jwk.kty !== 'EC' || jwk.crv !== 'P-256' || !Array.isArray(jwk.x5c) || !jwk.x5c[0]) continue;
    try {
      if (number(certificateSerial(base64Decode(jwk.x5c[0]))) === want) return jwk;
    } catch {
      // A certificate that does not parse names no key.
    }
  }
  return null;
}

/**
 * Reads and verifies a seal from a barcode's text.
 * Result: {status: 'valid' | 'bad-signature' | 'unknown-key' | 'malformed' | 'unreadable', seal?, visa?}
 */
export async function verifySeal(text, jwks) {
  const bytes = textToBytes(String(text || ''));
  if (!bytes) return { status: 'unreadable' };
  let seal;
  try {
    seal = decodeSeal(bytes);
  } catch {
    return { status: 'malformed' };
  }
  const { header, features } = seal;
  if (header.featureReference !== VISA_FEATURE_REFERENCE || !features.mrz) return { status: 'malformed', seal };
  const visa = { ...readMrvB(features.mrz), passportNumber: features.passportNumber, entries: features.entries, durationOfStay: features.durationOfStay };
  const jwk = keyFor(header.certificateReference, jwks);
  if (!jwk) return { status: 'unknown-key', seal, visa };
  if (seal.signature.length !== 64) return { status: 'bad-signature', seal, visa };
  try {
    const key = await crypto.subtle.importKey(
      'jwk',
      { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, ext: true },
      { name: 'ECDSA', namedCurve: 'P-256' },
      false,
      ['verify'],
    );
    const ok = await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, seal.signature, seal.signedBytes);
    return { status: ok ? 'valid' : 'bad-signature', seal, visa };
  } catch {
    return { status: 'bad-signature', seal, visa };
  }
}
