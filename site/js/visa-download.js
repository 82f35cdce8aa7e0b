// Downloads the e-visa PDF: GET /api/applications/{id}/visa gives a
// short-lived URL (a presigned S3 URL in the cloud), so it is asked for
// at the moment of the click, never kept in the page.

import { get } from './api.js';

export async function downloadVisa(applicationId) {
  const visa = await get(`/applications/${encodeURIComponent(applicationId)}/visa`, { auth: true });
  const url = new URL(visa.url, window.location.origin);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('unexpected visa url');
  const link = document.createElement('a');
  link.href = url.href;
  // Honoured for a same-origin URL; a presigned S3 URL sets its own Content-Disposition.
  link.download = `e-visa-${String(visa.visa_number || 'kz').replace(/[^A-Za-z0-9]/g, '')}.pdf`;
  link.rel = 'noopener';
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  return visa;
}
