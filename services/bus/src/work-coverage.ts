import { formatBytes, type NodeHeartbeat } from '@conform/contracts';
import { isNotFound } from './event-log.js';
import type { Bus } from './connection.js';
import {
  parseWorkSubject,
  SIZE_CLASSES,
  WORK_STREAM,
  WORK_SUBJECT_PREFIX,
  type SizeClass,
} from './work.js';

/** Jobs waiting in one pool and size class (`sizeClass` null: queued before size classes). */
export interface WorkBacklog {
  pool: string;
  sizeClass: string | null;
  jobs: number;
}

/** Jobs that no live node can take, and why: visible instead of silently stuck. */
export interface UnservedWork extends WorkBacklog {
  why: string;
}

/** The work stream's jobs by pool and size class (queued or being encoded). */
export async function workBacklog(bus: Pick<Bus, 'jsm'>): Promise<WorkBacklog[]> {
  let subjects: Record<string, number>;
  try {
    const info = await bus.jsm.streams.info(WORK_STREAM, {
      subjects_filter: `${WORK_SUBJECT_PREFIX}.>`,
    });
    subjects = info.state.subjects ?? {};
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
  const byKey = new Map<string, WorkBacklog>();
  for (const [subject, count] of Object.entries(subjects)) {
    const parsed = parseWorkSubject(subject);
    if (!parsed) continue;
    const key = `${parsed.pool} ${parsed.sizeClass ?? ''}`;
    const row = byKey.get(key) ?? { pool: parsed.pool, sizeClass: parsed.sizeClass, jobs: 0 };
    row.jobs += count;
    byKey.set(key, row);
  }
  return [...byKey.values()];
}

const bound = (sizeClass: string) => SIZE_CLASSES.find((c) => c.name === sizeClass)?.maxBytes;

/** The size range of a class in words: `up to 4.0 GiB`, `over 64.0 GiB`. */
export function sizeClassRange(sizeClass: string): string {
  const i = SIZE_CLASSES.findIndex((c) => c.name === sizeClass);
  if (i < 0) return `of size class ${sizeClass}`;
  const c = SIZE_CLASSES[i]!;
  if (Number.isFinite(c.maxBytes)) return `up to ${formatBytes(c.maxBytes)}`;
  return `over ${formatBytes(SIZE_CLASSES[i - 1]!.maxBytes)}`;
}

/**
 * The backlog no live node can take: for each pool and size class with jobs, whether a live
 * node (running, not lost) takes that pool (natively or as a fallback) and that class. Pure;
 * `nodes` are the heartbeats with the reader's verdict on whether each is lost.
 */
export function unservedWork(
  backlog: readonly WorkBacklog[],
  nodes: readonly (Pick<
    NodeHeartbeat,
    'node' | 'state' | 'pools' | 'fallbackPools' | 'sizeClasses' | 'maxFileSizeBytes'
  > & {
    lost: boolean;
  })[],
): UnservedWork[] {
  const live = nodes.filter((n) => n.state === 'running' && !n.lost);
  const unserved: UnservedWork[] = [];
  for (const row of backlog) {
    if (row.jobs === 0) continue;
    const inPool = live.filter(
      (n) => n.pools?.includes(row.pool) || n.fallbackPools?.includes(row.pool),
    );
    if (inPool.length === 0) {
      unserved.push({ ...row, why: `no live encoder node serves pool ${row.pool}` });
      continue;
    }
    // Jobs of before size classes: any node of the pool takes them (old ones did by pool alone).
    if (row.sizeClass === null) continue;
    if (inPool.some((n) => n.sizeClasses?.includes(row.sizeClass as SizeClass))) continue;
    const limits = inPool
      .map((n) => n.maxFileSizeBytes)
      .filter((b): b is number => b !== undefined);
    const largest = limits.length
      ? ` (the largest --max-file-size is ${formatBytes(Math.max(...limits))})`
      : '';
    unserved.push({
      ...row,
      why:
        bound(row.sizeClass) === undefined
          ? `no live node of pool ${row.pool} takes size class ${row.sizeClass}`
          : `no live node of pool ${row.pool} takes files ${sizeClassRange(row.sizeClass)}${largest}`,
    });
  }
  return unserved;
}
