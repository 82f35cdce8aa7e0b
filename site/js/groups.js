// Families and groups: one account pays once for several applications
// (POST /api/groups), each still its own application, invitation and visa.
// What the cabinet, the check page and the payment-return page share.

import { get, post, del, ApiProblem } from './api.js';
import { checkoutUrl } from './payment.js';

export const MIN_MEMBERS = 2;
export const MAX_MEMBERS = 10;

export const groupPath = (id) => `/groups/${encodeURIComponent(id)}`;
export const checkHref = (id) => `/check?group=${encodeURIComponent(id)}`;
export const returnHref = (id) => `/payment-return?group=${encodeURIComponent(id)}`;

export const getGroup = (id) => get(groupPath(id), { auth: true });
export const formGroup = (applicationIds) => post('/groups', { application_ids: applicationIds }, { auth: true });
export const undoGroup = (id) => del(groupPath(id), { auth: true });

/** "SURNAME GIVEN NAMES", as the passport prints them (a member, a dropped one or an application's passport). */
export function personName(person) {
  return [person && person.surname, person && person.given_names].filter(Boolean).join(' ');
}

export function membersOf(group) {
  return group && Array.isArray(group.members) ? group.members : [];
}

export function droppedOf(group) {
  return group && Array.isArray(group.dropped) ? group.dropped : [];
}

/**
 * Confirms the group (again) and goes to its one checkout: the same
 * session while it is open, a new one once it expired. Throws an
 * ApiProblem: 409 group-changed (members dropped, nothing charged: read
 * the group again), 409 invalid-state (paid or undone meanwhile), 502 ...
 */
export async function goToGroupCheckout(id) {
  const confirmed = await post(`${groupPath(id)}/confirmation`, { details_match_passport: true }, { auth: true });
  const url = checkoutUrl(confirmed);
  if (!url) throw new ApiProblem(502, { type: '/problems/payment-provider-unavailable' });
  window.location.assign(url);
  return confirmed;
}
