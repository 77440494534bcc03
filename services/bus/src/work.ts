import {
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type MsgRequest,
  type StreamInfo,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { EventEnvelope } from '@conform/contracts';
import { isNotFound, type EventLogOptions } from './event-log.js';
import { BusError } from './errors.js';
import type { Bus } from './connection.js';

/**
 * Work queues by ability. The event log stays the history; routed work is a copy of a
 * `file.planned` event on `conform.work.<pool>.<sizeClass>.<fileId>` in a stream of its own, so readers of
 * the log (projector, audit) never see it twice. Work-queue retention: an acked job is gone.
 */
export const WORK_STREAM = 'CONFORM_WORK';
export const WORK_SUBJECT_PREFIX = 'conform.work';

/**
 * A pool: what a job needs. `gpu-<codec>` wants a hardware encoder (NVENC, QSV, VAAPI);
 * `cpu-<codec>` is served by any node that encodes the codec at all. One token, no dots.
 */
export type WorkPool = `${'gpu' | 'cpu'}-${string}`;

export function poolFor(kind: 'gpu' | 'cpu', codec: string): WorkPool {
  return `${kind}-${codec}`;
}

const GiB = 1024 ** 3;

/**
 * Size classes of work, by the source's size: a job is queued in the smallest class it fits,
 * and a node with a maximum file size takes the classes whose bound it reaches. One filter
 * subject per consumer (nats-server 2.9) and no overlapping consumers on a work-queue stream
 * mean a class is a subject token with a consumer of its own, shared by every node that takes
 * it; few, coarse classes keep the consumers per node few. A limit between two bounds takes
 * the lower class: a node limited to 10 GiB takes files up to 4 GiB.
 */
export const SIZE_CLASSES = [
  { name: '1g', maxBytes: 1 * GiB },
  { name: '4g', maxBytes: 4 * GiB },
  { name: '16g', maxBytes: 16 * GiB },
  { name: '64g', maxBytes: 64 * GiB },
  { name: 'any', maxBytes: Number.POSITIVE_INFINITY },
] as const;

export type SizeClass = (typeof SIZE_CLASSES)[number]['name'];

/** The class a source of `bytes` is queued in. Pure. */
export function sizeClassFor(bytes: number): SizeClass {
  return SIZE_CLASSES.find((c) => bytes <= c.maxBytes)!.name;
}

/** The largest source a class holds (Infinity for `any`). */
export function sizeClassBound(sizeClass: SizeClass): number {
  return SIZE_CLASSES.find((c) => c.name === sizeClass)!.maxBytes;
}

/**
 * The classes a node takes: every class whose largest file is within its maximum file size
 * (all of them without one). Pure; an empty list means the limit is below the smallest class.
 */
export function sizeClassesServed(maxFileSizeBytes: number | null | undefined): SizeClass[] {
  return SIZE_CLASSES.filter((c) => maxFileSizeBytes == null || c.maxBytes <= maxFileSizeBytes).map(
    (c) => c.name,
  );
}

export function workSubjectFor(pool: WorkPool, sizeClass: SizeClass, fileId: string): string {
  return `${WORK_SUBJECT_PREFIX}.${pool}.${sizeClass}.${fileId}`;
}

/** One pool's jobs of one size class: the single filter subject of its consumer (nats-server 2.9). */
export function workFilterFor(pool: WorkPool, sizeClass: SizeClass): string {
  return `${WORK_SUBJECT_PREFIX}.${pool}.${sizeClass}.*`;
}

/**
 * Jobs queued before size classes (`conform.work.<pool>.<fileId>`): drained by nodes without a
 * size limit, through the pool's consumer of that version, while any are left.
 */
export function legacyWorkFilterFor(pool: WorkPool): string {
  return `${WORK_SUBJECT_PREFIX}.${pool}.*`;
}

/** Pool and size class of a work subject, or null if it is not one. */
export function parseWorkSubject(
  subject: string,
): { pool: string; sizeClass: string | null; fileId: string } | null {
  const parts = subject.split('.');
  if (parts[0] !== 'conform' || parts[1] !== 'work') return null;
  if (parts.length === 5) return { pool: parts[2]!, sizeClass: parts[3]!, fileId: parts[4]! };
  if (parts.length === 4) return { pool: parts[2]!, sizeClass: null, fileId: parts[3]! };
  return null;
}

/** Creates the work stream (replicas as the event log's), raising replicas like it. */
export async function provisionWorkStream(
  jsm: JetStreamManager,
  opts: EventLogOptions = {},
): Promise<StreamInfo> {
  const replicas = opts.replicas ?? 1;
  const existing = await jsm.streams.info(WORK_STREAM).catch((err: unknown) => {
    if (isNotFound(err)) return null;
    throw err;
  });
  try {
    if (!existing) {
      return await jsm.streams.add({
        name: WORK_STREAM,
        description: 'conform work queues by pool (copies of file.planned; the log is the truth)',
        subjects: [`${WORK_SUBJECT_PREFIX}.>`],
        retention: RetentionPolicy.Workqueue,
        storage: StorageType.File,
        discard: DiscardPolicy.New,
        max_bytes: 256 * 1024 ** 2,
        duplicate_window: nanos(opts.duplicateWindowMs ?? 2 * 60_000),
        num_replicas: replicas,
        ...(opts.placementTags?.length
          ? { placement: { cluster: '', tags: opts.placementTags } }
          : {}),
      });
    }
    if ((existing.config.num_replicas ?? 1) >= replicas) return existing;
    return await jsm.streams.update(WORK_STREAM, { num_replicas: replicas });
  } catch (err) {
    const again = existing ? null : await jsm.streams.info(WORK_STREAM).catch(() => null);
    if (again) return again;
    throw new BusError(
      'WORK_STREAM_PROVISION',
      `cannot provision the ${WORK_STREAM} stream with ${replicas} replica(s) (--replicas): ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/**
 * A job in a pool: a plan, or an operator's retry of a file's last plan (routed like that plan,
 * so a retried file lands on a node that can do it).
 */
export type WorkJob = EventEnvelope<'file.planned'> | EventEnvelope<'control.requested'>;

/**
 * Queues a job in a pool and size class (the class of the file's planned size). The id is
 * derived from the job's, so a re-route is dropped.
 */
export async function publishWork(
  js: JetStreamClient,
  pool: WorkPool,
  sizeClass: SizeClass,
  job: WorkJob,
): Promise<void> {
  try {
    await js.publish(workSubjectFor(pool, sizeClass, job.fileId), JSON.stringify(job), {
      msgID: `${job.id}:${pool}`,
    });
  } catch (err) {
    throw new BusError(
      'WORK_PUBLISH',
      `could not queue ${job.data.path ?? job.fileId} in pool ${pool} (size class ${sizeClass}): ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/**
 * When the oldest job of a pool that its consumer has not handed out yet was queued, or null
 * when none waits. Reads the consumer's position and STREAM.MSG.GET `next_by_subj`
 * (nats-server 2.9); pulls nothing.
 */
export async function oldestWaiting(
  bus: Bus,
  durable: string,
  filter: string,
): Promise<Date | null> {
  const info = await bus.jsm.consumers.info(WORK_STREAM, durable);
  if (info.num_pending === 0) return null;
  // nats.js types next_by_subj only for direct get, hence the cast.
  const request = { next_by_subj: filter, seq: info.delivered.stream_seq + 1 };
  const next = await bus.jsm.streams.getMessage(WORK_STREAM, request as unknown as MsgRequest);
  return next ? next.time : null;
}
