// Downloads the e-visa PDF: GET /api/applications/{id}/visa gives a
// short-lived URL (a presigned S3 URL in the cloud), so it is asked for
// at the moment of the click, never kept in the page.

import { get } from './api.js';

/** The link of a `{visa_number, url}` answer, checked to be a web address. */
export function visaLink(visa) {
  const url = new URL(visa.url, window.location.origin);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('unexpected visa url');
  return url.href;
}

/** The name the PDF is saved under: e-visa-<number>.pdf. */
export function visaFileName(visa) {
  return `e-visa-${String(visa.visa_number || 'kz').replace(/[^A-Za-z0-9]/g, '')}.pdf`;
}

/** Saves the PDF of a `{visa_number, url}` answer through a hidden link. */
export function saveVisa(visa) {
  const link = document.createElement('a');
  link.href = visaLink(visa);
  // Honoured for a same-origin URL; a presigned S3 URL sets its own Content-Disposition.
  link.download = visaFileName(visa);
  link.rel = 'noopener';
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
}

export async function downloadVisa(applicationId) {
  const visa = await get(`/applications/${encodeURIComponent(applicationId)}/visa`, { auth: true });
  saveVisa(visa);
  return visa;
}
