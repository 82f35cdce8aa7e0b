// One application's answers as its visa will print them: the visa, the
// passport, the invitation, the machine-readable zone and the passport
// compared with it. The check page shows one; a group's check page shows
// one per member, under the member's heading (so its headings are a
// level lower and its ids carry the member's place).

import { t, el, formatDate, formatMoney, countryName, entryPointName } from './i18n.js';
import { get } from './api.js';
import { comparisonSection } from './mrz-compare.js';

function row(labelKey, value, name) {
  const dd = el('dd', { attrs: name ? { 'data-answer': name } : {} });
  if (value instanceof Node) dd.append(value);
  else dd.textContent = value || '';
  return el('div', { className: 'summary-list__row' }, [el('dt', { key: labelKey }), dd]);
}

function section(titleKey, rows, level) {
  return [el(`h${level}`, { key: titleKey }), el('dl', { className: 'summary-list' }, rows)];
}

function sexName(sex) {
  return ['F', 'M'].includes(sex) ? t(`sex.${sex}`) : t('sex.X');
}

// The server makes the MRZ (the same code prints it on the visa).
function mrzLines(application) {
  return Array.isArray(application.mrz) ? application.mrz : ['', ''];
}

/** The entry points the rules name for this nationality and category, or null (the rule's default wording). */
export async function entryPointsFor(application) {
  try {
    const p = application.passport || {};
    const req = await get(`/requirements?nationality=${encodeURIComponent(p.nationality)}&category=${encodeURIComponent(application.category)}`);
    return Array.isArray(req.entry_points) ? req.entry_points : null;
  } catch {
    return null;
  }
}

/**
 * The nodes of one application's answers. `level`: its sections' heading
 * level; `idPrefix`: what makes its ids unique on the page; `ownerId`: the
 * id of the heading naming whose answers they are (a group's member), so
 * each member's MRZ region has a name of its own.
 */
export function answerNodes(app, entryPoints, { level = 2, idPrefix = '', ownerId = null } = {}) {
  const p = app.passport || {};
  const stay = app.stay || {};
  const points = entryPoints
    ? el('ul', {}, entryPoints.map((e) => el('li', { text: entryPointName(e) })))
    : t('rule.airports_default');
  const out = [
    ...section('check.visa_heading', [
      row('field.category', t(`category.${app.category}_visa`), 'category'),
      row('field.entries', t('visa.single_entry'), 'entries'),
      row('field.valid_from', formatDate(stay.valid_from), 'valid_from'),
      row('field.valid_until', formatDate(stay.valid_until), 'valid_until'),
      row('field.entry_points', points, 'entry_points'),
      row('field.fee', formatMoney(app.fee), 'fee'),
    ], level),
    ...section('check.passport_heading', [
      row('field.passport.surname', p.surname, 'surname'),
      row('field.passport.given_names', p.given_names, 'given_names'),
      row('field.passport.sex', sexName(p.sex), 'sex'),
      row('field.passport.date_of_birth', formatDate(p.date_of_birth), 'date_of_birth'),
      row('field.passport.nationality', countryName(p.nationality), 'nationality'),
      row('field.passport.number', p.number, 'passport_number'),
      row('field.passport.issuing_state', countryName(p.issuing_state), 'issuing_state'),
      row('field.passport.expiry_date', formatDate(p.expiry_date), 'expiry_date'),
    ], level),
    ...section('check.invitation_heading', [
      row('field.invitation_number', app.invitation_number, 'invitation_number'),
      row('field.inviter', app.inviter ? app.inviter.name : '', 'inviter'),
      row('field.inviter_bin', app.inviter ? app.inviter.bin : '', 'inviter_bin'),
    ], level),
  ];

  const [line1, line2] = mrzLines(app);
  const captionId = `${idPrefix}mrz-caption`;
  const lines = el('pre', { className: 'mrz__lines', attrs: { 'data-mrz': '' } });
  lines.append(el('span', { text: line1, attrs: { 'data-mrz-line': '1' } }), '\n', el('span', { text: line2, attrs: { 'data-mrz-line': '2' } }));
  out.push(
    el(`h${level}`, { key: 'check.mrz_heading' }),
    el('figure', { className: 'mrz' }, [
      el('figcaption', { key: 'check.mrz_caption', attrs: { id: captionId } }),
      // Focusable so that keyboard users can scroll it at 200% zoom or on a narrow screen.
      el('div', { className: 'mrz__box', attrs: { tabindex: '0', role: 'region', 'aria-labelledby': ownerId ? `${captionId} ${ownerId}` : captionId } }, [lines]),
    ]),
  );
  // The passport as entered against the zone, detail by detail.
  out.push(...comparisonSection(app, { level, id: `${idPrefix}mrz-compare-heading` }));
  return out;
}
