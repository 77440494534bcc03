// Small helpers the views share.
import { esc } from './app.js';
import { SORT_KEYS, STATUSES } from './constants.js';

export { STATUSES };

export const RETRYABLE = new Set(['failed', 'dead-lettered', 'unreadable']);
const SORT_LABELS = {
  path: 'Path',
  status: 'Status',
  size: 'Size',
  saved: 'Saved',
  updated: 'Last change',
};
export const SORTS = Object.fromEntries(SORT_KEYS.map((k) => [k, SORT_LABELS[k] ?? k]));
export const options = (values, selected, labels = {}) =>
  values
    .map(
      (v) =>
        `<option value="${esc(v)}"${v === selected ? ' selected' : ''}>${esc(labels[v] ?? (v || 'all'))}</option>`,
    )
    .join('');
export const resolution = (m) => (m?.width ? `${m.width}×${m.height}` : '–');
