// The cabinet's "Pay for several people together": one checkbox per
// application that can join a group (its invitation confirmed, in no
// group, not revoked), then POST /api/groups and on to the group's check
// page. Shown only when there are at least two to choose from.

import { t, el, has } from './i18n.js';
import { ApiProblem } from './api.js';
import { FormErrors, problemMessages, problemKey } from './errors.js';
import { formGroup, checkHref, personName, MIN_MEMBERS, MAX_MEMBERS } from './groups.js';

let choices = []; // the applications offered, in the order shown
let shownKey = null; // what the checkboxes show, so a poll that changes nothing keeps them (and focus) as they are
let errors = null;
let submitting = false;

/** Whether an application can be paid for together with others now. */
export function groupable(app, inGroup) {
  return app.status === 'invitation_confirmed' && !inGroup && !app.invitation_revoked_at;
}

function choice(app) {
  const p = app.passport || {};
  const id = `group-choice-${app.id}`;
  return el('div', { className: 'choice' }, [
    el('input', { attrs: { type: 'checkbox', id, name: 'application_ids', value: app.id } }),
    el('label', { key: 'group_form.choice', vars: { name: personName(p), passport: p.number || '' }, attrs: { for: id } }),
  ]);
}

/** Shows the form for these applications (hidden for fewer than two), keeping what was ticked. */
export function renderGroupForm(apps) {
  const section = document.getElementById('group-new');
  const list = document.getElementById('group-choices');
  const key = JSON.stringify([document.documentElement.lang, apps.map((a) => [a.id, personName(a.passport || {}), (a.passport || {}).number])]);
  section.hidden = apps.length < MIN_MEMBERS;
  if (key === shownKey) return;
  shownKey = key;
  const ticked = new Set([...list.querySelectorAll('input:checked')].map((i) => i.value));
  const focused = document.activeElement && list.contains(document.activeElement) ? document.activeElement.value : null;
  choices = apps;
  list.replaceChildren(...apps.map(choice));
  for (const input of list.querySelectorAll('input')) input.checked = ticked.has(input.value);
  if (focused) {
    const again = list.querySelector(`input[value="${CSS.escape(focused)}"]`);
    if (again) again.focus();
  }
  // Messages on show stay with their field (FormErrors marks the new checkboxes again).
  if (errors && errors.list.length) errors.render(false);
}

/**
 * The API's problem as messages at the fieldset: one naming the person
 * at fault (`application_ids[i]` is the i-th id sent), else the problem's.
 */
function messagesFor(err, sent) {
  return problemMessages(err).map((m, i) => {
    const field = (err.errors[i] && err.errors[i].field) || '';
    const at = /^application_ids\[(\d+)\]$/.exec(field);
    const app = at && choices.find((a) => a.id === sent[Number(at[1])]);
    const key = `group_form.member_problem.${err.slug}`;
    if (app && has(key)) return { field: 'application_ids', key, vars: { name: personName(app.passport || {}) } };
    return { field: 'application_ids', key: m.key || problemKey(err) };
  });
}

/** Wires the form; `refresh` reads the applications again after a refusal (they may have changed). */
export function wireGroupForm({ refresh }) {
  const form = document.getElementById('group-form');
  const button = document.getElementById('group-submit');
  // No summary: the form is one question within the cabinet; the message stays at it.
  errors = new FormErrors(form, null);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    // A second click while the first is under way does nothing; the button keeps focus.
    if (submitting) return;
    const ids = [...form.querySelectorAll('input[name="application_ids"]:checked')].map((i) => i.value);
    if (ids.length < MIN_MEMBERS) {
      errors.show([{ field: 'application_ids', key: 'missing.application_ids' }]);
      return;
    }
    if (ids.length > MAX_MEMBERS) {
      errors.show([{ field: 'application_ids', key: 'validation.application_ids' }]);
      return;
    }
    errors.clear();
    submitting = true;
    button.setAttribute('aria-disabled', 'true');
    try {
      const group = await formGroup(ids);
      window.location.assign(checkHref(group.id));
      return;
    } catch (err) {
      if (!(err instanceof ApiProblem)) throw err;
      if (err.slug === 'unauthenticated') return; // on the way to sign in
      const messages = messagesFor(err, ids);
      try { await refresh(); } catch { /* the message says what to do */ }
      if (document.getElementById('group-new').hidden) {
        // Fewer than two left to choose from (one revoked, say): the cabinet's live region says why.
        document.getElementById('status-announcer').textContent = messages.map((m) => t(m.key, m.vars)).join(' ');
      } else {
        errors.show(messages);
      }
    } finally {
      submitting = false;
      button.removeAttribute('aria-disabled');
    }
  });
}
