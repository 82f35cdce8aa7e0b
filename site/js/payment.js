// The checkout of an application awaiting payment: where it is, until when
// it takes payment, and how to get to a live one. A checkout session expires
// (`payment.expires_at`, at most a day after it opened); confirming again
// after that opens a new one (docs/API.md), so the way to pay is always a
// new POST of the confirmation, never the old link alone.

import { post, ApiProblem } from './api.js';

/** Only an http(s) checkout URL is followed: a Stripe page or the sandbox's on this origin. */
export function checkoutUrl(application) {
  const raw = application && application.payment && application.payment.checkout_url;
  if (!raw) return null;
  try {
    const url = new URL(raw, window.location.origin);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}

/** When the checkout stops taking payment, in ms since the epoch (null if unknown). */
export function checkoutExpiry(application) {
  const raw = application && application.payment && application.payment.expires_at;
  const at = raw ? Date.parse(raw) : NaN;
  return Number.isNaN(at) ? null : at;
}

/** Whether an application awaiting payment has a checkout that no longer takes payment (browser's clock). */
export function checkoutExpired(application, now = Date.now()) {
  if (!application || application.status !== 'awaiting_payment') return false;
  const at = checkoutExpiry(application);
  return at !== null && at <= now;
}

/**
 * Confirms the application (again) and goes to the checkout the answer
 * names: the same session while it is open, a new one once it expired.
 * Throws an ApiProblem (409 invalid-state if it was paid meanwhile, 502
 * payment-provider-unavailable, network ...).
 */
export async function goToCheckout(applicationId) {
  const confirmed = await post(`/applications/${encodeURIComponent(applicationId)}/confirmation`, { details_match_passport: true }, { auth: true });
  const url = checkoutUrl(confirmed);
  if (!url) throw new ApiProblem(502, { type: '/problems/payment-provider-unavailable' });
  window.location.assign(url);
  return confirmed;
}

/**
 * Calls `fn` once the earliest of these applications' open checkouts
 * expires (and again for the next), so a page left open stops offering a
 * dead link. Returns a function that cancels it.
 */
export function whenCheckoutsExpire(applications, fn) {
  const now = Date.now();
  const next = applications
    .filter((a) => a && a.status === 'awaiting_payment')
    .map(checkoutExpiry)
    .filter((at) => at !== null && at > now)
    .reduce((min, at) => Math.min(min, at), Infinity);
  if (next === Infinity) return () => {};
  // setTimeout takes at most 2^31-1 ms; a later expiry just waits again.
  const timer = setTimeout(fn, Math.min(next - now + 50, 2 ** 31 - 1));
  return () => clearTimeout(timer);
}
