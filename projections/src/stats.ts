import { sql, type Kysely } from 'kysely';
import type { ReadModelSchema } from './schema.js';

/** Encode time against media time, per UTC day an encode finished and encoder. */
export interface EncodeTimeRow {
  day: string;
  encoder: string;
  encodes: number;
  /** Wall-clock seconds spent encoding. */
  encodeSeconds: number;
  /** Seconds of media those encodes produced. */
  mediaSeconds: number;
  /** Wall-clock seconds per hour of output (3600 is real time; lower is faster). */
  secondsPerOutputHour: number;
}

/**
 * Encode time per output hour: from finished jobs whose speed (media seconds per wall second)
 * is known, since speed × elapsed is the media duration the encode produced.
 */
export async function encodeTimeByDay(
  db: Kysely<ReadModelSchema>,
  opts: { limit?: number } = {},
): Promise<EncodeTimeRow[]> {
  const rows = await db
    .selectFrom('jobs')
    .select([
      sql<string>`substr(finished_at, 1, 10)`.as('day'),
      'encoder',
      (eb) => eb.fn.countAll<number>().as('encodes'),
      sql<number>`sum(elapsed_ms) / 1000.0`.as('encode_seconds'),
      sql<number>`sum(elapsed_ms * speed) / 1000.0`.as('media_seconds'),
    ])
    .where('finished_at', 'is not', null)
    .where('elapsed_ms', '>', 0)
    .where('speed', '>', 0)
    .groupBy([sql`substr(finished_at, 1, 10)`, 'encoder'])
    .orderBy('day')
    .orderBy('encoder')
    .limit(opts.limit ?? 1_000)
    .execute();
  return rows.map((r) => ({
    day: r.day,
    encoder: r.encoder,
    encodes: Number(r.encodes),
    encodeSeconds: Number(r.encode_seconds),
    mediaSeconds: Number(r.media_seconds),
    secondsPerOutputHour:
      Number(r.media_seconds) > 0
        ? Math.round((Number(r.encode_seconds) / Number(r.media_seconds)) * 3600)
        : 0,
  }));
}

/** How often one kind of failure happened for one reason. */
export interface FailureReasonRow {
  kind: string;
  reason: string;
  count: number;
  /** Files it happened to (a file retried three times counts once here, three times above). */
  files: number;
  lastTime: string;
}

/** Failures grouped by event type and reason, most frequent first. */
export async function failuresByReason(
  db: Kysely<ReadModelSchema>,
  opts: { limit?: number } = {},
): Promise<FailureReasonRow[]> {
  const rows = await db
    .selectFrom('failures')
    .select([
      'kind',
      'reason',
      (eb) => eb.fn.countAll<number>().as('n'),
      sql<number>`count(distinct file_id)`.as('files'),
      (eb) => eb.fn.max('time').as('last_time'),
    ])
    .groupBy(['kind', 'reason'])
    .orderBy('n', 'desc')
    .orderBy('kind')
    .orderBy('reason')
    .limit(opts.limit ?? 20)
    .execute();
  return rows.map((r) => ({
    kind: r.kind,
    reason: r.reason,
    count: Number(r.n),
    files: Number(r.files),
    lastTime: String(r.last_time),
  }));
}
