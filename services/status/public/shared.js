// Small helpers the views share.
import { esc } from './app.js';

export const STATUSES = [
  'discovered',
  'probed',
  'queued',
  'skipped',
  'compliant',
  'unreadable',
  'encoding',
  'encoded',
  'verified',
  'failed',
  'replaced',
  'kept',
  'damaged',
  'restored',
  'dead-lettered',
  'removed',
];
export const RETRYABLE = new Set(['failed', 'dead-lettered', 'unreadable']);
export const SORTS = {
  path: 'Path',
  status: 'Status',
  size: 'Size',
  saved: 'Saved',
  updated: 'Last change',
};
export const options = (values, selected, labels = {}) =>
  values
    .map(
      (v) =>
        `<option value="${esc(v)}"${v === selected ? ' selected' : ''}>${esc(labels[v] ?? (v || 'all'))}</option>`,
    )
    .join('');
export const resolution = (m) => (m?.width ? `${m.width}×${m.height}` : '–');
