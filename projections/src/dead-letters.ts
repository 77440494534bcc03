import type { Kysely } from 'kysely';
import type { EventType } from '@conform/contracts';
import { statement, type Projection } from './projection.js';
import { queryBuilder, type ReadModelSchema } from './schema.js';

// Constant SQL (not built per event): a replay prepares it once and reuses it.
const RECORD_DEAD_LETTER =
  'insert into dead_letters (event_id, file_id, subject, stream_sequence, consumer, deliveries, ' +
  'reason, payload, time, sequence) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ' +
  'on conflict (event_id) do nothing';

/** The `dead_letters` read model: every message a consumer gave up on. */
export const deadLettersProjection: Projection = {
  name: 'dead_letters',
  canHandle: (type: EventType) => type === 'message.deadlettered',
  init: () => [
    queryBuilder.schema
      .createTable('dead_letters')
      .ifNotExists()
      .addColumn('event_id', 'text', (c) => c.primaryKey())
      .addColumn('file_id', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('stream_sequence', 'integer', (c) => c.notNull())
      .addColumn('consumer', 'text', (c) => c.notNull())
      .addColumn('deliveries', 'integer', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('time', 'text', (c) => c.notNull())
      .addColumn('sequence', 'integer', (c) => c.notNull())
      .compile(),
  ],
  evolve(event, position) {
    if (event.type !== 'message.deadlettered') return [];
    return [
      statement(RECORD_DEAD_LETTER, [
        event.id,
        event.fileId,
        event.data.subject,
        event.data.streamSequence,
        event.data.consumer,
        event.data.deliveries,
        event.data.reason,
        event.data.payload,
        event.time,
        position,
      ]),
    ];
  },
};

/** A dead-lettered message as the read model knows it. */
export interface DeadLetterRow {
  eventId: string;
  fileId: string;
  subject: string;
  streamSequence: number;
  consumer: string;
  deliveries: number;
  reason: string;
  payload: string;
  time: string;
  sequence: number;
}

/** Dead letters, newest first. */
export async function listDeadLetters(
  db: Kysely<ReadModelSchema>,
  opts: { limit?: number; offset?: number } = {},
): Promise<DeadLetterRow[]> {
  const rows = await db
    .selectFrom('dead_letters')
    .selectAll()
    .orderBy('sequence', 'desc')
    .limit(opts.limit ?? 100)
    .offset(opts.offset ?? 0)
    .execute();
  return rows.map((r) => ({
    eventId: r.event_id,
    fileId: r.file_id,
    subject: r.subject,
    streamSequence: r.stream_sequence,
    consumer: r.consumer,
    deliveries: r.deliveries,
    reason: r.reason,
    payload: r.payload,
    time: r.time,
    sequence: r.sequence,
  }));
}
