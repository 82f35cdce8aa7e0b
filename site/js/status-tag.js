// An application's status as a coloured tag, in words (status.<status>).

import { el } from './i18n.js';

export function statusTag(status) {
  return el('strong', { className: `tag tag--${status}`, key: `status.${status}`, attrs: { 'data-status-tag': status } });
}
