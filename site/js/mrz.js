// Machine-readable zones (ICAO Doc 9303), read in the browser: a passport's
// TD3 (Part 4: two lines of 44), which the application form can be filled
// in from, and a visa's MRV (Part 7: MRV-B, two lines of 36, or MRV-A, 44),
// which the check page compares with the passport as it was entered. Pure:
// no DOM, so node's tests run it (tests/browser/unit.test.js).
//
// The server writes the visa's MRZ (functions/core/src/mrz.rs); the names
// here are written by the same rules (transliterate, nameComponents,
// nameField) so that the comparison says "written as the MRZ writes it"
// rather than "different" when only the MRZ alphabet tells them apart.
//
// Positions in errors are 0-based, `end` exclusive: `{line: 2, start: 13,
// end: 20}` is line 2's characters 14 to 20 as a person counts them.

import { today as localToday } from './dates.js';

/** Characters in one line of a passport's (TD3) MRZ. */
export const TD3_LINE = 44;

// ---------- Check digits (Doc 9303 Part 3, 4.9) ----------

/** A character's value: digits as themselves, A-Z as 10-35, the filler `<` as 0; anything else null. */
export function charValue(c) {
  if (c >= '0' && c <= '9') return c.charCodeAt(0) - 48;
  if (c >= 'A' && c <= 'Z') return c.charCodeAt(0) - 55;
  if (c === '<') return 0;
  return null;
}

/** The check digit of a field: weights 7, 3, 1 repeating, sum modulo 10, as a one-digit string. */
export function checkDigit(field) {
  const weights = [7, 3, 1];
  let sum = 0;
  [...String(field)].forEach((c, i) => { sum += (charValue(c) || 0) * weights[i % 3]; });
  return String(sum % 10);
}

// ---------- Input ----------

// Lookalikes of the filler that keyboards, fonts and OCR produce. `«` often
// stands for two fillers: see normaliseLines.
const LOOKALIKES = { '‹': '<', '〈': '<', '⟨': '<', '＜': '<', '˂': '<', '›': '<', '»': '<' };

function cleanLine(line, doubled) {
  let out = '';
  for (const c of line) {
    if (c === '«') out += doubled ? '<<' : '<';
    else out += LOOKALIKES[c] || c;
  }
  // Spaces pasted or typed inside a line are no part of the MRZ.
  return out.replace(/\s+/g, '').toUpperCase();
}

/**
 * The lines of what was typed or pasted: line breaks split it, other white
 * space goes, lower case is raised, lookalikes of `<` become `<`, empty lines
 * go. One line longer than `len` (typed on without Enter, or pasted without
 * its break) is split after `len` characters.
 */
export function normaliseLines(text, len = TD3_LINE) {
  const raw = String(text || '').replace(/\r\n?/g, '\n').split('\n');
  let lines = raw.map((line) => {
    const single = cleanLine(line, false);
    if (single.length === len || !line.includes('«')) return single;
    const doubled = cleanLine(line, true);
    return doubled.length === len ? doubled : single;
  }).filter((line) => line.length > 0);
  if (lines.length === 1 && lines[0].length > len) lines = [lines[0].slice(0, len), lines[0].slice(len)];
  return lines;
}

// ---------- Dates ----------

function realDate(year, month, day) {
  const d = new Date(Date.UTC(year, month - 1, day));
  d.setUTCFullYear(year);
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return null;
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

function isoToday(today) {
  if (typeof today === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(today)) return today;
  return localToday(today instanceof Date ? today : new Date());
}

// Two-digit years. Doc 9303 leaves the century to the reader; readers of
// passports resolve it with a window around today, and so does this:
// - a date of birth is the latest date with those digits that is not after
//   today (1990 for "90" in 2026; 2026 for "26" when that day has come,
//   else 1926);
// - an expiry date is the one within 50 years of today (2012 for "12", 2031
//   for "31", 1977 for "77"): a passport is valid ten years at most, so a
//   valid one lies ahead of today and an expired one in the recent past.
//   (Readers that only ever look ahead would put "12" in 2112.)

/** `YYMMDD` -> ISO date of birth, or null if it is no real date. */
export function birthDate(yymmdd, today) {
  if (!/^\d{6}$/.test(yymmdd)) return null;
  const now = isoToday(today);
  const yy = Number(yymmdd.slice(0, 2));
  const month = Number(yymmdd.slice(2, 4));
  const day = Number(yymmdd.slice(4, 6));
  const century = Math.floor(Number(now.slice(0, 4)) / 100) * 100;
  for (const year of [century + yy, century - 100 + yy]) {
    const iso = realDate(year, month, day);
    if (iso && iso <= now) return iso;
    // 29 February of a year that has none: the other century may have it.
  }
  return null;
}

/** `YYMMDD` -> ISO expiry date, or null if it is no real date. */
export function expiryDate(yymmdd, today) {
  if (!/^\d{6}$/.test(yymmdd)) return null;
  const now = isoToday(today);
  const thisYear = Number(now.slice(0, 4));
  let year = Math.floor(thisYear / 100) * 100 + Number(yymmdd.slice(0, 2));
  if (year > thisYear + 50) year -= 100;
  else if (year <= thisYear - 50) year += 100;
  return realDate(year, Number(yymmdd.slice(2, 4)), Number(yymmdd.slice(4, 6)));
}

/** ISO date -> `YYMMDD`, as an MRZ writes it. */
export function yymmdd(iso) {
  return String(iso || '').slice(2, 10).replace(/-/g, '');
}

// ---------- Codes, names, sex ----------

// Doc 9303 Part 3 writes Germany as `D`, not `DEU`; the form and the API use alpha-3.
const MRZ_CODES = { D: 'DEU' };

/** A 3-character state field (`IND`, `D<<`) -> the alpha-3 code the API uses. */
export function stateCode(field) {
  const code = String(field || '').replace(/<+$/, '');
  return MRZ_CODES[code] || code;
}

function nameOf(part) {
  return String(part || '').replace(/<+/g, ' ').trim();
}

/** A name field -> {surname, givenNames}: `<<` ends the surname, every other `<` is a space. */
export function readNameField(field) {
  const at = field.indexOf('<<');
  if (at < 0) return { surname: nameOf(field), givenNames: '' };
  return { surname: nameOf(field.slice(0, at)), givenNames: nameOf(field.slice(at + 2)) };
}

/** An MRZ sex -> what the form and the API take: `M`, `F`, or `X` (unspecified, written `<`). */
export function sexOf(c) {
  if (c === 'M' || c === 'F') return c;
  if (c === '<' || c === 'X') return 'X';
  return null;
}

// ---------- TD3: a passport's MRZ ----------

// Line 2 of a TD3 (Doc 9303 Part 4, 4.2.2), 0-based, end exclusive.
const TD3 = {
  number: [0, 9], numberCheck: 9,
  nationality: [10, 13],
  birth: [13, 19], birthCheck: 19,
  sex: 20,
  expiry: [21, 27], expiryCheck: 27,
  personal: [28, 42], personalCheck: 42,
  composite: 43,
};
const range = (line, start, end) => ({ line, start, end });

/**
 * Reads a passport's MRZ (TD3) as typed or pasted. Returns
 * `{lines, complete, valid, errors, progress, notes, fields}`:
 * - `errors`: `[{code, group?, ranges: [{line, start, end}], char?, count?}]`
 *   in the order of the zone; `code` is `lines` (more than two), `length`
 *   (a line too long), `charset`, `document-type` (not P), `check-digit`
 *   (group `number`, `birth`, `expiry`, `personal` or `composite`), `date`
 *   (group `birth` or `expiry`), `sex`, `code` (group `issuing_state` or
 *   `nationality`), `name` or `number` (no document number);
 * - `progress`: the lines still short of 44, `[{line, count}]` (not errors:
 *   the applicant may still be typing); groups already typed are checked;
 * - `notes`: facts worth saying that do not stop filling in (`name-full`,
 *   `expired`, `birth-unknown`);
 * - `fields`: what the zone says, once both lines are whole: `number`
 *   (fillers removed), `surname`, `givenNames` (as printed: `<` as a space),
 *   `nationality`, `issuingState` (alpha-3; `D` is DEU), `sex` (M, F, X),
 *   `dateOfBirth`, `expiryDate` (ISO; null if unknown), `personalNumber`,
 *   `documentType` (`P`, `PA`, ...);
 * - `valid`: complete and no errors.
 * `today` (ISO date or Date) places two-digit years; the browser's date by default.
 */
export function parseTd3(text, { today } = {}) {
  const lines = normaliseLines(text, TD3_LINE);
  const errors = [];
  const notes = [];
  const progress = [];
  if (lines.length > 2) errors.push({ code: 'lines', count: lines.length, ranges: [] });
  const [l1 = '', l2 = ''] = lines;
  for (const [i, line] of [l1, l2].entries()) {
    if (line.length < TD3_LINE) progress.push({ line: i + 1, count: line.length });
    if (line.length > TD3_LINE) errors.push({ code: 'length', count: line.length, ranges: [range(i + 1, TD3_LINE, line.length)] });
  }
  // Characters outside the MRZ alphabet, runs of them together.
  const bad = [[], []];
  for (const [i, line] of [l1, l2].entries()) {
    for (let p = 0; p < Math.min(line.length, TD3_LINE); p += 1) {
      if (charValue(line[p]) !== null) continue;
      bad[i].push(p);
      const last = errors[errors.length - 1];
      if (last && last.code === 'charset' && last.ranges[0].line === i + 1 && last.ranges[0].end === p) last.ranges[0].end = p + 1;
      else errors.push({ code: 'charset', char: line[p], ranges: [range(i + 1, p, p + 1)] });
    }
  }
  // Whether characters start..end of line 1 or 2 are all typed, in the MRZ alphabet.
  const clean = (n, start, end) => [l1, l2][n - 1].length >= end && !bad[n - 1].some((p) => p >= start && p < end);
  const groupErrors = [];
  const fail = (code, group, ranges) => groupErrors.push({ code, ...(group ? { group } : {}), ranges });

  // Line 1: P, type, issuing state, name.
  if (l1.length >= 1 && charValue(l1[0]) !== null && l1[0] !== 'P') fail('document-type', null, [range(1, 0, 2)]);
  if (clean(1, 2, 5) && !/^[A-Z]{1,3}<*$/.test(l1.slice(2, 5))) fail('code', 'issuing_state', [range(1, 2, 5)]);
  if (clean(1, 5, TD3_LINE)) {
    const name = l1.slice(5, TD3_LINE);
    if (name[0] === '<' || /\d/.test(name)) fail('name', null, [range(1, 5, TD3_LINE)]);
  }

  // Line 2, group by group, each once its characters are all there.
  const check = (group, [start, end], at) => {
    if (clean(2, start, at + 1) && l2[at] !== checkDigit(l2.slice(start, end))) fail('check-digit', group, [range(2, start, at + 1)]);
  };
  // A number longer than 9 (Part 4, note j): `<` in the check digit's place,
  // the rest of the number and then its check digit open the optional data.
  let extension = null;
  if (clean(2, 0, TD3.personal[1]) && l2[TD3.numberCheck] === '<' && l2[TD3.personal[0]] !== '<') {
    const head = /^[A-Z0-9]+/.exec(l2.slice(TD3.personal[0], TD3.personal[1]))[0];
    extension = { rest: head.slice(0, -1), check: head.slice(-1), at: TD3.personal[0] + head.length - 1 };
  }
  if (clean(2, 0, 9) && /^<+$/.test(l2.slice(0, 9))) fail('number', null, [range(2, 0, 9)]);
  else if (extension) {
    if (extension.check !== checkDigit(l2.slice(0, 9) + extension.rest)) {
      fail('check-digit', 'number', [range(2, 0, 10), range(2, TD3.personal[0], extension.at + 1)]);
    }
  } else check('number', TD3.number, TD3.numberCheck);
  if (clean(2, ...TD3.nationality) && !/^[A-Z]{1,3}<*$/.test(l2.slice(...TD3.nationality))) fail('code', 'nationality', [range(2, ...TD3.nationality)]);
  let dateOfBirth = null;
  const birth = l2.slice(...TD3.birth);
  check('birth', TD3.birth, TD3.birthCheck);
  if (clean(2, ...TD3.birth)) {
    // An unknown month or day is written `<<` (Part 3): the check digit still holds.
    if (/^\d\d(\d\d|<<)(\d\d|<<)$/.test(birth) && birth.includes('<')) notes.push({ code: 'birth-unknown' });
    else if (!(dateOfBirth = birthDate(birth, today))) fail('date', 'birth', [range(2, ...TD3.birth)]);
  }
  if (clean(2, TD3.sex, TD3.sex + 1) && !sexOf(l2[TD3.sex])) fail('sex', null, [range(2, TD3.sex, TD3.sex + 1)]);
  let expiry = null;
  check('expiry', TD3.expiry, TD3.expiryCheck);
  if (clean(2, ...TD3.expiry) && !(expiry = expiryDate(l2.slice(...TD3.expiry), today))) fail('date', 'expiry', [range(2, ...TD3.expiry)]);
  if (clean(2, TD3.personal[0], TD3.personalCheck + 1)) {
    const personal = l2.slice(...TD3.personal);
    // An empty optional data field may have `<` as its check digit (Part 4, note k).
    const empty = /^<+$/.test(personal) && (l2[TD3.personalCheck] === '<' || l2[TD3.personalCheck] === '0');
    if (!empty && l2[TD3.personalCheck] !== checkDigit(personal)) fail('check-digit', 'personal', [range(2, TD3.personal[0], TD3.personalCheck + 1)]);
  }
  // The composite only once every digit it covers is right: else it names
  // no group of its own, and the group at fault is reported already.
  if (clean(2, 0, TD3_LINE) && !groupErrors.some((e) => e.code === 'check-digit' || e.code === 'date')) {
    const composite = l2.slice(0, 10) + l2.slice(13, 20) + l2.slice(21, 43);
    if (l2[TD3.composite] !== checkDigit(composite)) {
      fail('check-digit', 'composite', [range(2, 0, 10), range(2, 13, 20), range(2, 21, 44)]);
    }
  }
  errors.push(...groupErrors);
  // In the order of the zone, as a person reads it.
  const first = (e) => (e.ranges[0] ? e.ranges[0].line * 100 + e.ranges[0].start : 0);
  errors.sort((a, b) => first(a) - first(b));

  const complete = lines.length >= 2 && l1.length === TD3_LINE && l2.length === TD3_LINE;
  let fields = null;
  if (complete && !bad[0].length && !bad[1].length) {
    const name = readNameField(l1.slice(5));
    const optional = l2.slice(...TD3.personal);
    fields = {
      documentType: l1.slice(0, 2).replace(/<+$/, ''),
      number: (l2.slice(0, 9) + (extension ? extension.rest : '')).replace(/</g, ''),
      surname: name.surname,
      givenNames: name.givenNames,
      nationality: stateCode(l2.slice(...TD3.nationality)),
      issuingState: stateCode(l1.slice(2, 5)),
      sex: sexOf(l2[TD3.sex]),
      dateOfBirth,
      expiryDate: expiry,
      personalNumber: extension ? '' : optional.replace(/<+$/, '').replace(/</g, ' '),
    };
    // A name that fills its field may have been cut short to fit (Part 3, 4.6).
    if (l1[TD3_LINE - 1] !== '<') notes.push({ code: 'name-full' });
    if (expiry && expiry < isoToday(today)) notes.push({ code: 'expired', date: expiry });
  }
  return { lines, complete, valid: complete && errors.length === 0, errors, progress, notes, fields };
}

/** The two lines of a TD3 for these fields, check digits computed (tests build passports with it). */
export function formatTd3({ documentType = 'P', issuingState, surname, givenNames = '', number, nationality, dateOfBirth, sex, expiryDate, personalNumber = '' }) {
  const pad = (s, n) => String(s).slice(0, n).padEnd(n, '<');
  const code = (c) => (c === 'DEU' ? 'D' : c);
  const filler = (s) => String(s || '').trim().toUpperCase().replace(/[\s-]+/g, '<');
  const line1 = pad(`${pad(documentType, 2)}${pad(code(issuingState), 3)}${filler(surname)}${givenNames ? `<<${filler(givenNames)}` : ''}`, TD3_LINE);
  const doc = pad(number, 9);
  const birth = yymmdd(dateOfBirth);
  const expiry = yymmdd(expiryDate);
  const personal = pad(filler(personalNumber), 14);
  const personalCheck = /^<+$/.test(personal) ? '<' : checkDigit(personal);
  const body = `${doc}${checkDigit(doc)}${pad(code(nationality), 3)}${birth}${checkDigit(birth)}${sex === 'X' ? '<' : sex}${expiry}${checkDigit(expiry)}${personal}${personalCheck}`;
  const composite = checkDigit(body.slice(0, 10) + body.slice(13, 20) + body.slice(21, 43));
  return [line1, `${body}${composite}`];
}

// ---------- MRV: a visa's MRZ ----------

/**
 * Reads a visa's MRZ: MRV-B (two lines of 36, as this portal's visas are
 * written) or MRV-A (44). Line 1: `V`, type, issuing state [3], name field
 * [the rest]; line 2: number [9] + check, nationality [3], birth + check,
 * sex, valid until + check, optional data [the rest]; no composite check
 * (Part 7). Null if the lines are not two of one of those lengths in the
 * MRZ alphabet.
 */
export function parseMrv(lines, { today } = {}) {
  if (!Array.isArray(lines) || lines.length !== 2) return null;
  const [l1, l2] = lines.map((l) => String(l || ''));
  if (l1.length !== l2.length || ![36, 44].includes(l1.length) || !/^[A-Z0-9<]+$/.test(l1 + l2)) return null;
  const numberField = l2.slice(0, 9);
  const birth = l2.slice(13, 19);
  const until = l2.slice(21, 27);
  const nameField = l1.slice(5);
  return {
    format: l1.length === 36 ? 'MRV-B' : 'MRV-A',
    documentCode: l1.slice(0, 2).replace(/<+$/, ''),
    issuingState: stateCode(l1.slice(2, 5)),
    nameField,
    ...readNameField(nameField),
    numberField,
    number: numberField.replace(/</g, ''),
    nationalityField: l2.slice(10, 13),
    nationality: stateCode(l2.slice(10, 13)),
    birth,
    dateOfBirth: birthDate(birth, today),
    sexField: l2[20],
    sex: sexOf(l2[20]),
    until,
    validUntil: expiryDate(until, today),
    optionalData: l2.slice(28).replace(/<+$/, ''),
    checks: {
      number: l2[9] === checkDigit(numberField),
      birth: l2[19] === checkDigit(birth),
      until: l2[27] === checkDigit(until),
    },
  };
}

// ---------- Names as the server writes them (functions/core/src/mrz.rs) ----------

// Doc 9303 Part 3, section 6, where it is not "drop the diacritic": the
// recommended option where it offers several, Cyrillic by its Russian
// values, and Kazakh letters (not in the ICAO table) as their base letter.
const DOC9303 = {
  'Ä': 'AE', 'Æ': 'AE', 'Å': 'AA', 'Ö': 'OE', 'Ø': 'OE', 'Œ': 'OE', 'Ü': 'UE', 'ẞ': 'SS', 'Þ': 'TH',
  'Ð': 'D', 'Đ': 'D', 'Ĳ': 'IJ', 'Ł': 'L', 'Ŀ': 'L', 'Ħ': 'H', 'Ŋ': 'N', 'İ': 'I',
  'А': 'A', 'Б': 'B', 'В': 'V', 'Г': 'G', 'Ґ': 'G', 'Ѓ': 'G', 'Д': 'D', 'Ђ': 'D', 'Е': 'E', 'Ё': 'E',
  'Э': 'E', 'Є': 'IE', 'Ж': 'ZH', 'З': 'Z', 'Ѕ': 'DZ', 'Џ': 'DZ', 'И': 'I', 'І': 'I', 'Ї': 'I', 'Й': 'I',
  'Ј': 'J', 'К': 'K', 'Ќ': 'K', 'Л': 'L', 'Љ': 'LJ', 'М': 'M', 'Н': 'N', 'Њ': 'NJ', 'О': 'O', 'П': 'P',
  'Р': 'R', 'С': 'S', 'Т': 'T', 'Ћ': 'C', 'У': 'U', 'Ў': 'U', 'Ф': 'F', 'Х': 'KH', 'Ц': 'TS', 'Ч': 'CH',
  'Ш': 'SH', 'Щ': 'SHCH', 'Ъ': 'IE', 'Ы': 'Y', 'Ь': '', 'Ю': 'IU', 'Я': 'IA',
  'Ә': 'A', 'Ғ': 'G', 'Қ': 'K', 'Ң': 'N', 'Ө': 'O', 'Ұ': 'U', 'Ү': 'U', 'Һ': 'H',
};

// The server writes every other letter the visa can print (Latin, Greek,
// Cyrillic: functions/core/src/printable.rs) by the deunicode crate. Where
// that is not simply the letter without its diacritics (which NFD gives),
// here is what deunicode 1.6.2 says, upper case.
const DEUNICODE = {
  'ª': 'A', 'Μ': 'M', 'º': 'O', 'ĸ': 'K', 'Ŧ': 'T', 'Ƀ': 'B', 'Ɓ': 'B', 'Ƃ': 'B', 'Ɔ': 'O', 'Ƈ': 'C',
  'Ɖ': 'D', 'Ɗ': 'D', 'Ƌ': 'D', 'ƍ': 'D', 'Ɛ': 'E', 'Ƒ': 'F', 'Ɠ': 'G', 'Ɣ': 'G', 'Ƕ': 'HV', 'Ɩ': 'I',
  'Ɨ': 'I', 'Ƙ': 'K', 'Ƚ': 'L', 'ƛ': 'L', 'Ɯ': 'W', 'Ɲ': 'N', 'Ƞ': 'N', 'Ɵ': 'O', 'Ƣ': 'OI', 'Ƥ': 'P',
  'Ʀ': 'YR', 'Ʃ': 'SH', 'ƪ': 'SH', 'ƫ': 'T', 'Ƭ': 'T', 'Ʈ': 'T', 'Ʊ': 'Y', 'Ʋ': 'V', 'Ƴ': 'Y', 'Ƶ': 'Z',
  'Ʒ': 'ZH', 'Ƹ': 'ZH', 'ƺ': 'ZH', 'ƾ': 'TS', 'Ƿ': 'W', 'Ǆ': 'DZ', 'Ǉ': 'LJ', 'Ǌ': 'NJ', 'Ǣ': 'AE', 'Ǥ': 'G',
  'Ǯ': 'ZH', 'Ǳ': 'DZ', 'Ǽ': 'AE', 'Ǿ': 'O', 'Ȝ': 'Y', 'ȡ': 'D', 'Ȣ': 'OU', 'Ȥ': 'Z', 'ȴ': 'L', 'ȵ': 'N',
  'ȶ': 'T', 'ȷ': 'J', 'ȸ': 'DB', 'ȹ': 'QP', 'Ⱥ': 'A', 'Ȼ': 'C', 'Ⱦ': 'T', 'Ȿ': 'S', 'Ɀ': 'Z', 'Ʉ': 'U',
  'Ɇ': 'E', 'Ɉ': 'J', 'Ɋ': 'Q', 'Ɍ': 'R', 'Ɏ': 'Y', 'ͺ': 'I', 'Ͻ': 'S', 'Ͼ': 'S', 'Ͽ': 'S', 'Ά': 'A',
  'Έ': 'E', 'Ή': 'E', 'Ί': 'I', 'Ό': 'O', 'Ύ': 'U', 'Ώ': 'O', 'Ι': 'I', 'Α': 'A', 'Β': 'B', 'Γ': 'G',
  'Δ': 'D', 'Ε': 'E', 'Ζ': 'Z', 'Η': 'E', 'Θ': 'TH', 'Κ': 'K', 'Λ': 'L', 'Ν': 'N', 'Ξ': 'KS', 'Ο': 'O',
  'Π': 'P', 'Ρ': 'R', 'Σ': 'S', 'Τ': 'T', 'Υ': 'U', 'Φ': 'PH', 'Χ': 'KH', 'Ψ': 'PS', 'Ω': 'O', 'Ϊ': 'I',
  'Ϋ': 'U', 'ϒ': 'U', 'ϓ': 'U', 'ϔ': 'U', 'Ϙ': 'Q', 'Ϛ': 'ST', 'Ϝ': 'W', 'Ϟ': 'Q', 'Ϡ': 'SP', 'Ϲ': 'S',
  'Ϳ': 'J', 'ϴ': 'TH', 'Ϸ': 'SH', 'Ϻ': 'S', 'Ѐ': 'IE', 'Ѝ': 'I', 'Ѣ': 'E', 'Ѱ': 'PS', 'Ѳ': 'F', 'Ѵ': 'Y',
  'Ѷ': 'Y', 'Ҕ': 'G', 'Җ': 'ZH', 'Ҙ': 'Z', 'Ҝ': 'K', 'Ҟ': 'K', 'Ҡ': 'K', 'Ҥ': 'NG', 'Ҧ': 'P', 'Ҩ': 'KH',
  'Ҫ': 'S', 'Ҭ': 'T', 'Ҳ': 'KH', 'Ҵ': 'TTS', 'Ҷ': 'CH', 'Ҹ': 'CH', 'Ҽ': 'CH', 'Ҿ': 'CH', 'Ӂ': 'ZH', 'Ӄ': 'K',
  'Ӈ': 'N', 'Ӊ': 'NH', 'Ӌ': 'CH', 'Ӑ': 'A', 'Ӓ': 'A', 'Ӕ': 'AE', 'Ӗ': 'IE', 'Ӝ': 'ZH', 'Ӟ': 'Z', 'Ӡ': 'DZ',
  'Ӣ': 'I', 'Ӥ': 'I', 'Ӧ': 'O', 'Ӫ': 'O', 'Ӭ': 'E', 'Ӯ': 'U', 'Ӱ': 'U', 'Ӳ': 'U', 'Ӵ': 'CH', 'Ӷ': 'GH',
  'Ӹ': 'Y',
};

/** Without diacritics, letters A-Z only (what deunicode gives for most Latin letters). */
function baseLetters(c) {
  const fixed = DEUNICODE[c];
  if (fixed !== undefined) return fixed;
  return c.normalize('NFD').replace(/[^A-Za-z]/g, '').toUpperCase();
}

/** Upper-case text in the MRZ alphabet, as mrz.rs's `transliterate`: spaces and hyphens kept, anything else without a Latin form dropped. */
export function transliterate(text) {
  let out = '';
  for (const c of String(text || '').toUpperCase()) {
    if (/[A-Z0-9 -]/.test(c)) out += c;
    else if (Object.prototype.hasOwnProperty.call(DOC9303, c)) out += DOC9303[c];
    else if (c.charCodeAt(0) > 127) out += baseLetters(c);
  }
  return out;
}

/** A name's components in the MRZ alphabet, as mrz.rs's `name_components`: split at spaces, hyphens and commas; apostrophes and the like left out. */
export function nameComponents(name) {
  return String(name || '').split(/[\s\-‐,]+/u)
    .map((part) => transliterate(part).replace(/[^A-Z]/g, ''))
    .filter(Boolean);
}

/** The name field as mrz.rs's `name_field` writes it: `SURNAME<<GIVEN<NAMES`, cut by Doc 9303 Part 3, 4.6, padded to `len`. */
export function nameField(surname, givenNames, len) {
  const primary = nameComponents(surname).join('<');
  const secondary = nameComponents(givenNames).join('<');
  let out;
  if (primary.length + 2 + secondary.length <= len) out = secondary ? `${primary}<<${secondary}` : primary;
  else if (primary.length + 3 > len) out = primary.slice(0, len);
  else out = `${primary}<<${secondary.slice(0, len - primary.length - 2)}`;
  return out.padEnd(len, '<');
}

// ---------- The passport as entered, against the visa's MRZ ----------

const collapse = (s) => String(s || '').trim().replace(/\s+/g, ' ').toUpperCase();
const plain = (s) => collapse(s).normalize('NFD').replace(/\p{M}/gu, '');

function compareName(entered, mrz, { cut }) {
  if (mrz === collapse(entered)) return 'same';
  const written = nameComponents(entered).join(' ');
  if (mrz === written) return 'written';
  // Doc 9303's other option for accented letters, dropping the accent (Ö as O): still the same name.
  if (mrz === nameComponents(plain(entered)).join(' ')) return 'written';
  if (cut && written.startsWith(mrz)) return 'shortened';
  return 'different';
}

/**
 * Compares the passport as entered (`application.passport`) with the visa's
 * MRZ (`application.mrz`), detail by detail. Returns null if the MRZ cannot
 * be read, else `{mrv, rows}`, each row `{field, result, mrz}` in the order
 * number, surname, given_names, nationality, date_of_birth, sex; `result`:
 * - `same`: the MRZ holds exactly what was entered;
 * - `written`: the same, in the MRZ's alphabet (ÖZDEMİR as OEZDEMIR, D for DEU);
 * - `shortened`: a name cut to fit the name field;
 * - `different`;
 * - `not-in-mrz`: the passport number, which a visa's MRZ does not hold (its
 *   document number is the visa's own) unless in its optional data.
 */
export function compareWithVisa(passport, lines, { today } = {}) {
  const mrv = parseMrv(lines, { today });
  if (!mrv || !passport) return null;
  const p = passport;
  // A name the server had to cut: its field is what mrz.rs writes, and full.
  const len = mrv.nameField.length;
  const primary = nameComponents(p.surname).join('<');
  const secondary = nameComponents(p.given_names).join('<');
  const cut = nameField(p.surname, p.given_names, len) === mrv.nameField && (secondary ? primary.length + 2 + secondary.length : primary.length) > len;
  const rows = [
    { field: 'number', result: optionalHolds(mrv, lines[1].length - 28, collapse(p.number).replace(/\s+/g, '')) ? 'same' : 'not-in-mrz', mrz: mrv.numberField },
    { field: 'surname', result: compareName(p.surname, mrv.surname, { cut }), mrz: mrv.surname },
    { field: 'given_names', result: compareName(p.given_names, mrv.givenNames, { cut }), mrz: mrv.givenNames },
    {
      field: 'nationality',
      result: mrv.nationalityField.replace(/<+$/, '') === p.nationality ? 'same' : mrv.nationality === p.nationality ? 'written' : 'different',
      mrz: mrv.nationalityField,
    },
    { field: 'date_of_birth', result: yymmdd(p.date_of_birth) === mrv.birth ? 'same' : 'different', mrz: mrv.birth },
    { field: 'sex', result: mrv.sex === String(p.sex || '').toUpperCase() ? 'same' : 'different', mrz: mrv.sexField },
  ];
  return { mrv, rows };
}

// A visa's MRZ may carry the passport number in its optional data (this
// portal's leaves it empty), cut to the field's length if longer.
function optionalHolds(mrv, fieldLength, number) {
  const held = mrv.optionalData;
  if (!held || !number) return false;
  return held === number || (number.length > fieldLength && held.length === fieldLength && number.startsWith(held));
}
