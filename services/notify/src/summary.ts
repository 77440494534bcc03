import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger, ServiceContext } from '@conform/bus';
import { subjectFilterForType, subjectFor, type EventEnvelope } from '@conform/contracts';
import type { NotificationConfig } from '@conform/config';
import type { NotifierAdapter } from './adapters/types.js';
import { IntegrationError } from './errors.js';
import { eventsOn } from './history.js';
import { renderSummary, webhookPayload, type DailySummary } from './templates.js';

/** The fileId daily summaries are recorded under. */
export const SUMMARY_FILE_ID = 'summary';

const FAILURES = ['encode.failed', 'verify.failed', 'replace.failed', 'restore.failed'] as const;

/** Counts a day's events. Pure. */
export function summarize(day: string, events: readonly EventEnvelope[]): DailySummary {
  const s: DailySummary = { day, replaced: 0, bytesSaved: 0, failed: 0, deadLettered: 0 };
  for (const e of events) {
    if (e.type === 'file.replaced') {
      s.replaced++;
      s.bytesSaved += e.data.bytesSaved;
    } else if ((FAILURES as readonly string[]).includes(e.type)) s.failed++;
    else if (e.type === 'message.deadlettered') s.deadLettered++;
  }
  return s;
}

/** The local day (YYYY-MM-DD) whose summary is due at `now`, or null before `at`. Pure. */
export function summaryDay(now: Date, at: string): string | null {
  const [h, m] = at.split(':').map(Number) as [number, number];
  if (now.getHours() * 60 + now.getMinutes() < h * 60 + m) return null;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/**
 * Once a day at `at`, sends each listening notifier the last 24 hours counted from the log,
 * recorded as notify.sent on fileId `summary` (so a restart, or a second instance, does not
 * send it twice). A failure is recorded and tried again at the next check, at most
 * `maxAttempts` times a day.
 */
export async function startSummaries(
  ctx: ServiceContext,
  targets: { adapter: NotifierAdapter; config: NotificationConfig }[],
  opts: { at: string; checkMs?: number; maxAttempts: number; log: Logger; now?: () => Date },
): Promise<{ stop(): Promise<void> }> {
  const now = opts.now ?? (() => new Date());
  const abort = new AbortController();
  const attempts = new Map<string, number>();
  const check = async () => {
    const day = summaryDay(now(), opts.at);
    if (!day) return;
    const since = new Date(now().getTime() - 24 * 3_600_000);
    const sent = await eventsOn(ctx.bus, subjectFor('notify.sent', SUMMARY_FILE_ID), { since });
    const due = targets.filter(
      (t) =>
        !sent.some(
          (e) =>
            e.type === 'notify.sent' &&
            e.data.target === t.config.name &&
            e.data.request.endsWith(day),
        ) && (attempts.get(`${t.config.name}:${day}`) ?? 0) < opts.maxAttempts,
    );
    if (due.length === 0) return;
    const events = (
      await Promise.all(
        (['file.replaced', ...FAILURES, 'message.deadlettered'] as const).map((type) =>
          eventsOn(ctx.bus, subjectFilterForType(type), { since }),
        ),
      )
    ).flat();
    const summary = summarize(day, events);
    for (const t of due) await send(t, summary, day);
  };
  const send = async (
    t: { adapter: NotifierAdapter; config: NotificationConfig },
    summary: DailySummary,
    day: string,
  ) => {
    const key = `${t.config.name}:${day}`;
    const attempt = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, attempt);
    const message = renderSummary(summary, t.config.templates);
    const base = { target: t.config.name, kind: t.config.kind, action: 'notification' as const };
    try {
      const d = await t.adapter.send(
        message,
        webhookPayload('summary', null, message, summary),
        abort.signal,
      );
      await ctx.publisher.emit(
        {
          type: 'notify.sent',
          data: {
            ...base,
            request: `${d.request} summary ${day}`,
            paths: [],
            batched: 1,
            status: d.status,
          },
        },
        { fileId: SUMMARY_FILE_ID, discriminator: key },
      );
    } catch (err) {
      const e = err instanceof IntegrationError ? err : null;
      const reason = (err as Error).message ?? String(err);
      await ctx.publisher.emit(
        {
          type: 'notify.failed',
          data: {
            ...base,
            reason,
            status: e?.status ?? null,
            attempt,
            final: (e?.permanent ?? false) || attempt >= opts.maxAttempts,
          },
        },
        { fileId: SUMMARY_FILE_ID, discriminator: `${key}:${attempt}` },
      );
      opts.log.warn({ target: t.config.name, reason, attempt }, 'daily summary failed');
    }
  };
  const loop = (async () => {
    while (!abort.signal.aborted) {
      await check().catch((err: unknown) => opts.log.error({ err }, 'daily summary check failed'));
      await sleep(opts.checkMs ?? 30_000, undefined, { signal: abort.signal }).catch(
        () => undefined,
      );
    }
  })();
  return {
    stop: async () => {
      abort.abort();
      await loop;
    },
  };
}
