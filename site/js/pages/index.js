// Start page: what the e-visa is, the seed's rules, who can apply (from
// GET /api/countries), the fee and entry points (GET /api/requirements),
// and a quick eligibility check.

import { start, onLanguageChange } from '../page.js';
import { t, el, formatMoney, countryName, allCountryCodes, sortByName, entryPointName } from '../i18n.js';
import { get, getSession, ApiProblem } from '../api.js';
import { FormErrors, problemMessages } from '../errors.js';

const CATEGORIES = ['tourist', 'business', 'medical'];

let countries = null;        // {tourist: [{code, name}], ...}
let requirements = {};       // category -> requirements response
let eligibility = null;      // last answer of the eligibility check

function renderFees() {
  const host = document.getElementById('fees');
  host.replaceChildren();
  const rows = CATEGORIES.filter((c) => requirements[c] && requirements[c].fee);
  if (!rows.length) {
    host.append(el('p', { key: 'start.fee_unknown' }));
    return;
  }
  const dl = el('dl', { className: 'summary-list' });
  for (const c of rows) {
    dl.append(el('div', { className: 'summary-list__row' }, [
      el('dt', { key: `category.${c}_visa` }),
      el('dd', { text: formatMoney(requirements[c].fee) }),
    ]));
  }
  host.append(dl);
}

function renderEntryPoints() {
  const host = document.getElementById('entry-points');
  const any = CATEGORIES.map((c) => requirements[c]).find((r) => r && Array.isArray(r.entry_points));
  host.textContent = any ? any.entry_points.map(entryPointName).join('; ') : t('rule.airports_default');
}

function renderCountries() {
  const host = document.getElementById('countries');
  host.replaceChildren();
  if (!countries) {
    host.append(el('p', { key: 'problem.network' }));
    return;
  }
  // Business and medical share Annex 2: one list for both.
  const groups = [
    { key: 'start.countries_tourist', list: countries.tourist || [] },
    { key: 'start.countries_business_medical', list: countries.business || countries.medical || [] },
  ];
  for (const { key, list } of groups) {
    const sorted = sortByName(list, (c) => countryName(c.code, c.name));
    const ul = el('ul', { className: 'country-list', attrs: { lang: document.documentElement.lang } });
    for (const c of sorted) ul.append(el('li', { text: countryName(c.code, c.name) }));
    const details = el('details', {}, [
      el('summary', { key, vars: { count: list.length } }),
      el('div', { className: 'details__text' }, [ul]),
    ]);
    host.append(details);
  }
}

function renderNationalities() {
  const select = document.getElementById('nationality');
  const chosen = select.value;
  select.replaceChildren(el('option', { key: 'eligibility.choose', attrs: { value: '' } }));
  for (const code of allCountryCodes()) {
    select.append(el('option', { text: countryName(code), attrs: { value: code } }));
  }
  select.value = chosen;
}

function renderEligibility() {
  const host = document.getElementById('eligibility-result');
  host.replaceChildren();
  if (!eligibility) return;
  const { nationality, category, result } = eligibility;
  const vars = { country: countryName(nationality), category: t(`category.${category}_visa`) };
  if (result.eligible) {
    const box = el('div', { className: 'banner banner--success', attrs: { 'data-eligibility': 'eligible' } }, [
      el('h3', { className: 'banner__title', key: 'eligibility.result_title' }),
      el('div', { className: 'banner__content' }, [
        el('p', { key: 'eligibility.eligible', vars }),
        result.fee ? el('p', { key: 'eligibility.fee', vars: { fee: formatMoney(result.fee) } }) : null,
      ]),
    ]);
    host.append(box);
  } else {
    host.append(el('div', { className: 'banner', attrs: { 'data-eligibility': 'not-eligible' } }, [
      el('h3', { className: 'banner__title', key: 'eligibility.result_title' }),
      el('div', { className: 'banner__content' }, [el('p', { key: 'eligibility.not_eligible', vars })]),
    ]));
  }
}

async function loadRequirements() {
  // The fee and entry points per category: ask for the first eligible country of each.
  await Promise.all(CATEGORIES.map(async (c) => {
    const first = countries && countries[c] && countries[c][0];
    if (!first) return;
    try {
      requirements[c] = await get(`/requirements?nationality=${encodeURIComponent(first.code)}&category=${c}`);
    } catch { /* shown as unknown */ }
  }));
}

function setUpEligibilityForm() {
  const form = document.getElementById('eligibility');
  const errors = new FormErrors(form, document.getElementById('eligibility-errors'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const nationality = form.elements.nationality.value;
    const category = form.elements.category.value;
    const missing = [];
    if (!nationality) missing.push({ field: 'nationality', key: 'missing.nationality' });
    if (!category) missing.push({ field: 'category', key: 'missing.category' });
    if (missing.length) {
      eligibility = null;
      renderEligibility();
      errors.show(missing);
      return;
    }
    errors.clear();
    try {
      const result = await get(`/requirements?nationality=${encodeURIComponent(nationality)}&category=${encodeURIComponent(category)}`);
      eligibility = { nationality, category, result };
      renderEligibility();
    } catch (err) {
      if (!(err instanceof ApiProblem)) throw err;
      eligibility = null;
      renderEligibility();
      errors.show(problemMessages(err));
    }
  });
}

start(async () => {
  if (getSession()) document.querySelector('[data-start]').setAttribute('href', '/apply');
  renderNationalities();
  setUpEligibilityForm();
  try {
    countries = await get('/countries');
  } catch {
    countries = null;
  }
  await loadRequirements();
  renderCountries();
  renderFees();
  renderEntryPoints();
  onLanguageChange(() => {
    renderNationalities();
    renderCountries();
    renderFees();
    renderEntryPoints();
    renderEligibility();
  });
});
