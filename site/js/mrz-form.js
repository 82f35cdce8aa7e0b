// The application form's optional first step: the applicant types or
// pastes the two lines of the passport's machine-readable zone (TD3); they
// are checked as they are typed (js/mrz.js), a wrong check digit is named by
// its group and its characters are marked in a copy of the lines (marked
// and underlined, with ^ beneath: not by colour alone), and once every
// check digit matches a button fills the passport fields with exactly what
// the zone says. The fields stay editable; the form works without this.

import { t, el, formatDate } from './i18n.js';
import { parseTd3 } from './mrz.js';

// Long enough not to announce every keystroke, short enough to feel immediate.
const DEBOUNCE_MS = 500;

function where(r) {
  const from = r.start + 1;
  return from === r.end
    ? t('mrz.where.one', { line: r.line, at: from })
    : t('mrz.where.range', { line: r.line, from, to: r.end });
}

/** What an error of parseTd3 says, in the current language. */
export function errorText(e) {
  const w = e.ranges.map(where).join('; ');
  switch (e.code) {
    case 'lines': return t('mrz.error.lines', { count: e.count });
    case 'length': return t('mrz.error.length', { line: e.ranges[0].line, count: e.count, where: w });
    case 'charset': return t('mrz.error.charset', { char: e.char, where: w });
    case 'document-type': return t('mrz.error.document_type', { where: w });
    case 'check-digit': return t(`mrz.error.check.${e.group}`, { where: w });
    case 'date': return t(`mrz.error.date.${e.group}`, { where: w });
    case 'code': return t(`mrz.error.code.${e.group}`, { where: w });
    case 'sex': return t('mrz.error.sex', { where: w });
    case 'name': return t('mrz.error.name', { where: w });
    default: return t('mrz.error.number', { where: w });
  }
}

function noteText(n) {
  if (n.code === 'expired') return t('mrz.note.expired', { date: formatDate(n.date) });
  if (n.code === 'name-full') return t('mrz.note.name_full');
  if (n.code === 'birth-unknown') return t('mrz.note.birth_unknown');
  return t('mrz.note.country_unknown', { code: n.value, field: t(n.fieldKey) });
}

/** The lines as read, each erroneous group in a <mark>, with a line of ^ under it. */
function markedLines(result) {
  const nodes = [];
  result.lines.forEach((line, i) => {
    const groupAt = new Array(line.length).fill(null);
    for (const e of result.errors) {
      for (const r of e.ranges) {
        if (r.line !== i + 1) continue;
        for (let p = r.start; p < Math.min(r.end, line.length); p += 1) groupAt[p] = groupAt[p] || e.group || e.code;
      }
    }
    if (i > 0) nodes.push('\n');
    let p = 0;
    while (p < line.length) {
      let q = p + 1;
      while (q < line.length && groupAt[q] === groupAt[p]) q += 1;
      const text = line.slice(p, q);
      nodes.push(groupAt[p] ? el('mark', { className: 'mrz-mark', text, attrs: { 'data-mrz-mark': groupAt[p] } }) : text);
      p = q;
    }
    if (groupAt.some(Boolean)) {
      const carets = groupAt.map((g) => (g ? '^' : ' ')).join('').replace(/\s+$/, '');
      nodes.push('\n', el('span', { className: 'mrz-carets', text: carets, attrs: { 'aria-hidden': 'true' } }));
    }
  });
  return nodes;
}

function setDate(form, base, iso) {
  const [y, m, d] = iso ? iso.split('-') : ['', '', ''];
  form.elements[`${base}-day`].value = d ? String(Number(d)) : '';
  form.elements[`${base}-month`].value = m ? String(Number(m)) : '';
  form.elements[`${base}-year`].value = y || '';
}

/** Puts the zone's fields into the form; returns notes on what could not be put (a code not in the list of countries). */
function fill(form, f) {
  const notes = [];
  form.elements.passport_number.value = f.number;
  form.elements.passport_surname.value = f.surname;
  form.elements.passport_given_names.value = f.givenNames;
  for (const radio of form.querySelectorAll('input[name="passport_sex"]')) radio.checked = radio.value === f.sex;
  setDate(form, 'passport-dob', f.dateOfBirth);
  setDate(form, 'passport-expiry', f.expiryDate);
  for (const [name, value, fieldKey] of [
    ['passport_nationality', f.nationality, 'field.passport.nationality'],
    ['passport_issuing_state', f.issuingState, 'field.passport.issuing_state'],
  ]) {
    const select = form.elements[name];
    const known = [...select.options].some((o) => o.value === value);
    select.value = known ? value : '';
    if (!known) notes.push({ code: 'country-unknown', value, fieldKey });
  }
  // The draft (apply.js) follows the form's change events.
  form.dispatchEvent(new Event('change', { bubbles: true }));
  return notes;
}

/** Wires the MRZ entry of the application form (apply.html's #mrz-entry). */
export function wireMrzEntry(form) {
  const input = document.getElementById('mrz-lines');
  const status = document.getElementById('mrz-status');
  const figure = document.getElementById('mrz-marked');
  const pre = document.getElementById('mrz-marked-lines');
  const button = document.getElementById('mrz-fill');
  let result = null;
  let filled = null; // notes of the last fill, while the lines are unchanged
  let timer = null;

  function render() {
    status.replaceChildren();
    pre.replaceChildren();
    const empty = !result || result.lines.length === 0;
    const errors = empty ? [] : result.errors;
    figure.hidden = !errors.some((e) => e.ranges.length);
    if (!figure.hidden) pre.append(...markedLines(result));
    button.hidden = empty || !result.valid;
    if (errors.length) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
    status.setAttribute('data-state', empty ? 'empty' : filled ? 'filled' : result.valid ? 'valid' : errors.length ? 'errors' : 'incomplete');
    if (empty) return;
    if (filled) {
      status.append(el('p', { key: 'mrz.filled', attrs: { 'data-mrz-filled': '' } }));
      const notes = [...result.notes, ...filled];
      if (notes.length) status.append(el('ul', { className: 'mrz-status__notes' }, notes.map((n) => el('li', { text: noteText(n), attrs: { 'data-mrz-note': n.code } }))));
      return;
    }
    if (errors.length) {
      status.append(
        el('p', { className: 'mrz-status__title', key: 'mrz.errors_title' }),
        el('ul', { className: 'mrz-status__errors' }, errors.map((e) => el('li', {
          text: errorText(e),
          attrs: { 'data-mrz-error': e.code, 'data-group': e.group },
        }))),
      );
    }
    for (const p of result.progress) {
      status.append(el('p', { key: 'mrz.progress', vars: { line: p.line, count: p.count }, attrs: { 'data-mrz-progress': String(p.line) } }));
    }
    if (result.valid) {
      status.append(el('p', { className: 'mrz-status__valid', key: 'mrz.valid', attrs: { 'data-mrz-valid': '' } }));
      if (result.notes.length) status.append(el('ul', { className: 'mrz-status__notes' }, result.notes.map((n) => el('li', { text: noteText(n), attrs: { 'data-mrz-note': n.code } }))));
    }
  }

  function check() {
    timer = null;
    result = parseTd3(input.value);
    filled = null;
    render();
  }

  // A pasted zone often ends with a line break, which would scroll the
  // first line out of a box of two: the break goes, and nothing else.
  input.addEventListener('paste', (ev) => {
    const text = ev.clipboardData && ev.clipboardData.getData('text');
    if (!text || text === text.replace(/\s+$/, '')) return;
    ev.preventDefault();
    input.setRangeText(text.replace(/\s+$/, ''), input.selectionStart, input.selectionEnd, 'end');
    input.dispatchEvent(new Event('input', { bubbles: true }));
  });
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(check, DEBOUNCE_MS);
  });
  button.addEventListener('click', () => {
    if (timer) check();
    if (!result || !result.valid) return;
    filled = fill(form, result.fields);
    render();
  });
  document.addEventListener('languagechange', render);
  // A draft restored by the browser (back/forward cache) is checked at once.
  if (input.value) check();
}
