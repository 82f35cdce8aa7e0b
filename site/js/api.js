// The portal's HTTP API (docs/API.md), called on the same origin under /api.
// Errors come back as RFC 9457 problems; callers get an ApiProblem with the
// problem's stable slug, which the site translates.

const SESSION_KEY = 'visa.session';

/**
 * A failed call: `slug` is the problem slug ("network" when nothing
 * answered); `retryAt`, from a 429's or 503's Retry-After, the Date after
 * which asking again may work (null when the answer did not say).
 */
export class ApiProblem extends Error {
  constructor(status, problem, { retryAt = null } = {}) {
    const slug = slugOf(problem && problem.type) || (status ? 'unknown' : 'network');
    super(`${status} ${slug}`);
    this.status = status;
    this.slug = slug;
    this.problem = problem || {};
    this.errors = Array.isArray(problem && problem.errors) ? problem.errors : [];
    this.retryAt = retryAt;
  }
}

/** Retry-After (RFC 9110: delay-seconds or an HTTP date) as a Date, or null. */
export function retryAtOf(value, now = Date.now()) {
  const text = String(value || '').trim();
  if (!text) return null;
  if (/^\d+$/.test(text)) return new Date(now + Number(text) * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : new Date(at);
}

/** "/problems/invitation-not-found" (or an absolute URI ending so) -> "invitation-not-found". */
export function slugOf(type) {
  const m = /\/problems\/([a-z0-9-]+)\/?$/.exec(String(type || ''));
  return m ? m[1] : null;
}

// ---------- Session: the bearer token lives only as long as the tab ----------

export function getSession() {
  let session = null;
  try { session = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null'); } catch { session = null; }
  if (!session || typeof session.token !== 'string') return null;
  if (session.expires_at && Date.parse(session.expires_at) <= Date.now()) {
    clearSession();
    return null;
  }
  return session;
}

export function saveSession({ token, expires_at }) {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify({ token, expires_at }));
}

export function clearSession() {
  try { sessionStorage.removeItem(SESSION_KEY); } catch { /* storage disabled */ }
}

/** Only a path on this site may be a return address (no open redirect). */
export function safeNext(next, fallback = '/cabinet') {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return fallback;
  try {
    const url = new URL(next, window.location.origin);
    if (url.origin !== window.location.origin) return fallback;
    return url.pathname + url.search + url.hash;
  } catch {
    return fallback;
  }
}

/** Sends the browser to sign in, coming back here afterwards. */
export function goToSignIn(reason) {
  const params = new URLSearchParams({ next: window.location.pathname + window.location.search });
  if (reason) params.set('reason', reason);
  window.location.assign(`/sign-in?${params}`);
}

/**
 * Calls the API. `auth: true` sends the session's bearer token and, on 401,
 * forgets the session and goes to the sign-in page; except for a 401
 * `invalid-credentials`, a wrong password asked for again (deleting the
 * account), which leaves the session as it was.
 */
export async function api(method, path, { body, auth = false, signal } = {}) {
  const headers = { Accept: 'application/json, application/problem+json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (auth) {
    const session = getSession();
    if (!session) {
      goToSignIn('signed-out');
      throw new ApiProblem(401, { type: '/problems/unauthenticated' });
    }
    headers.Authorization = `Bearer ${session.token}`;
  }
  let res;
  try {
    res = await fetch(`/api${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal,
    });
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw new ApiProblem(0, null);
  }
  let data = null;
  const type = res.headers.get('Content-Type') || '';
  if (res.status !== 204 && /json/.test(type)) {
    try { data = await res.json(); } catch { data = null; }
  }
  if (res.ok) return data;
  if (res.status === 401 && auth && slugOf(data && data.type) !== 'invalid-credentials') {
    clearSession();
    goToSignIn('expired');
  }
  throw new ApiProblem(res.status, data, { retryAt: retryAtOf(res.headers.get('Retry-After')) });
}

export const get = (path, opts) => api('GET', path, opts);
export const post = (path, body, opts = {}) => api('POST', path, { ...opts, body });
export const del = (path, opts) => api('DELETE', path, opts);
