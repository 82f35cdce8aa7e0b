// Problems shown the GOV.UK way: an error summary at the top of the page
// linking to each field at fault, and the same message next to the field.
// Form groups say which API field they hold: <div class="form-group"
// data-field="passport.expiry_date">; a problem's `errors[].field` (or, for
// a problem without errors[], the field its slug is about) finds the group,
// falling back to the nearest parent field ("declarations.two_blank_pages"
// -> "declarations"). Rows of a list share their messages: the field
// "invitees[2].surname" is at its own row's group, with the message of
// "invitees.surname".

import { t, has, updateTitle } from './i18n.js';

/** The field a problem without `errors[]` is about, by slug. */
export const FIELD_OF_SLUG = {
  'email-taken': 'email',
  'invalid-credentials': 'email',
  'too-many-attempts': 'email',
  'invitation-not-found': 'invitation_number',
  'invitation-already-used': 'invitation_number',
  'invitation-mismatch': 'invitation_number',
  'not-eligible': 'passport.nationality',
  'passport-expires-too-soon': 'passport.expiry_date',
  'declarations-missing': 'declarations',
  'visa-not-ready': null,
  'host-exists': 'number',
};

function parents(field) {
  const parts = String(field || '').split('.');
  const out = [];
  for (let i = parts.length; i > 0; i -= 1) out.push(parts.slice(0, i).join('.'));
  return out;
}

/** The translation key for a problem as a whole. */
export function problemKey(problem) {
  if (problem.slug === 'network') return 'problem.network';
  if (has(`problem.${problem.slug}`)) return `problem.${problem.slug}`;
  if (problem.status >= 500) return 'problem.internal';
  return 'problem.unknown';
}

/** The key for one `errors[]` entry of a problem. */
function fieldKey(slug, field) {
  const prefix = slug === 'validation' ? 'validation' : slug === 'invitation-mismatch' ? 'mismatch' : null;
  if (prefix) {
    for (const f of parents(String(field || '').replace(/\[\d+\]/g, ''))) if (has(`${prefix}.${f}`)) return `${prefix}.${f}`;
  }
  return has(`problem.${slug}`) ? `problem.${slug}` : 'problem.validation';
}

/** Turns an ApiProblem into `[{field, key}]` messages for FormErrors. */
export function problemMessages(problem) {
  if (problem.errors && problem.errors.length) {
    return problem.errors.map((e) => ({ field: e.field || null, key: fieldKey(problem.slug, e.field) }));
  }
  const field = Object.prototype.hasOwnProperty.call(FIELD_OF_SLUG, problem.slug) ? FIELD_OF_SLUG[problem.slug] : null;
  return [{ field, key: problemKey(problem) }];
}

export class FormErrors {
  /**
   * @param {HTMLFormElement} form the form whose groups carry data-field
   * @param {HTMLElement|null} summaryHost where the summary goes (as first
   *   child); null for a small form within a page (deleting the account):
   *   no summary, the message stays next to its field, which takes focus
   */
  constructor(form, summaryHost) {
    this.form = form;
    this.host = summaryHost;
    this.list = [];
    this.summary = null;
    document.addEventListener('languagechange', () => { if (this.list.length) this.render(false); });
  }

  groupFor(field) {
    if (!field) return null;
    for (const f of parents(field)) {
      const group = this.form.querySelector(`[data-field="${CSS.escape(f)}"]`);
      if (group) return group;
    }
    return null;
  }

  static targetOf(group) {
    return group.querySelector('[data-error-target]') || group.querySelector('input:not([type="hidden"]), select, textarea');
  }

  /** Shows messages `[{field, key, vars}]` and moves focus to the summary (or, without one, the first field at fault). */
  show(list) {
    this.clear();
    this.list = list;
    this.render(true);
  }

  render(focus) {
    this.clearMarks();
    const items = [];
    const seenGroups = new Set();
    const seenText = new Set();
    for (const { field, key, vars } of this.list) {
      const text = t(key, vars);
      const group = this.groupFor(field);
      const target = group && FormErrors.targetOf(group);
      if (group && !seenGroups.has(group)) {
        seenGroups.add(group);
        this.markGroup(group, text);
      }
      const dedupe = `${target ? target.id : ''}|${text}`;
      if (seenText.has(dedupe)) continue;
      seenText.add(dedupe);
      items.push({ text, target });
    }
    if (this.host) {
      this.renderSummary(items, focus);
    } else if (focus) {
      const first = items.find((item) => item.target);
      if (first) first.target.focus();
    }
    document.documentElement.setAttribute('data-has-errors', '');
    updateTitle();
  }

  markGroup(group, text) {
    group.classList.add('form-group--error');
    const id = `${group.getAttribute('data-field').replace(/[^a-zA-Z0-9_-]/g, '-')}-error`;
    const message = document.createElement('p');
    message.className = 'error-message';
    message.id = id;
    message.setAttribute('data-error-message', '');
    const prefix = document.createElement('span');
    prefix.className = 'visually-hidden';
    prefix.textContent = `${t('error.prefix')} `;
    message.append(prefix, text);
    // GOV.UK puts the message after the label/legend and hint, before the input.
    const after = [...group.querySelectorAll(':scope > .label, :scope > label, :scope > .hint, :scope > fieldset > legend, :scope > fieldset > .hint, :scope > legend, :scope > h1')].pop();
    if (after && after.parentNode) after.after(message);
    else group.prepend(message);
    for (const input of group.querySelectorAll('input, select, textarea')) {
      if (input.type === 'hidden') continue;
      input.setAttribute('aria-invalid', 'true');
      if (input.matches('input[type="text"], input[type="email"], input[type="password"], select')) input.classList.add('input--error');
      const ids = (input.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean);
      if (!ids.includes(id)) input.setAttribute('aria-describedby', [...ids, id].join(' '));
    }
  }

  renderSummary(items, focus) {
    const box = document.createElement('div');
    box.className = 'error-summary';
    box.setAttribute('role', 'alert');
    box.setAttribute('tabindex', '-1');
    box.setAttribute('aria-labelledby', 'error-summary-title');
    box.setAttribute('data-error-summary', '');
    const h = document.createElement('h2');
    h.id = 'error-summary-title';
    h.textContent = t('error.summary_title');
    const ul = document.createElement('ul');
    for (const { text, target } of items) {
      const li = document.createElement('li');
      if (target && target.id) {
        const a = document.createElement('a');
        a.href = `#${target.id}`;
        a.textContent = text;
        a.addEventListener('click', (ev) => {
          ev.preventDefault();
          // Show the question (label or legend) as well as the input.
          const group = target.closest('.form-group') || target;
          group.scrollIntoView({ block: 'start' });
          target.focus({ preventScroll: true });
        });
        li.append(a);
      } else {
        li.textContent = text;
      }
      ul.append(li);
    }
    box.append(h, ul);
    this.host.prepend(box);
    this.summary = box;
    if (focus) box.focus();
  }

  clearMarks() {
    if (this.summary) this.summary.remove();
    this.summary = null;
    for (const message of this.form.querySelectorAll('[data-error-message]')) {
      const id = message.id;
      for (const input of this.form.querySelectorAll(`[aria-describedby~="${CSS.escape(id)}"]`)) {
        const ids = input.getAttribute('aria-describedby').split(/\s+/).filter((x) => x && x !== id);
        if (ids.length) input.setAttribute('aria-describedby', ids.join(' '));
        else input.removeAttribute('aria-describedby');
      }
      message.remove();
    }
    for (const g of this.form.querySelectorAll('.form-group--error')) g.classList.remove('form-group--error');
    for (const i of this.form.querySelectorAll('[aria-invalid]')) i.removeAttribute('aria-invalid');
    for (const i of this.form.querySelectorAll('.input--error')) i.classList.remove('input--error');
  }

  clear() {
    this.list = [];
    this.clearMarks();
    document.documentElement.removeAttribute('data-has-errors');
    updateTitle();
  }
}
