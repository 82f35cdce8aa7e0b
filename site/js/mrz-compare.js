// The check page's comparison of the passport, as the applicant entered
// it, with the visa's machine-readable zone (application.mrz, MRV-B, made
// by the server), detail by detail, each row's result in words. The names
// are compared by the rules the server writes them with (js/mrz.js), so a
// name the zone spells in A-Z (ÖZDEMİR as OEZDEMIR) is "written as the MRZ
// writes it", not "different".

import { t, el, formatDate, countryName } from './i18n.js';
import { compareWithVisa, yymmdd } from './mrz.js';

const LABELS = {
  number: 'field.passport.number',
  surname: 'field.passport.surname',
  given_names: 'field.passport.given_names',
  nationality: 'field.passport.nationality',
  date_of_birth: 'field.passport.date_of_birth',
  sex: 'field.passport.sex',
};
const COLUMNS = ['mrz.compare.col.detail', 'mrz.compare.col.passport', 'mrz.compare.col.visa', 'mrz.compare.col.result'];
const RESULT_KEYS = {
  same: 'mrz.result.same',
  written: 'mrz.result.written',
  shortened: 'mrz.result.shortened',
  different: 'mrz.result.different',
  'not-in-mrz': 'mrz.result.not_in_mrz',
};

function sexName(sex) {
  return ['F', 'M'].includes(sex) ? t(`sex.${sex}`) : t('sex.X');
}

/** A cell's reading, and under it the characters of the zone it comes from. */
function value(text, code) {
  const parts = [el('span', { text: text || '—', attrs: { 'data-value': '' } })];
  if (code) parts.push(el('br'), el('code', { className: 'mrz-code', text: code, attrs: { 'data-code': '' } }));
  return parts;
}

function cells(row, p, mrv) {
  switch (row.field) {
    case 'number':
      return [value(p.number), value(t('mrz.compare.visa_number', { number: mrv.numberField }))];
    case 'surname':
      return [value(p.surname), value(mrv.surname)];
    case 'given_names':
      return [value(p.given_names), value(mrv.givenNames)];
    case 'nationality':
      return [value(countryName(p.nationality), p.nationality), value(countryName(mrv.nationality), mrv.nationalityField)];
    case 'date_of_birth': {
      // The zone has two digits of the year: read with the passport's century when the digits agree.
      const read = yymmdd(p.date_of_birth) === mrv.birth ? p.date_of_birth : mrv.dateOfBirth;
      return [value(formatDate(p.date_of_birth)), value(read ? formatDate(read) : mrv.birth, mrv.birth)];
    }
    default:
      return [value(sexName(p.sex)), value(mrv.sex ? sexName(mrv.sex) : mrv.sexField, mrv.sexField)];
  }
}

/**
 * The heading, the table and the notes its results call for: nodes to
 * append to the check page. A group's page shows one per member, under
 * the member's own heading: `level` and `id` keep its headings in order
 * and its ids apart.
 */
export function comparisonSection(application, { level = 2, id = 'mrz-compare-heading' } = {}) {
  const out = [
    el(`h${level}`, { key: 'mrz.compare.heading', attrs: { id } }),
    el('p', { key: 'mrz.compare.intro' }),
  ];
  const comparison = compareWithVisa(application.passport, application.mrz);
  if (!comparison) {
    out.push(el('p', { key: 'mrz.compare.unreadable', attrs: { 'data-compare': 'unreadable' } }));
    return out;
  }
  const p = application.passport;
  const labels = COLUMNS.map((key) => t(key));
  // A table that stacks on a narrow screen (main.css, .table--stack); its
  // explicit roles keep it a table for assistive technology then.
  const rows = comparison.rows.map((row) => {
    const all = [
      el('th', { key: LABELS[row.field], attrs: { scope: 'row' } }),
      ...cells(row, p, comparison.mrv).map((parts) => el('td', {}, parts)),
      el('td', {}, [el('strong', { className: `tag tag--mrz-${row.result}`, key: RESULT_KEYS[row.result], attrs: { 'data-result': row.result } })]),
    ];
    all.forEach((cell, i) => {
      cell.setAttribute('data-label', labels[i]);
      cell.setAttribute('role', i === 0 ? 'rowheader' : 'cell');
    });
    return el('tr', { attrs: { role: 'row', 'data-compare': row.field } }, all);
  });
  out.push(el('table', { className: 'table table--stack mrz-compare', attrs: { role: 'table', 'data-compare': 'table' } }, [
    el('caption', { className: 'visually-hidden', key: 'mrz.compare.caption' }),
    el('thead', { attrs: { role: 'rowgroup' } }, [el('tr', { attrs: { role: 'row' } }, COLUMNS.map((key) => el('th', { key, attrs: { scope: 'col', role: 'columnheader' } })))]),
    el('tbody', { attrs: { role: 'rowgroup' } }, rows),
  ]));
  const results = new Set(comparison.rows.map((r) => r.result));
  if (results.has('not-in-mrz')) out.push(el('p', { key: 'mrz.compare.number_note', attrs: { 'data-compare-note': 'not-in-mrz' } }));
  if (results.has('written')) out.push(el('p', { key: 'mrz.compare.written_note', attrs: { 'data-compare-note': 'written' } }));
  if (results.has('shortened')) out.push(el('p', { key: 'mrz.compare.shortened_note', attrs: { 'data-compare-note': 'shortened' } }));
  if (results.has('different')) {
    out.push(el('div', { className: 'warning', attrs: { 'data-compare-note': 'different' } }, [
      el('span', { className: 'warning__icon', text: '!', attrs: { 'aria-hidden': 'true' } }),
      el('span', {}, [el('span', { className: 'visually-hidden', key: 'common.warning' }), ' ', el('span', { key: 'mrz.compare.different_note' })]),
    ]));
  }
  return out;
}
