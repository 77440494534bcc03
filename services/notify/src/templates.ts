import { basename } from 'node:path';
import type { MessageTemplate, NotificationEvent } from '@conform/config';
import type { NotificationFacts } from './decide.js';

/** A notification in words, and how serious it is (Apprise's `type`). */
export interface Message {
  title: string;
  body: string;
  type: 'info' | 'success' | 'warning' | 'failure';
}

/** What a daily summary counts. */
export interface DailySummary {
  /** Local date, YYYY-MM-DD. */
  day: string;
  replaced: number;
  bytesSaved: number;
  failed: number;
  deadLettered: number;
}

/** The built-in wording; a target's `templates:` replace title and body one by one. */
export const DEFAULT_TEMPLATES: Record<NotificationEvent, Required<MessageTemplate>> = {
  replaced: { title: 'conform replaced {{file}}', body: '{{path}}: {{saved}} saved. {{reason}}' },
  failed: { title: 'conform could not finish {{file}}', body: '{{path}}: {{reason}}' },
  deadlettered: {
    title: 'conform gave up on a message',
    body: '{{reason}} (event {{event}}, file {{fileId}})',
  },
  summary: {
    title: 'conform on {{day}}',
    body: '{{replaced}} files replaced, {{saved}} saved; {{failed}} failed, {{deadlettered}} dead-lettered.',
  },
};

const SEVERITY: Record<NotificationEvent, Message['type']> = {
  replaced: 'success',
  failed: 'failure',
  deadlettered: 'warning',
  summary: 'info',
};

/** Fills a template's `{{name}}` fields; an unknown name is left as written, so a typo shows. */
export function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{\s*([A-Za-z]+)\s*\}\}/g, (whole, name: string) =>
    name in values ? values[name]! : whole,
  );
}

/** The message for one event's facts. Pure. */
export function renderMessage(
  event: Exclude<NotificationEvent, 'summary'>,
  facts: NotificationFacts,
  templates: Partial<Record<NotificationEvent, MessageTemplate>>,
): Message {
  const path = facts.newPath ?? facts.path;
  return render(event, templates, {
    file: path ? basename(path) : facts.fileId,
    path: path ?? '',
    oldPath: facts.path ?? '',
    library: facts.library ?? '',
    saved: facts.bytesSaved === null ? '' : formatBytes(facts.bytesSaved),
    bytesSaved: facts.bytesSaved === null ? '' : String(facts.bytesSaved),
    reason: facts.reasons.join('; '),
    event: facts.type,
    fileId: facts.fileId,
  });
}

/** The daily summary's message. Pure. */
export function renderSummary(
  summary: DailySummary,
  templates: Partial<Record<NotificationEvent, MessageTemplate>>,
): Message {
  return render('summary', templates, {
    day: summary.day,
    replaced: String(summary.replaced),
    saved: formatBytes(summary.bytesSaved),
    bytesSaved: String(summary.bytesSaved),
    failed: String(summary.failed),
    deadlettered: String(summary.deadLettered),
  });
}

/**
 * The generic webhook's JSON body: the event, the file, bytes saved and the reasons, plus the
 * rendered message for receivers that only want text.
 */
export function webhookPayload(
  event: NotificationEvent,
  facts: NotificationFacts | null,
  message: Message,
  summary: DailySummary | null = null,
): Record<string, unknown> {
  return {
    event,
    type: facts?.type ?? null,
    eventId: facts?.eventId ?? null,
    time: facts?.time ?? null,
    file: facts
      ? {
          id: facts.fileId,
          library: facts.library,
          path: facts.newPath ?? facts.path,
          previousPath: facts.newPath && facts.newPath !== facts.path ? facts.path : null,
          originalSize: facts.originalSize,
          newSize: facts.newSize,
        }
      : null,
    bytesSaved: facts?.bytesSaved ?? summary?.bytesSaved ?? null,
    reasons: facts?.reasons ?? [],
    summary,
    title: message.title,
    message: message.body,
  };
}

function render(
  event: NotificationEvent,
  templates: Partial<Record<NotificationEvent, MessageTemplate>>,
  values: Record<string, string>,
): Message {
  const t = { ...DEFAULT_TEMPLATES[event], ...templates[event] };
  return {
    title: fill(t.title, values).trim(),
    body: fill(t.body, values).trim(),
    type: SEVERITY[event],
  };
}

/** 1536 → "1.5 KiB"; negative savings (a bigger file) keep their sign. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = Math.abs(n);
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const text = u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
  return n < 0 ? `-${text}` : text;
}
