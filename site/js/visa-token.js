// The signed visa token in the visa's QR code: `<origin>/verify#<compact JWS>`,
// ES256 (ECDSA P-256 + SHA-256), key published at /api/.well-known/jwks.json.
// Verified in the browser with WebCrypto, so border control needs no call
// to the portal beyond (a cached copy of) the public keys.

/**
 * Claim names of the token's payload, kept here and only here.
 * PROVISIONAL until the signer (visa-pdf / render-visa) is final.
 */
export const CLAIMS = {
  visaNumber: 'vn',
  surname: 'sn',
  givenNames: 'gn',
  nationality: 'nat',
  dateOfBirth: 'dob',
  passportNumber: 'pn',
  category: 'cat',
  validFrom: 'vf',
  validUntil: 'vu',
  issuedAt: 'iat',
};

/** The claims as named fields (undefined where absent). */
export function readClaims(payload) {
  const out = {};
  for (const [name, claim] of Object.entries(CLAIMS)) out[name] = payload ? payload[claim] : undefined;
  return out;
}

export function base64UrlDecode(text) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text)) throw new Error('not base64url');
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4);
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i += 1) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

/** Splits and decodes a compact JWS; throws on anything malformed. */
export function parseCompactJws(compact) {
  const parts = String(compact || '').trim().split('.');
  if (parts.length !== 3 || parts.some((p) => p.length === 0)) throw new Error('malformed');
  const [h, p, s] = parts;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const header = JSON.parse(decoder.decode(base64UrlDecode(h)));
  const payload = JSON.parse(decoder.decode(base64UrlDecode(p)));
  if (!header || typeof header !== 'object' || !payload || typeof payload !== 'object') throw new Error('malformed');
  return { header, payload, signature: base64UrlDecode(s), signingInput: new TextEncoder().encode(`${h}.${p}`) };
}

/** Result: {status: 'valid' | 'bad-signature' | 'unknown-key' | 'malformed', header?, payload?} */
export async function verifyCompactJws(compact, jwks) {
  let jws;
  try {
    jws = parseCompactJws(compact);
  } catch {
    return { status: 'malformed' };
  }
  const { header, payload, signature, signingInput } = jws;
  // Only ES256: never let the token choose a weaker algorithm ("alg": "none").
  if (header.alg !== 'ES256') return { status: 'malformed', header, payload };
  // JWS ES256 signatures are raw r||s (RFC 7518 3.4), which is what WebCrypto takes.
  if (signature.length !== 64) return { status: 'bad-signature', header, payload };
  const keys = (jwks && Array.isArray(jwks.keys) ? jwks.keys : [])
    .filter((k) => k && k.kty === 'EC' && k.crv === 'P-256' && (!k.use || k.use === 'sig'))
    .filter((k) => (header.kid ? k.kid === header.kid : true));
  if (keys.length === 0) return { status: 'unknown-key', header, payload };
  for (const jwk of keys) {
    try {
      const key = await crypto.subtle.importKey(
        'jwk',
        { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, ext: true },
        { name: 'ECDSA', namedCurve: 'P-256' },
        false,
        ['verify'],
      );
      const ok = await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, signature, signingInput);
      if (ok) return { status: 'valid', header, payload };
    } catch {
      // A key that does not import is no match; try the next.
    }
  }
  return { status: 'bad-signature', header, payload };
}

/** Whether `today` (YYYY-MM-DD) lies within the visa's validity. */
export function validityOn(claims, today) {
  if (typeof claims.validFrom !== 'string' || typeof claims.validUntil !== 'string') return 'unknown';
  if (today < claims.validFrom) return 'not-yet-valid';
  if (today > claims.validUntil) return 'expired';
  return 'in-force';
}
