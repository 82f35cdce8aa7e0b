// Machine-readable zone of the visa sticker, ICAO Doc 9303 Part 7, format
// MRV-B: two lines of 36 characters. Pure functions (no DOM) so that node's
// test runner checks them against Doc 9303's own specimen.
//
// Line 1: V, type (filler), issuing state (3), name (31):
//         SURNAME<<GIVEN<NAMES, truncated or padded with <.
// Line 2: document (visa) number (9), check digit, nationality (3),
//         date of birth YYMMDD, check digit, sex (F, M or <),
//         valid until YYMMDD, check digit, optional data (8).
// MRV-B has no composite check digit.

export const LINE_LENGTH = 36;
export const ISSUING_STATE = 'KAZ';
/** The visa number is assigned at issue: the preview shows fillers in its place. */
export const UNASSIGNED_NUMBER = '<<<<<<<<<';

// Doc 9303 Part 3, section 6: the recommended transliterations that are not
// simply "drop the diacritic" (Ä -> AE rather than A), the Cyrillic table
// (Russian values where languages differ) and the Kazakh letters the ICAO
// table lacks, as their nearest base letter. The same table as visa-pdf's
// mrz.rs, so the preview matches the printed visa. Input is upper case.
const TRANSLITERATE = {
  'Ä': 'AE', 'Æ': 'AE', 'Å': 'AA', 'Ö': 'OE', 'Ø': 'OE', 'Œ': 'OE', 'Ü': 'UE', 'ẞ': 'SS', 'Þ': 'TH',
  'Ð': 'D', 'Đ': 'D', 'Ĳ': 'IJ', 'Ł': 'L', 'Ŀ': 'L', 'Ħ': 'H', 'Ŋ': 'N', 'İ': 'I',
  'А': 'A', 'Б': 'B', 'В': 'V', 'Г': 'G', 'Ґ': 'G', 'Ѓ': 'G', 'Д': 'D', 'Ђ': 'D', 'Е': 'E', 'Ё': 'E', 'Э': 'E',
  'Є': 'IE', 'Ж': 'ZH', 'З': 'Z', 'Ѕ': 'DZ', 'Џ': 'DZ', 'И': 'I', 'І': 'I', 'Ї': 'I', 'Й': 'I', 'Ј': 'J',
  'К': 'K', 'Ќ': 'K', 'Л': 'L', 'Љ': 'LJ', 'М': 'M', 'Н': 'N', 'Њ': 'NJ', 'О': 'O', 'П': 'P', 'Р': 'R',
  'С': 'S', 'Т': 'T', 'Ћ': 'C', 'У': 'U', 'Ў': 'U', 'Ф': 'F', 'Х': 'KH', 'Ц': 'TS', 'Ч': 'CH', 'Ш': 'SH',
  'Щ': 'SHCH', 'Ъ': 'IE', 'Ы': 'Y', 'Ь': '', 'Ю': 'IU', 'Я': 'IA',
  'Ә': 'A', 'Ғ': 'G', 'Қ': 'K', 'Ң': 'N', 'Ө': 'O', 'Ұ': 'U', 'Ү': 'U', 'Һ': 'H',
};

/** Upper-case text in the MRZ alphabet; letters without a Latin form are dropped. */
export function transliterate(value) {
  let out = '';
  for (const c of String(value || '').toUpperCase()) {
    if (/[A-Z0-9 -]/.test(c)) out += c;
    else if (Object.prototype.hasOwnProperty.call(TRANSLITERATE, c)) out += TRANSLITERATE[c];
    else if (c.charCodeAt(0) > 127) out += c.normalize('NFD').replace(/[^A-Z]/g, '');
  }
  return out;
}

/** A name in MRZ letters: components (split at spaces, hyphens, commas) joined by one filler; apostrophes and other marks dropped. */
export function mrzName(value) {
  return String(value || '')
    .split(/[\s\-\u2010,]+/)
    .map((part) => transliterate(part).replace(/[^A-Z]/g, ''))
    .filter(Boolean)
    .join('<');
}

/** A code field (number, state, optional data): letters and digits only. */
export function mrzCode(value) {
  return transliterate(value).replace(/[^A-Z0-9]/g, '');
}

/** Pads with fillers or truncates to exactly `length` characters. */
export function fit(value, length) {
  return String(value).slice(0, length).padEnd(length, '<');
}

const CHAR_VALUES = (() => {
  const v = { '<': 0 };
  for (let i = 0; i < 10; i += 1) v[String(i)] = i;
  for (let i = 0; i < 26; i += 1) v[String.fromCharCode(65 + i)] = 10 + i;
  return v;
})();

/** Doc 9303 Part 3, 4.9: weights 7, 3, 1 repeating, sum modulo 10. */
export function checkDigit(field) {
  const weights = [7, 3, 1];
  let sum = 0;
  [...String(field)].forEach((c, i) => {
    const value = CHAR_VALUES[c];
    if (value === undefined) throw new Error(`not an MRZ character: ${c}`);
    sum += value * weights[i % 3];
  });
  return String(sum % 10);
}

/** `YYYY-MM-DD` -> `YYMMDD`; unknown parts stay fillers. */
export function mrzDate(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(iso || ''));
  return m ? `${m[1].slice(2)}${m[2]}${m[3]}` : '<<<<<<';
}

export function mrzSex(sex) {
  const s = String(sex || '').toUpperCase();
  return s === 'F' || s === 'M' ? s : '<';
}

/** The name field: primary identifier, <<, secondary identifier; 31 characters on MRV-B. */
// Truncation (Doc 9303 Part 3, 4.6) cuts the secondary identifier first,
// which is what cutting "PRIMARY<<SECONDARY" at the field's end does.
export function nameField(surname, givenNames, length = LINE_LENGTH - 5) {
  const primary = mrzName(surname);
  const secondary = mrzName(givenNames);
  const full = secondary ? `${primary}<<${secondary}` : primary;
  return fit(full, length);
}

/** Nationality as Doc 9303 codes it: ISO alpha-3, except Germany, which is D. */
export function mrzNationality(code) {
  const c = mrzCode(code);
  return c === 'DEU' ? 'D' : c;
}

/**
 * The two MRV-B lines.
 * @param {{visaNumber?: string, surname: string, givenNames: string, nationality: string,
 *          dateOfBirth: string, sex: string, validUntil: string, issuingState?: string,
 *          documentType?: string, optionalData?: string}} visa
 */
export function mrvB(visa) {
  const type = fit(mrzCode(visa.documentType || ''), 1);
  const state = fit(mrzCode(visa.issuingState || ISSUING_STATE), 3);
  const line1 = `V${type}${state}${nameField(visa.surname, visa.givenNames)}`;

  const number = fit(visa.visaNumber ? mrzCode(visa.visaNumber) : UNASSIGNED_NUMBER, 9);
  const nationality = fit(mrzNationality(visa.nationality), 3);
  const birth = mrzDate(visa.dateOfBirth);
  const until = mrzDate(visa.validUntil);
  const optional = fit(mrzCode(visa.optionalData || ''), 8);
  const line2 = `${number}${checkDigit(number)}${nationality}${birth}${checkDigit(birth)}${mrzSex(visa.sex)}${until}${checkDigit(until)}${optional}`;
  return [line1, line2];
}
