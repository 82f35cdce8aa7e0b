// New application: invitation number, passport details, declarations.
// POST /api/applications, then on to check your answers.

import { start, onLanguageChange } from '../page.js';
import { el, countryName, allCountryCodes } from '../i18n.js';
import { post, ApiProblem } from '../api.js';
import { FormErrors, problemMessages } from '../errors.js';
import { dateFromParts } from '../dates.js';
import { wireMrzEntry } from '../mrz-form.js';

// What was typed survives a sign-in detour or a reload, for this tab only.
const DRAFT_KEY = 'visa.apply_draft';

function fillCountrySelect(select, codes, placeholderKey) {
  const chosen = select.value || select.getAttribute('data-value') || '';
  select.replaceChildren(el('option', { key: placeholderKey, attrs: { value: '' } }));
  for (const code of codes) select.append(el('option', { text: countryName(code), attrs: { value: code } }));
  select.value = chosen;
}

function renderSelects(form) {
  // Nationality: every country, eligible or not: the API says whether it is
  // on the annex for the invitation's category (not-eligible).
  const all = allCountryCodes();
  fillCountrySelect(form.elements.passport_nationality, all, 'apply.choose_country');
  fillCountrySelect(form.elements.passport_issuing_state, all, 'apply.choose_country');
}

const TEXT_FIELDS = [
  'invitation_number', 'passport_number', 'passport_surname', 'passport_given_names',
  'passport-dob-day', 'passport-dob-month', 'passport-dob-year',
  'passport_nationality', 'passport_issuing_state',
  'passport-expiry-day', 'passport-expiry-month', 'passport-expiry-year',
];

function saveDraft(form) {
  const draft = {};
  for (const name of TEXT_FIELDS) draft[name] = form.elements[name].value;
  draft.passport_sex = form.elements.passport_sex.value;
  draft.two_blank_pages = form.elements.two_blank_pages.checked;
  draft.passport_undamaged = form.elements.passport_undamaged.checked;
  try { sessionStorage.setItem(DRAFT_KEY, JSON.stringify(draft)); } catch { /* storage disabled */ }
}

function restoreDraft(form) {
  let draft = null;
  try { draft = JSON.parse(sessionStorage.getItem(DRAFT_KEY) || 'null'); } catch { draft = null; }
  if (!draft) return;
  for (const name of TEXT_FIELDS) {
    if (typeof draft[name] === 'string') form.elements[name].value = draft[name];
  }
  for (const radio of form.querySelectorAll('input[name="passport_sex"]')) radio.checked = radio.value === draft.passport_sex;
  form.elements.two_blank_pages.checked = Boolean(draft.two_blank_pages);
  form.elements.passport_undamaged.checked = Boolean(draft.passport_undamaged);
}

/** Reads the form; returns {body, errors}. Only presence and real dates are checked here: the rules are the API's. */
function read(form) {
  const v = (name) => form.elements[name].value.trim();
  const errors = [];
  const invitation = v('invitation_number').replace(/[\s-]+/g, '');
  if (!invitation) errors.push({ field: 'invitation_number', key: 'missing.invitation_number' });
  const passport = {
    number: v('passport_number').replace(/\s+/g, ''),
    surname: v('passport_surname'),
    given_names: v('passport_given_names'),
    nationality: v('passport_nationality'),
    sex: form.elements.passport_sex.value,
    date_of_birth: null,
    issuing_state: v('passport_issuing_state'),
    expiry_date: null,
  };
  if (!passport.number) errors.push({ field: 'passport.number', key: 'missing.passport.number' });
  if (!passport.surname) errors.push({ field: 'passport.surname', key: 'missing.passport.surname' });
  if (!passport.sex) errors.push({ field: 'passport.sex', key: 'missing.passport.sex' });
  for (const [field, base] of [['date_of_birth', 'passport-dob'], ['expiry_date', 'passport-expiry']]) {
    const parts = ['day', 'month', 'year'].map((p) => v(`${base}-${p}`));
    if (parts.every((p) => !p)) {
      errors.push({ field: `passport.${field}`, key: `missing.passport.${field}` });
    } else {
      passport[field] = dateFromParts(...parts);
      if (!passport[field]) errors.push({ field: `passport.${field}`, key: `validation.passport.${field}` });
    }
  }
  if (!passport.nationality) errors.push({ field: 'passport.nationality', key: 'missing.passport.nationality' });
  if (!passport.issuing_state) errors.push({ field: 'passport.issuing_state', key: 'missing.passport.issuing_state' });
  const declarations = {
    two_blank_pages: form.elements.two_blank_pages.checked,
    passport_undamaged: form.elements.passport_undamaged.checked,
  };
  if (!declarations.two_blank_pages || !declarations.passport_undamaged) {
    errors.push({ field: 'declarations', key: 'problem.declarations-missing' });
  }
  // Errors in the order of the page, as GOV.UK lists them.
  const order = ['invitation_number', 'passport.number', 'passport.surname', 'passport.given_names', 'passport.sex',
    'passport.date_of_birth', 'passport.nationality', 'passport.issuing_state', 'passport.expiry_date', 'declarations'];
  errors.sort((a, b) => order.indexOf(a.field) - order.indexOf(b.field));
  return { body: { invitation_number: invitation, passport, declarations }, errors };
}

start(async () => {
  const form = document.getElementById('apply-form');
  const errors = new FormErrors(form, document.getElementById('summary-host'));
  renderSelects(form);
  restoreDraft(form);
  // The link in an invitation's email (`/apply?invitation=<number>`)
  // fills the number in; one typed already is kept.
  const linked = new URLSearchParams(window.location.search).get('invitation');
  if (linked && /^\d{12}$/.test(linked) && !form.elements.invitation_number.value) {
    form.elements.invitation_number.value = linked;
  }
  onLanguageChange(() => renderSelects(form));
  // Optional: the passport's machine-readable zone fills the passport fields.
  wireMrzEntry(form);
  form.addEventListener('input', () => saveDraft(form));
  form.addEventListener('change', () => saveDraft(form));
  // Picking a nationality suggests it as the issuing state, the usual case.
  form.elements.passport_nationality.addEventListener('change', () => {
    const issuing = form.elements.passport_issuing_state;
    if (!issuing.value) issuing.value = form.elements.passport_nationality.value;
  });

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const { body, errors: found } = read(form);
    if (found.length) {
      errors.show(found);
      return;
    }
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const application = await post('/applications', body, { auth: true });
      try { sessionStorage.removeItem(DRAFT_KEY); } catch { /* storage disabled */ }
      window.location.assign(`/check?application=${encodeURIComponent(application.id)}`);
    } catch (err) {
      if (!(err instanceof ApiProblem)) throw err;
      if (err.slug !== 'unauthenticated') errors.show(problemMessages(err));
      button.disabled = false;
    }
  });
}, { requireAuth: true });
